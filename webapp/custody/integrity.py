"""Checkpoints (signed Merkle roots) and verification of the whole ledger from the database or an export."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.custody.ledger import (
    GENESIS,
    MerkleAccumulator,
    SigningKey,
    VerifyReport,
    canonical_event,
    chain_hash,
    checkpoint_message,
    event_fields,
    utc_text,
    verify_stream,
)
from webapp.custody.models import CustodyEvent, LedgerCheckpoint
from webapp.geo.models import Site

log = logging.getLogger(__name__)
CHECKPOINT_EVERY = 10_000
STREAM_CHUNK = 20_000


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


def _event_rows(session: Session) -> Iterator[dict]:
    """Every event in id order, as the hashed fields plus id, hash and prev_hash (streamed)."""
    sscc = dict(session.execute(select(Box.id, Box.sscc).where(Box.chain_length > 0)).all())
    site = dict(session.execute(select(Site.id, Site.code)).all())
    actor = dict(session.execute(select(User.id, User.username)).all())
    t = CustodyEvent.__table__
    stmt = select(
        t.c.id,
        t.c.box_id,
        t.c.box_seq,
        t.c.kind,
        t.c.from_holder,
        t.c.to_holder,
        t.c.site_id,
        t.c.actor_id,
        t.c.device_id,
        t.c.device_seq,
        t.c.client_id,
        t.c.scanned_at,
        t.c.recorded_at,
        t.c.lat,
        t.c.lon,
        t.c.accuracy,
        t.c.seals,
        t.c.condition,
        t.c.note,
        t.c.witness,
        t.c.handover,
        t.c.prev_hash,
        t.c.hash,
    ).order_by(t.c.id)

    result = session.execute(stmt, execution_options={"stream_results": True, "yield_per": STREAM_CHUNK})
    try:
        yield from (_row_fields(row, sscc, site, actor) for row in result.tuples())
    finally:
        result.close()  # also when the verifier stops early at a broken link


def _row_fields(row, sscc: dict, site: dict, actor: dict) -> dict:
    """One stored event row as the hashed fields plus id, hash and prev_hash."""
    # Unpacking the row as a tuple is several times faster than reading its attributes by name.
    (event_id, box_id, box_seq, kind, from_holder, to_holder, site_id, actor_id, device_id, device_seq, client_id,
     scanned_at, recorded_at, lat, lon, accuracy, seals, condition, note, witness, handover, prev_hash, digest) = row  # fmt: skip
    fields = event_fields(
        sscc=sscc.get(box_id, f"box#{box_id}"), seq=box_seq, kind=kind, from_holder=from_holder, to_holder=to_holder,
        site_code=site.get(site_id), actor=actor.get(actor_id), device_id=device_id, device_seq=device_seq,
        client_id=client_id, scanned_at=scanned_at, recorded_at=recorded_at, lat=lat, lon=lon, accuracy=accuracy,
        seals=seals, condition=condition, note=note, witness=witness, handover=handover,
    )  # fmt: skip
    fields.update(id=event_id, hash=digest, prev_hash=prev_hash)
    return fields


def _checkpoint_rows(session: Session) -> list[dict]:
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


def verify_database(session: Session, public_key: str) -> VerifyReport:
    """Recompute every box's chain and every checkpoint (root and signature) from the database."""
    heads = {
        s: (n, h)
        for s, n, h in session.execute(select(Box.sscc, Box.chain_length, Box.chain_head).where(Box.chain_length > 0))
    }
    rows = _event_rows(session)
    try:
        return verify_stream(rows, _checkpoint_rows(session), public_key, heads)
    finally:
        rows.close()  # closes the server-side cursor when verification stopped at a broken link


def export_ledger(session: Session, public_key: str, out) -> int:
    """Write events and checkpoints as JSON Lines that `flask ledger verify --from-export` reads offline."""
    out.write(json.dumps({"type": "header", "format": "jejak-ledger", "v": 1, "public_key": public_key}) + "\n")
    count = 0
    for row in _event_rows(session):
        out.write(json.dumps({"type": "event", **row}, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    for cp in _checkpoint_rows(session):
        out.write(json.dumps({"type": "checkpoint", **cp, "created_at": utc_text(cp["created_at"])}) + "\n")
    return count


def verify_export(path: Path, public_key: str | None = None) -> VerifyReport:
    """Verify a JSON Lines export offline, against the public key given (or the one in the file)."""
    checkpoints: list[dict] = []
    header: dict = {}

    def events() -> Iterator[dict]:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                item = json.loads(line)
                kind = item.pop("type")
                if kind == "header":
                    header.update(item)
                elif kind == "event":
                    yield item

    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if '"type": "checkpoint"' in line:
                item = json.loads(line)
                item.pop("type")
                checkpoints.append(item)
    stream = events()
    first = next(stream, None)
    key = public_key or header.get("public_key")

    def chained() -> Iterator[dict]:
        if first is not None:
            yield first
        yield from stream

    return verify_stream(chained(), checkpoints, key)


def verify_box(session: Session, box: Box) -> bool:
    """Whether one box's chain recomputes from its events and ends where the box says it does."""
    head, seq = GENESIS, 0
    events = session.scalars(select(CustodyEvent).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.box_seq))
    for event in events:
        fields = event_fields(
            sscc=box.sscc,
            seq=event.box_seq,
            kind=event.kind,
            from_holder=event.from_holder,
            to_holder=event.to_holder,
            site_code=event.site.code if event.site else None,
            actor=event.actor.username,
            device_id=event.device_id,
            device_seq=event.device_seq,
            client_id=event.client_id,
            scanned_at=event.scanned_at,
            recorded_at=event.recorded_at,
            lat=event.lat,
            lon=event.lon,
            accuracy=event.accuracy,
            seals=event.seals,
            condition=event.condition,
            note=event.note,
            witness=event.witness,
            handover=event.handover,
        )
        seq += 1
        if event.box_seq != seq or event.prev_hash != head or chain_hash(head, canonical_event(fields)) != event.hash:
            return False
        head = event.hash
    return (box.chain_length, box.chain_head) == (seq, head if seq else None)
