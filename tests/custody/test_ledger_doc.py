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
    """Section 3: the fields above, nulls included, and `corrects` only when it is not null."""
    fields = FIELDS + (["corrects"] if event.get("corrects") is not None else [])
    return json.dumps({k: event[k] for k in fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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
        if not outsider_note(cp["note"], public_key, covered):
            return False
    return True


def outsider_note(note: str, public_key: str, covered: list[str]) -> bool:
    """Section 4: the checkpoint as a signed note (C2SP signed-note, tlog-checkpoint): its text is the origin,
    the tree size and the base64 root; the log's signature line is an em dash, a space, the key name (the
    origin), a space, and base64 of the 4-byte key ID and the 64-byte Ed25519 signature over the text."""
    tree = outsider_note_tree(note, public_key)
    if note.rpartition("\n\n")[0].count("\n") != 2 or tree is None:  # three lines of text, and signed
        return False
    return tree == (len(covered), bytes.fromhex(outsider_root(covered)))


def outsider_walk(fn: int, sn: int, fr: bytes, sr: bytes, proof: list[bytes]) -> tuple[bytes, bytes] | None:
    """The loop RFC 9162 sections 2.1.3.2 and 2.1.4.2 share: (fr, sr) once sn reaches 0 with the proof, else
    None. Inclusion reads sr only (fr follows the left siblings, which inclusion does not need)."""
    for c in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            fr = hashlib.sha256(b"\x01" + c + fr).digest()
            sr = hashlib.sha256(b"\x01" + c + sr).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hashlib.sha256(b"\x01" + sr + c).digest()
        fn, sn = fn >> 1, sn >> 1
    return (fr, sr) if sn == 0 else None


def outsider_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2, step by step."""
    walked = outsider_walk(index, size - 1, leaf, leaf, proof) if index < size else None
    return walked is not None and walked[1] == root


def outsider_consistency(first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes) -> bool:
    """RFC 9162 section 2.1.4.2, step by step (0 < first < second)."""
    if first & (first - 1) == 0:  # a power of two: prepend first_hash
        proof = [first_root, *proof]
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    return outsider_walk(fn, sn, proof[0], proof[0], proof[1:]) == (first_root, second_root)


def outsider_note_tree(note: str, public_key: str) -> tuple[int, bytes] | None:
    """Section 4: (size, root) of a checkpoint note carrying a valid signature of the log's key; else None."""
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    origin, size, root, *_ = text.split("\n")
    raw_key = base64.b64decode(public_key)
    key_id = hashlib.sha256(origin.encode() + b"\n" + b"\x01" + raw_key).digest()[:4]
    for line in signatures.rstrip("\n").split("\n"):
        name, blob = line.removeprefix("\u2014 ").split(" ")
        blob = base64.b64decode(blob)
        if name == origin and blob[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(raw_key).verify(blob[4:], text.encode())  # raises when bad
            return int(size), base64.b64decode(root)
    return None


def outsider_region(lines: list[dict], public_key: str, trusted_note: str | None = None) -> bool:
    """Section 1 (a region's file) and sections 3 and 4: the chains, each event's inclusion line against the
    one checkpoint, and the consistency line from a trusted checkpoint."""
    [checkpoint] = [x for x in lines if x["type"] == "checkpoint"]
    size, root = outsider_note_tree(checkpoint["note"], public_key)
    heads: dict[str, tuple[int, str]] = {}
    last_index, previous = -1, None
    for line in lines:
        if line["type"] == "event":
            seq, head = heads.get(line["box"], (0, "0" * 64))
            chained = hashlib.sha256(head.encode("ascii") + canonical(line)).hexdigest()
            if line["seq"] != seq + 1 or line["prev_hash"] != head or chained != line["hash"]:
                return False
            heads[line["box"]] = (line["seq"], line["hash"])
        elif line["type"] == "inclusion":
            leaf = hashlib.sha256(b"\x00" + bytes.fromhex(previous["hash"])).digest()
            proof = [base64.b64decode(p) for p in line["proof"]]
            if line["event"] != previous["id"] or line["leaf_index"] <= last_index or line["tree_size"] != size:
                return False
            if base64.b64decode(line["leaf_hash"]) != leaf:
                return False
            if not outsider_inclusion(leaf, line["leaf_index"], size, proof, root):
                return False
            last_index = line["leaf_index"]
        previous = line
    if any((x["length"], x["hash"]) != heads.get(x["box"]) for x in lines if x["type"] == "head"):
        return False
    if trusted_note is not None:
        first, first_root = outsider_note_tree(trusted_note, public_key)
        [proof] = [x for x in lines if x["type"] == "consistency" and (x["from"], x["to"]) == (first, size)]
        hashes = [base64.b64decode(p) for p in proof["proof"]]
        return outsider_consistency(first, size, hashes, first_root, root)
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
    assert outsider_whole(raw) and not outsider_whole(raw[: raw.rindex(b"\n", 0, len(raw) - 1) + 1])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    published = client.get("/api/v1/ledger/checkpoints").json
    assert published["public_key"] == KEY.public_text
    assert published["key_id"] == hashlib.sha256(base64.b64decode(published["public_key"])).hexdigest()[:16]
    assert outsider_verify(lines, published["public_key"])
    lines[3]["seals"] = ["BOGUS"]
    assert not outsider_verify(lines, published["public_key"])


def test_an_outsider_verifier_checks_a_correction(ledger, runner, tmp_path):
    """A `correct` event (section 3, Corrections) verifies by the page alone, and its `corrects` is hashed."""
    from tests.custody.test_corrections import _ask, _decide

    box = ledger.box()
    opened = ledger.scan(ledger.kpps, "open", box, "TPS-3101011001001")
    with runner.app.test_request_context():
        _decide(ledger, ledger.supervisor, _ask(ledger, ledger.kpps, opened.client_id).id)
    path = tmp_path / "export.jsonl"
    runner.invoke(args=["ledger", "export", str(path)])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    correction = next(x for x in lines if x.get("kind") == "correct")
    assert correction["corrects"] == opened.event["hash"]
    assert outsider_verify(lines, KEY.public_text)
    correction["corrects"] = "0" * 64
    assert not outsider_verify(lines, KEY.public_text)


def test_an_outsider_reads_the_export_as_section_1_lays_it_out(ledger, runner, tmp_path):
    """Section 1: the header's fields, the order of the lines, and the end line over each line's canonical JSON,
    which survives re-serialisation."""
    path = tmp_path / "export.jsonl"
    runner.invoke(args=["ledger", "export", str(path)])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    order = {"header": 0, "event": 1, "head": 2, "checkpoint": 3, "end": 4}
    assert [order[x["type"]] for x in lines] == sorted(order[x["type"]] for x in lines)
    header = lines[0]
    assert {"format", "v", "origin", "vkey", "public_key", "exported_at", "max_delay"} <= set(header)
    name, key_id, material = header["vkey"].split("+", 2)  # base64 may hold a "+" too
    raw = base64.b64decode(material)
    assert name == header["origin"] and raw[0] == 1 and base64.b64encode(raw[1:]).decode() == header["public_key"]
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id
    spaced = [json.dumps(x, indent=None, ensure_ascii=True) for x in lines[:-1]]  # another serialisation
    canonical = "".join(
        json.dumps(json.loads(x), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for x in spaced
    )
    assert lines[-1] == {"type": "end", "lines": len(spaced), "sha256": hashlib.sha256(canonical.encode()).hexdigest()}


def test_an_outsider_verifies_a_region_s_file_from_its_proofs(ledger, runner, tmp_path):
    """Section 1's region file: every event with its inclusion proof, and a consistency line from an older
    checkpoint, checked by the page and RFC 9162 alone; a changed event or proof fails."""
    from sqlalchemy import select

    from tests.custody.conftest import OTHER_TPS
    from webapp.custody.checkpoints import make_checkpoint
    from webapp.custody.models import LedgerCheckpoint

    trusted_note = ledger.session.scalars(select(LedgerCheckpoint.note)).one()  # the ledger's 20 events, signed
    box = ledger.box(tps=OTHER_TPS)
    for action, extra in (("commission", {}), ("seal", {"seals": ["S-1"]}), ("inspect", {}), ("inspect", {})):
        ledger.scan(ledger.gudang, action, box, "KPU-3101", **extra)
    make_checkpoint(ledger.session, KEY)
    ledger.session.commit()
    path = tmp_path / "region.jsonl"
    result = runner.invoke(args=["ledger", "export", str(path), "--region", "31.01.01", "--since", "20"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sum(x["type"] == "inclusion" for x in lines) == 20 and all(x.get("box") != box.sscc for x in lines)
    assert outsider_region(lines, KEY.public_text, trusted_note)
    changed = [dict(x) for x in lines]
    changed[1]["note"] = "ditulis ulang"
    assert not outsider_region(changed, KEY.public_text)
    changed = [dict(x) for x in lines]
    proof = next(x for x in changed if x["type"] == "inclusion" and len(x["proof"]) > 1)
    proof["proof"] = proof["proof"][::-1]
    assert not outsider_region(changed, KEY.public_text)
    changed = [dict(x) for x in lines]
    consistency = next(x for x in changed if x["type"] == "consistency")
    consistency["proof"] = [base64.b64encode(bytes(32)).decode(), *consistency["proof"][1:]]
    assert not outsider_region(changed, KEY.public_text, trusted_note)
