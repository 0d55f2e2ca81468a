"""Checkpoints: the ledger's signed commitments. Each is a C2SP tlog-checkpoint signed note (origin, tree
size, root hash of the RFC 6962/9162 Merkle tree over every event so far in id order; the log's Ed25519
note signature), made as the stored tree (tree.py) takes the new events' leaves, in one transaction.
Proofs against any signed size come from the stored tree in O(log n)."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from webapp.custody import notes
from webapp.custody.event import utc_text
from webapp.custody.ledger import SigningKey, checkpoint_message
from webapp.custody.models import CustodyEvent, LedgerCheckpoint
from webapp.custody.tree import TreeAppender, consistency_proof, event_leaf, inclusion_proof, root_at

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 10_000
READ_CHUNK = 10_000  # events read per query while adding leaves


class CheckpointRefused(RuntimeError):
    """The events or the stored tree contradict a checkpoint already signed: nothing new is signed. Someone
    changed the ledger's tables (`flask ledger verify` names what); a person must look."""


def ledger_origin(config) -> str:
    """The log's name: the checkpoint's first line and its signing key's name. LEDGER_ORIGIN, by default
    "<host of PUBLIC_BASE_URL>/jejak/<ELECTION_TYPE>", e.g. "127.0.0.1:8000/jejak/pemilu"."""
    origin = config.get("LEDGER_ORIGIN")
    if not origin:
        host = urlsplit(config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").netloc.rpartition("@")[2]
        origin = f"{host}/jejak/{config.get('ELECTION_TYPE') or 'pemilu'}"
    if any(c.isspace() or c in "+\u2014" for c in origin):
        raise ValueError(f"LEDGER_ORIGIN must have no spaces, '+' or em dash: {origin!r}")
    return origin


def signing_key(config) -> SigningKey:
    """The server's checkpoint key, from LEDGER_SIGNING_KEY, signing notes as ledger_origin(config)."""
    return SigningKey.from_text(config["LEDGER_SIGNING_KEY"], origin=ledger_origin(config))


def log_verifier(config) -> notes.Verifier:
    """The key that checks the log's notes (its vkey is published at GET /api/v1/ledger/key)."""
    return notes.Verifier(ledger_origin(config), notes.ED25519, signing_key(config).public_bytes)


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    """The newest checkpoint, legacy or signed; of two for the same tree, the signed note (made later)."""
    return session.scalar(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.upto_event_id.desc(), LedgerCheckpoint.id.desc()).limit(1)
    )


def latest_signed(session: Session) -> LedgerCheckpoint | None:
    """The newest checkpoint signed as a note."""
    return session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.note.is_not(None))
        .order_by(LedgerCheckpoint.event_count.desc())
        .limit(1)
    )


def signed_checkpoint(session: Session, size: int) -> LedgerCheckpoint | None:
    """The checkpoint signed as a note for this tree size, if the log signed one."""
    return session.scalar(
        select(LedgerCheckpoint).where(LedgerCheckpoint.note.is_not(None), LedgerCheckpoint.event_count == size)
    )


def make_checkpoint(session: Session, key: SigningKey, now: datetime | None = None) -> LedgerCheckpoint | None:
    """Add every event not yet in the stored tree as its leaf (ascending id), then sign the tree as a note
    (named key.origin, or the application's ledger_origin); None when the newest signed note already
    covers every event.

    On PostgreSQL it first waits for every in-flight ledger write to finish (and holds new ones off until
    it commits), so the tree covers a gap-free prefix of committed events in id order: a leaf's index is
    the event's position. On SQLite the caller's BEGIN IMMEDIATE already serialises writers.

    Before signing, the stored tree must still give the newest signed root, and as the leaves pass the size
    of a checkpoint made before signed notes (legacy), the root there must be the one it signed; otherwise
    CheckpointRefused. So the first checkpoint after migration 0019 builds the tree from the first event,
    checks every legacy checkpoint on the way, and signs the current tree as a note even when no event came
    since the last legacy one.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE custody_event IN SHARE ROW EXCLUSIVE MODE"))
    origin = key.origin or ledger_origin(current_app.config)
    tree = TreeAppender.resume(session)
    last = latest_signed(session)
    if last is not None:
        if last.event_count > tree.size:
            raise CheckpointRefused(f"the stored tree has {tree.size} leaves, the last signed checkpoint {last.size}")
        signed_root = tree.root() if last.event_count == tree.size else root_at(session, last.event_count)
        if signed_root.hex() != last.root:
            raise CheckpointRefused(f"the stored tree no longer gives the root signed at size {last.size}")
    legacy = session.execute(
        select(LedgerCheckpoint.event_count, LedgerCheckpoint.root)
        .where(LedgerCheckpoint.note.is_(None), LedgerCheckpoint.event_count > tree.size)
        .order_by(LedgerCheckpoint.event_count)
    ).all()
    upto = tree.last_event_id
    while True:
        rows = session.execute(
            select(CustodyEvent.id, CustodyEvent.hash)
            .where(CustodyEvent.id > upto)
            .order_by(CustodyEvent.id)
            .limit(READ_CHUNK)
        ).all()
        for event_id, event_hash in rows:
            tree.add(event_id, event_hash)
            upto = event_id
            if legacy and legacy[0][0] == tree.size:
                _, legacy_root = legacy.pop(0)
                if tree.root().hex() != legacy_root:
                    raise CheckpointRefused(f"the events do not give the root checkpointed at size {tree.size}")
        if len(rows) < READ_CHUNK:
            break
    tree.flush()
    if legacy:
        raise CheckpointRefused(f"a checkpoint covers {legacy[0][0]} events, the ledger has {tree.size}")
    if tree.size == 0 or (last is not None and last.event_count == tree.size):
        return None
    checkpoint = signed_tree(key, origin, tree.size, upto, tree.root(), tree.peak_pairs(), now or datetime.now(UTC))
    session.add(checkpoint)
    session.flush()
    log.info("checkpoint: %d events up to %d, root %s", checkpoint.event_count, upto, checkpoint.root)
    return checkpoint


def signed_tree(
    key: SigningKey, origin: str, size: int, upto_event_id: int, root: bytes, peaks: list, created_at: datetime
) -> LedgerCheckpoint:
    """A checkpoint row for the tree of `size` leaves (the last of them event `upto_event_id`) with `root`:
    its note signed as `origin`, and the JSON signature of the older form, for verifiers that read it
    (docs/ledger.md). Times are kept to the millisecond, as the JSON message writes them."""
    created = created_at.replace(microsecond=created_at.microsecond // 1000 * 1000)
    checkpoint_text = notes.Checkpoint(origin, size, root).text
    message = checkpoint_message(event_count=size, upto_event_id=upto_event_id, root=root.hex(), created_at=created)
    return LedgerCheckpoint(
        upto_event_id=upto_event_id,
        event_count=size,
        root=root.hex(),
        peaks=peaks,
        key_id=key.key_id,
        signature=key.sign(message),
        created_at=created,
        note=checkpoint_text + "\n" + notes.sign(checkpoint_text, origin, key.private).line,
    )


def checkpoint_due(session: Session, every: int = CHECKPOINT_EVERY) -> bool:
    """Whether `every` events have been added since the last checkpoint (two index look-ups)."""
    newest = session.scalar(select(func.max(CustodyEvent.id))) or 0
    covered = session.scalar(select(func.max(LedgerCheckpoint.upto_event_id))) or 0
    return newest - covered >= every


def cosignature_lines(session: Session, checkpoint: LedgerCheckpoint) -> list[str]:
    """The stored cosignature lines of registered active witnesses for this checkpoint, each ending in a
    newline, to follow the log's signature line in the published note (kept by webapp/custody/witnesses.py)."""
    from webapp.custody.witnesses import cosignature_lines as stored_lines

    return stored_lines(session, checkpoint)


def published_note(session: Session, checkpoint: LedgerCheckpoint) -> str:
    """The checkpoint as GET /api/v1/ledger/checkpoint serves it: its note, then the witnesses' lines."""
    return checkpoint.note + "".join(cosignature_lines(session, checkpoint))


def checkpoint_json(checkpoint: LedgerCheckpoint) -> dict:
    """A checkpoint as published in the list (its note as signed by the log, no cosignatures)."""
    return {
        "upto_event_id": checkpoint.upto_event_id,
        "event_count": checkpoint.event_count,
        "size": checkpoint.event_count,
        "root": checkpoint.root,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "created_at": utc_text(checkpoint.created_at),
        "note": checkpoint.note,
    }


def checkpoint_rows(session: Session) -> list[dict]:
    """Every checkpoint, oldest first, as the verifier reads them."""
    return [
        {
            "upto_event_id": c.upto_event_id,
            "event_count": c.event_count,
            "root": c.root,
            "signature": c.signature,
            "created_at": c.created_at if c.created_at.tzinfo else c.created_at.replace(tzinfo=UTC),
            "note": c.note,
        }
        for c in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.upto_event_id, LedgerCheckpoint.id))
    ]


# --- proofs -------------------------------------------------------------------------------------


class ProofUnavailable(LookupError):
    """No such proof: `what` is "checkpoint" (no signed checkpoint of `size`; size None: none at all) or
    "event" (event `event` is not covered by the signed checkpoint of `size`, or does not exist)."""

    def __init__(self, what: str, size: int | None = None, event: int | None = None):
        super().__init__(f"no {what} proof (size {size}, event {event})")
        self.what, self.size, self.event = what, size, event


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _signed_size(session: Session, size: int | None) -> int:
    """`size` if the log signed a note for it (the newest signed size for None); else ProofUnavailable."""
    signed = LedgerCheckpoint.note.is_not(None)
    if size is None:
        newest = session.scalar(select(func.max(LedgerCheckpoint.event_count)).where(signed))
        if newest is None:
            raise ProofUnavailable("checkpoint")
        return newest
    if session.scalar(select(LedgerCheckpoint.id).where(signed, LedgerCheckpoint.event_count == size)) is None:
        raise ProofUnavailable("checkpoint", size)
    return size


@dataclass(frozen=True)
class Inclusion:
    event: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]

    def json(self) -> dict:
        return {
            "event": self.event,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": _b64(self.leaf_hash),
            "proof": [_b64(p) for p in self.proof],
        }


def inclusion(session: Session, event_id: int, size: int | None = None) -> Inclusion:
    """The inclusion proof of an event's leaf in the signed tree of `size` (default: the newest signed one).
    Three indexed reads: the size, the event's leaf, the proof's subtrees."""
    size = _signed_size(session, size)
    leaf = event_leaf(session, event_id)
    if leaf is None or leaf[0] >= size:
        raise ProofUnavailable("event", size, event_id)
    return Inclusion(event_id, leaf[0], size, leaf[1], inclusion_proof(session, leaf[0], size))


def consistency(session: Session, first: int, second: int | None = None) -> tuple[int, int, list[bytes]]:
    """(first, second, the consistency proof) between two signed tree sizes (first may be 0; second
    defaults to the newest signed size). ValueError when first > second."""
    second = _signed_size(session, second)
    if first > second:
        raise ValueError(f"from ({first}) is larger than to ({second})")
    if first:
        _signed_size(session, first)
    return first, second, consistency_proof(session, first, second)
