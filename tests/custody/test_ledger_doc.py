"""docs/ledger.md is enough to verify the ledger: a verifier written from the page alone agrees with ours.

Nothing here imports Jejak's hashing code; it uses hashlib, json and cryptography as an outsider would.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.custody.conftest import KEY

VECTOR_EVENT = {
    "v": 1,
    "box": "106141412345678908",
    "seq": 1,
    "kind": "commission",
    "from": None,
    "to": "site:KPU-3175",
    "site": "KPU-3175",
    "actor": "gudang",
    "device": "hp-1",
    "device_seq": 1,
    "client_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b",
    "scanned_at": "2026-04-01T07:30:00.123Z",
    "recorded_at": "2026-04-01T07:30:01.000Z",
    "lat": "-6.225000",
    "lon": "106.900000",
    "accuracy": 8,
    "seals": [],
    "condition": None,
    "note": "Gudang Pulogadung",
    "witness": None,
    "handover": None,
}
VECTOR_CANONICAL = (
    '{"accuracy":8,"actor":"gudang","box":"106141412345678908","client_id":"1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b",'
    '"condition":null,"device":"hp-1","device_seq":1,"from":null,"handover":null,"kind":"commission",'
    '"lat":"-6.225000","lon":"106.900000","note":"Gudang Pulogadung","recorded_at":"2026-04-01T07:30:01.000Z",'
    '"scanned_at":"2026-04-01T07:30:00.123Z","seals":[],"seq":1,"site":"KPU-3175","to":"site:KPU-3175","v":1,"witness":null}'
)
VECTOR_HASH = "3460b55653c6a526e0eb76433936b0d5003f80440d21d3a51c4a9c7af7ed231d"
FIELDS = [
    "v",
    "box",
    "seq",
    "kind",
    "from",
    "to",
    "site",
    "actor",
    "device",
    "device_seq",
    "client_id",
    "scanned_at",
    "recorded_at",
    "lat",
    "lon",
    "accuracy",
    "seals",
    "condition",
    "note",
    "witness",
    "handover",
]


def canonical(event: dict) -> bytes:
    return json.dumps({k: event[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def outsider_root(hashes: list[str]) -> str:
    leaves = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes]

    def root(nodes):
        if len(nodes) == 1:
            return nodes[0]
        k = 1
        while k * 2 < len(nodes):
            k *= 2
        return hashlib.sha256(b"\x01" + root(nodes[:k]) + root(nodes[k:])).digest()

    return root(leaves).hex() if leaves else hashlib.sha256(b"").hexdigest()


def outsider_verify(lines: list[dict], public_key: str) -> bool:
    """Section 3 and 4 of docs/ledger.md, and nothing else."""
    events = [x for x in lines if x["type"] == "event"]
    heads: dict[str, tuple[int, str]] = {}
    for event in events:
        seq, head = heads.get(event["box"], (0, "0" * 64))
        if event["seq"] != seq + 1 or event["prev_hash"] != head:
            return False
        if hashlib.sha256(head.encode("ascii") + canonical(event)).hexdigest() != event["hash"]:
            return False
        heads[event["box"]] = (event["seq"], event["hash"])
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    for cp in (x for x in lines if x["type"] == "checkpoint"):
        covered = [e["hash"] for e in events if e["id"] <= cp["upto_event_id"]]
        if len(covered) != cp["event_count"] or outsider_root(covered) != cp["root"]:
            return False
        message = json.dumps(
            {
                "at": cp["created_at"],
                "count": cp["event_count"],
                "root": cp["root"],
                "upto": cp["upto_event_id"],
                "v": 1,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        key.verify(base64.b64decode(cp["signature"]), message)  # raises on a bad signature
    return True


def outsider_whole(raw: bytes) -> bool:
    """Section 1 of docs/ledger.md: the file is whole when its last line is the end line, counting the
    lines before it and giving the SHA-256 of their bytes."""
    lines = raw.splitlines(keepends=True)
    if not lines:
        return False
    try:
        end = json.loads(lines[-1])
    except ValueError:
        return False
    body = b"".join(lines[:-1])
    return end == {"type": "end", "lines": len(lines) - 1, "sha256": hashlib.sha256(body).hexdigest()}


def test_the_documented_test_vector():
    assert canonical(VECTOR_EVENT).decode() == VECTOR_CANONICAL
    assert hashlib.sha256(b"0" * 64 + canonical(VECTOR_EVENT)).hexdigest() == VECTOR_HASH


def test_an_outsider_verifier_agrees_with_ours(ledger, runner, client, tmp_path):
    path = tmp_path / "export.jsonl"
    runner.invoke(args=["ledger", "export", str(path)])
    raw = path.read_bytes()
    assert outsider_whole(raw) and not outsider_whole(raw[: raw.rindex(b'{"type": "end"')])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    published = client.get("/api/v1/ledger/checkpoints").json
    assert published["public_key"] == KEY.public_text
    assert published["key_id"] == hashlib.sha256(base64.b64decode(published["public_key"])).hexdigest()[:16]
    assert outsider_verify(lines, published["public_key"])
    lines[3]["seals"] = ["BOGUS"]
    assert not outsider_verify(lines, published["public_key"])
