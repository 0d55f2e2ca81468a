"""The ledger's mathematics: canonical encoding, per-box hash chains, the Merkle tree, signatures and the
checks a verifier makes over a stream of events. Pure: no database, no Flask.

docs/ledger.md describes every byte of this so that an outsider can write a verifier from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring as _encode_string  # what json.dumps uses with ensure_ascii=False
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from webapp.custody.event import ENCODING_VERSION, HASHED_FIELDS, utc_text

GENESIS = "0" * 64


def _canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The same bytes as _canonical_json(the HASHED_FIELDS of an event), built without the generic encoder:
# the keys' order is fixed, and a value is encoded by type. This runs once per event on every write
# and every verification; tests/custody/test_integrity.py checks it against json.dumps on random values.
_SORTED_KEYS = tuple(sorted(HASHED_FIELDS))
_PREFIXED_KEYS = tuple((("{" if n == 0 else ",") + f'"{key}":', key) for n, key in enumerate(_SORTED_KEYS))


def _value_json(value) -> str:
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is list and all(type(item) is str for item in value):
        return "[" + ",".join(map(_encode_string, value)) + "]"
    return _canonical_json(value)  # anything else (a mangled export, say): the generic encoder


def canonical_event(fields: dict) -> bytes:
    """The event's canonical JSON: sorted keys, no spaces, UTF-8, nothing but HASHED_FIELDS."""
    return ("".join([prefix + _value_json(fields[key]) for prefix, key in _PREFIXED_KEYS]) + "}").encode("utf-8")


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """hash = SHA-256(prev_hash as 64 ASCII hex characters || canonical bytes), as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


# --- Merkle tree (RFC 6962 / RFC 9162 shape) ----------------------------------------------------


def merkle_leaf(event_hash: str) -> bytes:
    """Leaf hash: SHA-256(0x00 || the event hash's 32 bytes)."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()


def merkle_node(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """Appends leaves keeping only the roots of complete subtrees ("peaks"), at most log2(n) of them."""

    def __init__(self, peaks: Iterable[tuple[int, str]] = ()):
        self.peaks: list[tuple[int, bytes]] = [(size, bytes.fromhex(h)) for size, h in peaks]

    @property
    def count(self) -> int:
        return sum(size for size, _ in self.peaks)

    def add(self, event_hash: str) -> None:
        peaks = self.peaks
        peaks.append((1, merkle_leaf(event_hash)))
        while len(peaks) > 1 and peaks[-1][0] == peaks[-2][0]:
            (size, right), (_, left) = peaks.pop(), peaks.pop()
            peaks.append((size * 2, merkle_node(left, right)))

    def root(self) -> str:
        """The RFC 6962 tree head: fold the peaks from the right. The empty tree is SHA-256('')."""
        if not self.peaks:
            return hashlib.sha256(b"").hexdigest()
        root = self.peaks[-1][1]
        for _, peak in reversed(self.peaks[:-1]):
            root = merkle_node(peak, root)
        return root.hex()

    def dump(self) -> list[list]:
        return [[size, h.hex()] for size, h in self.peaks]


# --- signing ------------------------------------------------------------------------------------


def checkpoint_message(*, event_count: int, upto_event_id: int, root: str, created_at: datetime) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    body = {
        "v": ENCODING_VERSION,
        "count": event_count,
        "upto": upto_event_id,
        "root": root,
        "at": utc_text(created_at),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """The server's Ed25519 key for checkpoints."""

    private: Ed25519PrivateKey

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """Read a key given as base64 of its 32-byte seed (LEDGER_SIGNING_KEY)."""
        seed = base64.b64decode(text.strip(), validate=True)
        if len(seed) != 32:
            raise ValueError("LEDGER_SIGNING_KEY must be base64 of 32 bytes (an Ed25519 seed)")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @staticmethod
    def new_text() -> str:
        """A fresh key, as LEDGER_SIGNING_KEY expects it."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return base64.b64encode(raw).decode()

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_text(self) -> str:
        return base64.b64encode(self.public_bytes).decode()

    @property
    def key_id(self) -> str:
        """First 16 hex characters of SHA-256 of the raw public key."""
        return hashlib.sha256(self.public_bytes).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode()


def verify_signature(public_text: str, message: bytes, signature: str) -> bool:
    """Whether an Ed25519 signature (base64) over `message` is valid for the public key (base64)."""
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_text)).verify(base64.b64decode(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def dev_signing_key(instance_dir: Path) -> str:
    """Development only: a key generated once and kept in instance/ledger_signing_key."""
    instance_dir.mkdir(exist_ok=True)
    path = instance_dir / "ledger_signing_key"
    if not path.exists():
        path.write_text(SigningKey.new_text())
        path.chmod(0o600)
    return path.read_text().strip()


# --- verification -------------------------------------------------------------------------------


@dataclass
class Problem:
    """The first thing found broken."""

    message: str
    box: str | None = None
    event_id: int | None = None

    def __str__(self) -> str:
        where = "".join([f" box {self.box}" if self.box else "", f" event {self.event_id}" if self.event_id else ""])
        return f"BROKEN{where}: {self.message}"


@dataclass
class VerifyReport:
    """What a verification run saw."""

    events: int = 0
    boxes: int = 0
    checkpoints: int = 0
    problem: Problem | None = None
    hash_only: int = 0  # events of a scoped export given by their hash alone (other regions' boxes)
    key_from_file: bool = False  # signatures were checked against the key the export itself carries

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainChecker:
    """Checks events, box by box, against their chains; the events of one box must come in id order."""

    def __init__(self):
        self.heads: dict[str, tuple[int, str]] = {}
        self.last_id = 0
        self.events = 0

    def check(self, event: dict) -> Problem | None:
        """Check one event; on success it becomes its box's new head."""
        try:
            event_id = event["id"]
            if not isinstance(event_id, int):
                raise TypeError("event id")
            if event_id <= self.last_id:
                return Problem("events are out of order", event["box"], event_id)
            sscc = event["box"]
            length, head = self.heads.get(sscc, (0, GENESIS))
            if event["seq"] != length + 1:
                return Problem(
                    f"sequence {event['seq']} follows {length}: an event is missing or moved", sscc, event_id
                )
            if event["prev_hash"] != head:
                return Problem("prev_hash does not match the previous event's hash", sscc, event_id)
            if chain_hash(head, canonical_event(event)) != event["hash"]:
                return Problem("its content does not match its hash: the event was altered", sscc, event_id)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a mangled export, not a crash
            return Problem(
                f"the event is malformed ({type(exc).__name__})",
                str(event.get("box")),
                event.get("id") if isinstance(event.get("id"), int) else None,
            )
        self.heads[sscc] = (length + 1, event["hash"])
        self.last_id = event_id
        self.events += 1
        return None

    def compare_heads(self, box_heads: dict[str, tuple[int, str | None]]) -> Problem | None:
        """Each box's (chain_length, chain_head) as the box table has them must match its chain's end:
        this catches a deleted last event."""
        for sscc, (length, head) in box_heads.items():
            seen = self.heads.get(sscc, (0, None))
            if (length, head) != (seen[0], seen[1] if seen[0] else None):
                return Problem(
                    f"the box records {length} events ending {str(head)[:16]}..., the ledger has "
                    f"{seen[0]}: its last events were removed",
                    sscc,
                )
        return None


class CheckpointChecker:
    """Recomputes the Merkle tree over event hashes in id order and checks each checkpoint on the way."""

    def __init__(self, checkpoints: list[dict], public_key: str | None):
        self.pending = sorted(checkpoints, key=lambda c: c["upto_event_id"])
        self.public_key = public_key
        self.accumulator = MerkleAccumulator()
        self.checked = 0

    def before(self, event_id: int | None) -> Problem | None:
        """Check every checkpoint that ends before this event (all that remain, with None)."""
        while self.pending and (event_id is None or self.pending[0]["upto_event_id"] < event_id):
            cp = self.pending.pop(0)
            self.checked += 1
            accumulator = self.accumulator
            if accumulator.count != cp["event_count"] or accumulator.root() != cp["root"]:
                return Problem(
                    f"checkpoint up to event {cp['upto_event_id']} does not match the events "
                    f"({accumulator.count} events, root {accumulator.root()[:16]}...; the checkpoint says "
                    f"{cp['event_count']} events, root {cp['root'][:16]}...): events were altered, removed or inserted",
                    event_id=cp["upto_event_id"],
                )
            created = cp["created_at"]
            created = (
                created if isinstance(created, datetime) else datetime.fromisoformat(created.replace("Z", "+00:00"))
            )
            message = checkpoint_message(
                event_count=cp["event_count"], upto_event_id=cp["upto_event_id"], root=cp["root"], created_at=created
            )
            if self.public_key is not None and not verify_signature(self.public_key, message, cp["signature"]):
                return Problem(
                    f"checkpoint up to event {cp['upto_event_id']} has an invalid signature",
                    event_id=cp["upto_event_id"],
                )
        return None

    def add(self, event_id: int, event_hash: str) -> Problem | None:
        """The next event in id order: first the checkpoints before it, then its leaf."""
        problem = self.before(event_id) if self.pending else None
        if problem is None:
            self.accumulator.add(event_hash)
        return problem


def verify_stream(
    events: Iterator[dict],
    checkpoints: list[dict],
    public_key: str | None,
    box_heads: dict[str, tuple[int, str | None]] | None = None,
) -> VerifyReport:
    """Recompute every chain and checkpoint from events in id order; stop at the first broken link.

    `events` yields dicts with `id`, `hash`, `prev_hash` and the HASHED_FIELDS values. `checkpoints`
    are dicts with upto_event_id, event_count, root, signature, created_at (text or datetime).
    `box_heads` maps SSCC to (chain_length, chain_head) as the box table has them, which catches a
    deleted last event.
    """
    report = VerifyReport()
    chains = ChainChecker()
    tree = CheckpointChecker(checkpoints, public_key)
    for event in events:
        event_id = event.get("id") if isinstance(event, dict) else None
        if isinstance(event, dict) and event.get("hash_only"):
            # An event outside a scoped export: only its place in the signed Merkle tree is checked.
            if not isinstance(event_id, int) or event_id <= chains.last_id or not isinstance(event.get("hash"), str):
                report.problem = Problem("a hash-only entry is malformed or out of order", event_id=event_id)
                break
            problem = tree.before(event_id)
            if problem:
                report.problem = problem
                break
            chains.last_id = event_id
            report.hash_only += 1
            tree.accumulator.add(event["hash"])
            continue
        problem = (tree.before(event_id) if isinstance(event_id, int) else None) or chains.check(event)
        if problem:
            report.problem = problem
            break
        tree.accumulator.add(event["hash"])
    report.problem = report.problem or tree.before(None) or chains.compare_heads(box_heads or {})
    report.events, report.checkpoints = chains.events, tree.checked
    report.boxes = 0 if report.problem else len(chains.heads)
    return report
