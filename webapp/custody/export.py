"""The ledger export: JSON Lines that anyone can verify offline (`flask ledger verify --from-export`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from sqlalchemy import literal, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.custody import event
from webapp.custody.checkpoints import checkpoint_rows
from webapp.custody.event import utc_text
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site

STREAM_CHUNK = 20_000
_HASH_AT = event.READ_COLUMNS.index("hash")


def _region_clause(dest, region: str):
    return (dest.c.region_code == region) | dest.c.region_code.startswith(region + ".")


def event_line(row) -> str:
    """One event, read with its names joined in, as its export line."""
    return json.dumps(event.export_event(event.from_named_row(row)), ensure_ascii=False, sort_keys=True) + "\n"


def _export_body(session: Session, public_key: str, region: str | None) -> Iterator[tuple[str, str]]:
    """Every line of an export but its end line (see export_lines), read through server-side cursors
    with the box, site and actor names joined in, so memory stays flat however large the ledger."""
    box, site, users, t = Box.__table__, Site.__table__, User.__table__, CustodyEvent.__table__
    dest, here = site.alias("dest"), site.alias("here")
    full = literal(True)
    heads = select(box.c.sscc, box.c.chain_length, box.c.chain_head).where(box.c.chain_length > 0)
    if region:  # "" is the whole country: every box has a destination
        full = _region_clause(dest, region)
        heads = heads.join(dest, dest.c.id == box.c.destination_id).where(full)
    named = {"box_id": box.c.sscc, "site_id": here.c.code, "actor_id": users.c.username}
    stmt = (
        select(*(named.get(name, t.c[name]) for name in event.READ_COLUMNS), full.label("full"))
        .join(box, box.c.id == t.c.box_id)
        .join(users, users.c.id == t.c.actor_id)
        .outerjoin(here, here.c.id == t.c.site_id)
        .order_by(t.c.id)
    )
    if region:
        stmt = stmt.join(dest, dest.c.id == box.c.destination_id)
    streamed = {"stream_results": True, "yield_per": STREAM_CHUNK}

    header = {"type": "header", "format": "jejak-ledger", "v": 1, "public_key": public_key}
    if region is not None:
        header["region"] = region or "ID"
    yield "header", json.dumps(header) + "\n"
    result = session.execute(stmt, execution_options=streamed)
    full_at = len(event.READ_COLUMNS)
    try:
        for row in result.tuples():
            if not row[full_at]:
                yield "hash", json.dumps({"type": "hash", "id": row[0], "hash": row[_HASH_AT]}) + "\n"
                continue
            yield "event", event_line(row)
    finally:
        result.close()  # also when the client went away part-way
    result = session.execute(heads.order_by(box.c.sscc), execution_options=streamed)
    try:
        for sscc, length, head in result.tuples():
            yield "head", json.dumps({"type": "head", "box": sscc, "length": length, "hash": head}) + "\n"
    finally:
        result.close()
    for cp in checkpoint_rows(session):
        yield "checkpoint", json.dumps({"type": "checkpoint", **cp, "created_at": utc_text(cp["created_at"])}) + "\n"


def export_lines(session: Session, public_key: str, region: str | None = None) -> Iterator[tuple[str, str]]:
    """The ledger as JSON Lines that `flask ledger verify --from-export` reads offline, as (kind, line):
    a header, every event in id order, each box's head (chain length and last hash, as the box table
    has them: a removed last event shows), the signed checkpoints, and last an end line with the number
    of lines before it and the SHA-256 of their bytes. A file without a matching end line was cut off and
    never verifies; a failure part-way raises before the end line is written. Read in one snapshot on
    PostgreSQL, so scans going on meanwhile never make the heads and the events disagree.

    With `region`, only the boxes bound for it are given in full (events and heads); every other event
    comes as its id and hash alone, so the checkpoints' Merkle roots still verify over every event
    while other regions' contents stay out.
    """
    if session.get_bind().dialect.name == "postgresql" and isinstance(session.get_bind(), Engine):
        session.rollback()
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    digest = hashlib.sha256()
    count = 0
    for kind, line in _export_body(session, public_key, region):
        digest.update(line.encode("utf-8"))
        count += 1
        yield kind, line
    yield "end", json.dumps({"type": "end", "lines": count, "sha256": digest.hexdigest()}) + "\n"


def export_ledger(session: Session, public_key: str, out, region: str | None = None) -> int:
    """Write the ledger (export_lines) to a file; returns the number of events given in full."""
    count = 0
    for kind, line in export_lines(session, public_key, region):
        out.write(line)
        count += kind == "event"
    return count
