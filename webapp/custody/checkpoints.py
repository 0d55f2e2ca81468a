"""Checkpoints: signed Merkle roots over every event so far (the ledger's public commitments)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from webapp.custody.event import utc_text
from webapp.custody.ledger import MerkleAccumulator, SigningKey, checkpoint_message
from webapp.custody.models import CustodyEvent, LedgerCheckpoint

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 10_000


def signing_key(config: dict) -> SigningKey:
    """The server's checkpoint key, from LEDGER_SIGNING_KEY."""
    return SigningKey.from_text(config["LEDGER_SIGNING_KEY"])


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    """The newest checkpoint, if any."""
    return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.upto_event_id.desc()).limit(1))


def make_checkpoint(session: Session, key: SigningKey, now: datetime | None = None) -> LedgerCheckpoint | None:
    """Sign a Merkle root over every event so far; None when nothing new since the last one.

    On PostgreSQL it first waits for every in-flight ledger write to finish (and holds new ones off
    for the few milliseconds it takes), so the root covers a gap-free prefix of committed events.
    On SQLite the caller's BEGIN IMMEDIATE already serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE custody_event IN SHARE ROW EXCLUSIVE MODE"))
    last = latest_checkpoint(session)
    accumulator = MerkleAccumulator(last.peaks if last else [])
    upto = last.upto_event_id if last else 0
    new = 0
    for event_id, event_hash in session.execute(
        select(CustodyEvent.id, CustodyEvent.hash).where(CustodyEvent.id > upto).order_by(CustodyEvent.id)
    ):
        accumulator.add(event_hash)
        upto = event_id
        new += 1
    if not new:
        return None
    created = now or datetime.now(UTC)
    created = created.replace(microsecond=created.microsecond // 1000 * 1000)
    root = accumulator.root()
    message = checkpoint_message(event_count=accumulator.count, upto_event_id=upto, root=root, created_at=created)
    checkpoint = LedgerCheckpoint(
        upto_event_id=upto,
        event_count=accumulator.count,
        root=root,
        peaks=accumulator.dump(),
        key_id=key.key_id,
        signature=key.sign(message),
        created_at=created,
    )
    session.add(checkpoint)
    session.flush()
    log.info("checkpoint: %d events up to %d, root %s", checkpoint.event_count, upto, root)
    return checkpoint


def checkpoint_due(session: Session, every: int = CHECKPOINT_EVERY) -> bool:
    """Whether `every` events have been added since the last checkpoint (two index look-ups)."""
    newest = session.scalar(select(func.max(CustodyEvent.id))) or 0
    covered = session.scalar(select(func.max(LedgerCheckpoint.upto_event_id))) or 0
    return newest - covered >= every


def checkpoint_json(checkpoint: LedgerCheckpoint) -> dict:
    """A checkpoint as published."""
    return {
        "upto_event_id": checkpoint.upto_event_id,
        "event_count": checkpoint.event_count,
        "root": checkpoint.root,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "created_at": utc_text(checkpoint.created_at),
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
        }
        for c in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.upto_event_id))
    ]
