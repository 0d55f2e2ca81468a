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

from webapp.custody.event import ENCODING_VERSION, HASHED_FIELDS, OPTIONAL_FIELDS, utc_text

GENESIS = "0" * 64


def _canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The same bytes as _canonical_json(the HASHED_FIELDS of an event), built without the generic encoder:
# the keys' order is fixed, and a value is encoded by type. This runs once per event on every write
# and every verification; tests/custody/test_integrity.py checks it against json.dumps on random values.
_SORTED_KEYS = tuple(sorted(HASHED_FIELDS))
_PREFIXED_KEYS = tuple((("{" if n == 0 else ",") + f'"{key}":', key) for n, key in enumerate(_SORTED_KEYS))
# An optional field (a correction's `corrects`) is left out when null, so events hashed before it existed keep
# their bytes; none sorts first, so the "{" prefix stays with the first key either way.
_BASE_KEYS = tuple(pair for pair in _PREFIXED_KEYS if pair[1] not in OPTIONAL_FIELDS)
assert _SORTED_KEYS[0] not in OPTIONAL_FIELDS


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
    """The event's canonical JSON: sorted keys, no spaces, UTF-8, nothing but HASHED_FIELDS (an optional one
    only when it is not null)."""
    keys = _BASE_KEYS if all(fields.get(key) is None for key in OPTIONAL_FIELDS) else _PREFIXED_KEYS
    return ("".join([prefix + _value_json(fields[key]) for prefix, key in keys]) + "}").encode("utf-8")


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
    """The exact bytes a checkpoint's JSON signature (`signature`) covers; its signed note (`note`, the C2SP
    form, notes.py) signs the checkpoint text instead."""
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
    """The server's Ed25519 key for checkpoints, and the name it signs notes with (the log's origin; None:
    the application's LEDGER_ORIGIN, see checkpoints.ledger_origin)."""

    private: Ed25519PrivateKey
    origin: str | None = None

    @classmethod
    def from_text(cls, text: str, origin: str | None = None) -> SigningKey:
        """Read a key given as base64 of its 32-byte seed (LEDGER_SIGNING_KEY)."""
        seed = base64.b64decode(text.strip(), validate=True)
        if len(seed) != 32:
            raise ValueError("LEDGER_SIGNING_KEY must be base64 of 32 bytes (an Ed25519 seed)")
        return cls(Ed25519PrivateKey.from_private_bytes(seed), origin)

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

    def compare_heads(self, box_heads: dict[str, tuple[int, str | None]], every: bool = False) -> Problem | None:
        """Each box's (chain_length, chain_head) as the box table has them must match its chain's end:
        this catches a deleted last event. With `every`, each box with events must have a head."""
        if every:
            for sscc in sorted(set(self.heads) - set(box_heads)):
                return Problem("the box has events but no head line: its head was removed", sscc)
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
    """Recomputes the Merkle tree over event hashes in id order and checks each checkpoint on the way: when
    the tree holds `event_count` leaves, its root must be `root`. A checkpoint with `upto_event_id` must end
    at that event; one with a JSON `signature` (and `created_at`) must carry a valid one, and one with a
    `note` a valid signed note of the same tree (as the database keeps them). A checkpoint read from an
    export's note (verified before) has neither; `label` names a checkpoint in a problem."""

    def __init__(self, checkpoints: list[dict], public_key: str | None, origin: str | None = None):
        self.pending = sorted(checkpoints, key=lambda c: (c["event_count"], c.get("upto_event_id") or 0))
        self.public_key = public_key
        self.origin = origin
        self.accumulator = MerkleAccumulator()
        self.checked = 0
        self.last_id: int | None = None

    def _check(self, cp: dict, event_id: int | None) -> Problem | None:
        accumulator = self.accumulator
        label = cp.get("label") or f"checkpoint up to event {cp.get('upto_event_id')}"
        where = cp.get("upto_event_id") if cp.get("upto_event_id") is not None else event_id
        if accumulator.root() != cp["root"]:
            return Problem(
                f"{label} does not match the events ({accumulator.count} events, root {accumulator.root()[:16]}...; "
                f"the checkpoint says {cp['event_count']} events, root {cp['root'][:16]}...): events were altered, "
                "removed or inserted",
                event_id=where,
            )
        if cp.get("upto_event_id") is not None and cp["upto_event_id"] != self.last_id:
            return Problem(f"{label} says it ends at event {cp['upto_event_id']}, its last event is {self.last_id}")
        if "signature" in cp and self.public_key is not None:
            created = cp["created_at"]
            created = (
                created if isinstance(created, datetime) else datetime.fromisoformat(created.replace("Z", "+00:00"))
            )
            message = checkpoint_message(
                event_count=cp["event_count"], upto_event_id=cp["upto_event_id"], root=cp["root"], created_at=created
            )
            if not verify_signature(self.public_key, message, cp["signature"]):
                return Problem(f"{label} has an invalid signature", event_id=where)
        if cp.get("note") and self.public_key is not None:
            return self._check_note(cp, label, where)
        return None

    def _check_note(self, cp: dict, label: str, where: int | None) -> Problem | None:
        """The checkpoint's signed note (section 4 of docs/ledger.md): the log's signature with the public key
        under the note's origin (which must be `origin` when one is given), and the same size and root."""
        from webapp.custody import notes  # notes imports nothing of the ledger; kept local to stay light

        try:
            origin = cp["note"].split("\n", 1)[0]
            if self.origin is not None and origin != self.origin:
                raise notes.NoteError(f"it names the log {origin!r}, not {self.origin!r}")
            log = notes.Verifier(origin, notes.ED25519, base64.b64decode(self.public_key))
            checkpoint = notes.Checkpoint.parse(notes.open_note(cp["note"], log)[0])
        except (notes.NoteError, ValueError) as exc:
            return Problem(f"{label} has a signed note that does not verify: {exc}", event_id=where)
        if (checkpoint.size, checkpoint.root.hex()) != (cp["event_count"], cp["root"]):
            return Problem(f"{label} has a signed note of another tree ({checkpoint.size} events)", event_id=where)
        return None

    def before(self, event_id: int | None) -> Problem | None:
        """Check every checkpoint of the tree as it is now, before this event's leaf; with None (the end),
        every checkpoint that remains: one larger than the tree covers events that are not there."""
        while self.pending and self.pending[0]["event_count"] <= self.accumulator.count:
            cp = self.pending.pop(0)
            self.checked += 1
            if cp["event_count"] < self.accumulator.count:  # sizes 0, or ones out of order
                return Problem(f"checkpoint of {cp['event_count']} events is out of order", event_id=event_id)
            problem = self._check(cp, event_id)
            if problem:
                return problem
        if event_id is None and self.pending:
            cp = self.pending[0]
            label = cp.get("label") or f"checkpoint up to event {cp.get('upto_event_id')}"
            return Problem(
                f"{label} covers {cp['event_count']} events, only {self.accumulator.count} are here: "
                "events were removed",
                event_id=cp.get("upto_event_id"),
            )
        return None

    def add(self, event_id: int, event_hash: str) -> Problem | None:
        """The next event in id order: first the checkpoints before it, then its leaf."""
        problem = self.before(event_id) if self.pending else None
        if problem is None:
            self.leaf(event_id, event_hash)
        return problem

    def leaf(self, event_id: int | None, event_hash: str) -> None:
        self.accumulator.add(event_hash)
        self.last_id = event_id


def _is_hash(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def verify_stream(
    events: Iterator[dict],
    checkpoints: list[dict],
    public_key: str | None,
    box_heads: dict[str, tuple[int, str | None]] | None = None,
    every_head: bool = False,
    origin: str | None = None,
) -> VerifyReport:
    """Recompute every chain and checkpoint from events in id order; stop at the first broken link.

    `events` yields dicts with `id`, `hash`, `prev_hash` and the HASHED_FIELDS values. `checkpoints`
    are dicts with upto_event_id, event_count, root, signature, created_at (text or datetime).
    `box_heads` maps SSCC to (chain_length, chain_head) as the box table has them, which catches a
    deleted last event; with `every_head`, a box with events must be in it.
    """
    report = VerifyReport()
    chains = ChainChecker()
    tree = CheckpointChecker(checkpoints, public_key, origin)
    for event in events:
        event_id = event.get("id") if isinstance(event, dict) else None
        problem = (tree.before(event_id) if isinstance(event_id, int) else None) or chains.check(event)
        if problem:
            report.problem = problem
            break
        tree.leaf(event_id, event["hash"])
    report.problem = report.problem or tree.before(None) or chains.compare_heads(box_heads or {}, every_head)
    report.events, report.checkpoints = chains.events, tree.checked
    report.boxes = 0 if report.problem else len(chains.heads)
    return report
