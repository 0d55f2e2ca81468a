"""The ledger export: JSON Lines that anyone can verify offline (`flask ledger verify --from-export`)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.custody import event, notes
from webapp.custody.checkpoints import Inclusion, checkpoint_json, latest_signed, ledger_origin, published_note
from webapp.custody.event import utc_text
from webapp.custody.ledger import SigningKey, merkle_leaf
from webapp.custody.models import CustodyEvent, LedgerCheckpoint, LedgerTreeLeaf
from webapp.custody.tree import consistency_proof, inclusion_proofs
from webapp.geo.models import Site

STREAM_CHUNK = 20_000  # rows fetched at a time from a server-side cursor (the export and the verifier)
# 2: canonical lines, checkpoints as signed notes, exported_at and max_delay in the header;
# 3: a region's file carries inclusion proofs against the newest checkpoint (and a consistency line), no hash lines
FORMAT_VERSION = 3
PROOF_CHUNK = 256  # a region's events whose proofs are read from the stored tree at once
MAX_DELAY = 60  # seconds: LEDGER_MAX_DELAY's default
_HASH_AT = event.READ_COLUMNS.index("hash")


def line_text(item: dict) -> str:
    """A line of the export: the canonical JSON of its value (sorted keys, no spaces, UTF-8), then a newline.
    The end line's SHA-256 covers these bytes, which any re-serialisation of the file gives back."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def _region_clause(dest, region: str):
    return (dest.c.region_code == region) | dest.c.region_code.startswith(region + ".")


def event_line(row) -> str:
    """One event, read with its names joined in, as its export line."""
    return line_text(event.export_event(event.from_named_row(row)))


def _event_query(region: str | None):
    """Every event in id order with its box, site and actor named; a region's with its leaf index in the
    stored tree (None for an event no checkpoint has added yet)."""
    box, site, users, t = Box.__table__, Site.__table__, User.__table__, CustodyEvent.__table__
    here = site.alias("here")
    named = {"box_id": box.c.sscc, "site_id": here.c.code, "actor_id": users.c.username}
    columns = [named.get(name, t.c[name]) for name in event.READ_COLUMNS]
    stmt = (
        select(*columns)
        .join(box, box.c.id == t.c.box_id)
        .join(users, users.c.id == t.c.actor_id)
        .outerjoin(here, here.c.id == t.c.site_id)
        .order_by(t.c.id)
    )
    if region:
        dest, leaf = site.alias("dest"), LedgerTreeLeaf.__table__
        stmt = (
            stmt.add_columns(leaf.c.leaf_index)
            .join(dest, dest.c.id == box.c.destination_id)
            .outerjoin(leaf, leaf.c.event_id == t.c.id)
            .where(_region_clause(dest, region))
        )
    return stmt


def _heads_query(region: str | None):
    box, dest = Box.__table__, Site.__table__.alias("dest")
    heads = select(box.c.sscc, box.c.chain_length, box.c.chain_head).where(box.c.chain_length > 0)
    if region:  # "" is the whole country: every box has a destination
        heads = heads.join(dest, dest.c.id == box.c.destination_id).where(_region_clause(dest, region))
    return heads.order_by(box.c.sscc)


def _with_proofs(session: Session, rows, size: int) -> Iterator[tuple[str, str]]:
    """A region's events, each followed by its inclusion line when the signed tree of `size` holds it: the
    proofs of PROOF_CHUNK events are read from the stored tree at once."""
    chunk: list = []

    def lines():
        covered = [row[-1] for row in chunk if row[-1] is not None and row[-1] < size]
        proofs = inclusion_proofs(session, covered, size) if covered else {}
        for row in chunk:
            yield "event", event_line(row)
            index = row[-1]
            if index in proofs:
                leaf = merkle_leaf(row[_HASH_AT])
                item = Inclusion(row[0], index, size, leaf, proofs[index]).json()
                yield "inclusion", line_text({"type": "inclusion", **item})
        chunk.clear()

    for row in rows:
        chunk.append(row)
        if len(chunk) >= PROOF_CHUNK:
            yield from lines()
    yield from lines()


def _export_body(session: Session, header: dict, region: str | None, since: int | None) -> Iterator[tuple[str, str]]:
    """Every line of an export but its end line (see export_lines), read through server-side cursors
    with the box, site and actor names joined in, so memory stays flat however large the ledger."""
    streamed = {"stream_results": True, "yield_per": STREAM_CHUNK}
    anchor = latest_signed(session) if region else None
    yield "header", line_text(header)
    result = session.execute(_event_query(region), execution_options=streamed)
    try:
        if region:
            yield from _with_proofs(session, result.tuples(), anchor.event_count if anchor else 0)
        else:
            for row in result.tuples():
                yield "event", event_line(row)
    finally:
        result.close()  # also when the client went away part-way
    result = session.execute(_heads_query(region), execution_options=streamed)
    try:
        for sscc, length, head in result.tuples():
            yield "head", line_text({"type": "head", "box": sscc, "length": length, "hash": head})
    finally:
        result.close()
    if region:
        signed = [anchor] if anchor else []
    else:
        newest = LedgerCheckpoint.event_count
        signed = session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.note.is_not(None)).order_by(newest))
    for checkpoint in signed:
        item = checkpoint_json(checkpoint) | {"note": published_note(session, checkpoint)}
        yield "checkpoint", line_text({"type": "checkpoint", **item})
    if anchor and since is not None and 0 < since <= anchor.event_count:
        proof = consistency_proof(session, since, anchor.event_count)
        item = {"from": since, "to": anchor.event_count, "proof": [base64.b64encode(p).decode() for p in proof]}
        yield "consistency", line_text({"type": "consistency", **item})


def export_lines(
    session: Session,
    key: SigningKey,
    region: str | None = None,
    *,
    max_delay: int = MAX_DELAY,
    now: datetime | None = None,
    since: int | None = None,
) -> Iterator[tuple[str, str]]:
    """The ledger as JSON Lines that `flask ledger verify --from-export` reads offline, as (kind, line):
    a header (the log's origin and verifier key, `exported_at`, the server's `max_delay`), every event in
    id order, each box's head (chain length and last hash, as the box table
    has them: a removed last event shows), the checkpoints signed as notes (with the witnesses'
    cosignatures), and last an end line with the number
    of lines before it and the SHA-256 of their bytes. A file without a matching end line was cut off and
    never verifies; a failure part-way raises before the end line is written. Read in one snapshot on
    PostgreSQL, so scans going on meanwhile never make the heads and the events disagree.

    With `region`, the file holds the events and heads of the boxes bound for it, each event followed by
    its RFC 9162 inclusion proof in the newest signed checkpoint (the only checkpoint line), so its size
    follows the region, not the country (a proof is log2 of the ledger's size). With `since` (the size of
    a checkpoint the reader trusts), a consistency line proves that checkpoint a prefix of the newest.
    """
    if session.get_bind().dialect.name == "postgresql" and isinstance(session.get_bind(), Engine):
        session.rollback()
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    origin = key.origin or ledger_origin(current_app.config)
    header = {
        "type": "header",
        "format": "jejak-ledger",
        "v": FORMAT_VERSION,
        "origin": origin,
        "vkey": notes.Verifier(origin, notes.ED25519, key.public_bytes).vkey,
        "public_key": key.public_text,
        "exported_at": utc_text(now or datetime.now(UTC)),
        "max_delay": max_delay,
    }
    if region is not None:
        header["region"] = region or "ID"
    digest = hashlib.sha256()
    count = 0
    for kind, line in _export_body(session, header, region, since):
        digest.update(line.encode("utf-8"))
        count += 1
        yield kind, line
    yield "end", line_text({"type": "end", "lines": count, "sha256": digest.hexdigest()})


def export_ledger(session: Session, key: SigningKey, out, region: str | None = None, **options) -> int:
    """Write the ledger (export_lines) to a file; returns the number of events given in full."""
    count = 0
    for kind, line in export_lines(session, key, region, **options):
        out.write(line)
        count += kind == "event"
    return count
