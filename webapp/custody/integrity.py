"""Checkpoints (signed Merkle roots) and verification of the whole ledger from the database or an export."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, literal, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.custody.ledger import (
    ENCODING_VERSION,
    GENESIS,
    ChainChecker,
    CheckpointChecker,
    MerkleAccumulator,
    Problem,
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
MAX_VERIFY_PROCESSES = 8  # each holds one database connection while it runs
WORKER_TIMEOUT = 6 * 3600  # seconds a verifier process may take (a national ledger is far less)


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


def verify_database(session: Session, public_key: str, processes: int | None = None) -> VerifyReport:
    """Recompute every box's chain and every checkpoint (root and signature) from the database.

    A session of its own (bound to the engine) reads everything in one snapshot, so that scans going
    on meanwhile never look like tampering. On PostgreSQL the chains are then checked by `processes`
    worker processes (default: one per core), each taking the boxes whose id falls to it, while this
    process recomputes the Merkle tree over all event hashes in id order; all of them read the same
    exported snapshot. Elsewhere, with processes=1, or inside a caller's transaction (a session bound
    to a connection), one process reads the ledger as that transaction sees it.
    """
    processes = processes or min(os.cpu_count() or 1, MAX_VERIFY_PROCESSES)
    postgres = session.get_bind().dialect.name == "postgresql"
    owned = isinstance(session.get_bind(), Engine)
    if postgres and owned:  # every read below sees one snapshot, also while scans go on
        session.rollback()
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    heads = {
        s: (n, h)
        for s, n, h in session.execute(select(Box.sscc, Box.chain_length, Box.chain_head).where(Box.chain_length > 0))
    }
    try:
        if postgres and owned and processes > 1:
            return _verify_postgres_parallel(session, public_key, processes, heads)
        rows = _event_rows(session)
        try:
            return verify_stream(rows, _checkpoint_rows(session), public_key, heads)
        finally:
            rows.close()  # closes the server-side cursor when verification stopped at a broken link
    finally:
        if owned:
            session.rollback()


# Timestamps as the canonical encoding writes them (UTC, milliseconds truncated, as utc_text does),
# seals and coordinates as text: PostgreSQL formats them faster than Python converts them.
_UTC_TEXT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
_CHAIN_SQL = (
    "SELECT id, box_id, box_seq, kind, from_holder, to_holder, site_id, actor_id, device_id, device_seq, client_id, "
    f"{_UTC_TEXT.format('scanned_at')}, {_UTC_TEXT.format('recorded_at')}, lat::text, lon::text, accuracy, "
    "seals::text, condition, note, witness, handover, prev_hash, hash "
    "FROM custody_event WHERE id <= %(upto)s AND box_id %% %(parts)s = %(part)s ORDER BY id"
)


def _snapshot_connection(url: str, snapshot: str):
    import psycopg
    import psycopg.sql

    conn = psycopg.connect(url, autocommit=True)  # the transaction below is ours, begun explicitly
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    conn.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot)))
    return conn


def _chain_worker(url: str, snapshot: str, upto: int, part: int, parts: int, maps: tuple, heads: dict, out) -> None:
    """A worker process: check the chains of boxes with id % parts == part; send back (count, problem)."""
    sscc, site, actor = maps
    chains = ChainChecker()
    problem = None
    try:
        conn = _snapshot_connection(url, snapshot)
        with conn.cursor(name="jejak_verify") as cursor:
            cursor.itersize = STREAM_CHUNK
            cursor.execute(_CHAIN_SQL, {"upto": upto, "parts": parts, "part": part})
            for row in cursor:
                (event_id, box_id, box_seq, kind, from_holder, to_holder, site_id, actor_id, device_id, device_seq,
                 client_id, scanned_at, recorded_at, lat, lon, accuracy, seals, condition, note, witness, handover,
                 prev_hash, digest) = row  # fmt: skip
                event = {
                    "v": ENCODING_VERSION, "box": sscc.get(box_id, f"box#{box_id}"), "seq": box_seq, "kind": kind,
                    "from": from_holder, "to": to_holder, "site": site.get(site_id), "actor": actor.get(actor_id),
                    "device": device_id, "device_seq": device_seq, "client_id": client_id, "scanned_at": scanned_at,
                    "recorded_at": recorded_at, "lat": lat, "lon": lon, "accuracy": accuracy,
                    "seals": [] if seals == "[]" else json.loads(seals), "condition": condition, "note": note,
                    "witness": witness, "handover": handover, "id": event_id, "prev_hash": prev_hash, "hash": digest,
                }  # fmt: skip
                problem = chains.check(event)
                if problem:
                    break
        conn.close()
        problem = problem or chains.compare_heads(heads)
    except Exception as exc:  # the parent must hear of it, not wait forever
        problem = Problem(f"the verifier process failed: {type(exc).__name__}: {exc}")
    out.send((chains.events, len(chains.heads), problem))
    out.close()


def _verify_postgres_parallel(session: Session, public_key: str, parts: int, heads: dict) -> VerifyReport:
    import multiprocessing

    connection = session.connection()
    snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
    upto = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM custody_event").scalar()
    box_ids = dict(session.execute(select(Box.sscc, Box.id).where(Box.chain_length > 0)).all())
    maps = (
        {box_id: sscc for sscc, box_id in box_ids.items()},
        dict(session.execute(select(Site.id, Site.code)).all()),
        dict(session.execute(select(User.id, User.username)).all()),
    )
    url = session.get_bind().url.set(drivername="postgresql").render_as_string(hide_password=False)
    context = multiprocessing.get_context("fork")  # the workers share the maps without copying them over
    workers = []
    for part in range(parts):
        receive, send = context.Pipe(duplex=False)
        mine = {sscc: head for sscc, head in heads.items() if box_ids.get(sscc, -1) % parts == part}
        process = context.Process(
            target=_chain_worker, args=(url, snapshot, upto, part, parts, maps, mine, send), daemon=True
        )
        process.start()
        send.close()
        workers.append((process, receive))

    # Meanwhile, here: every hash in id order into the Merkle tree, checking checkpoints on the way.
    tree = CheckpointChecker(_checkpoint_rows(session), public_key)
    tree_problem = None
    result = connection.exec_driver_sql(
        "SELECT id, hash FROM custody_event WHERE id <= %(upto)s ORDER BY id",
        {"upto": upto},
        execution_options={"stream_results": True, "yield_per": STREAM_CHUNK},
    )
    for event_id, event_hash in result:
        tree_problem = tree.add(event_id, event_hash)
        if tree_problem:
            break
    result.close()
    tree_problem = tree_problem or tree.before(None)

    report = VerifyReport(checkpoints=tree.checked)
    # (id, after) orders problems as one process reading in id order meets them: a checkpoint up to
    # event N is checked after event N itself, so a chain problem at N comes first.
    problems = [((tree_problem.event_id, 1), tree_problem)] if tree_problem else []
    boxes = 0
    for process, receive in workers:
        if not receive.poll(WORKER_TIMEOUT):
            process.kill()
            raise RuntimeError(f"a verifier process gave no answer in {WORKER_TIMEOUT} s")
        events, seen_boxes, problem = receive.recv()
        process.join()
        report.events += events
        boxes += seen_boxes
        if problem:
            problems.append(((problem.event_id, 0) if problem.event_id is not None else (float("inf"), 0), problem))
    if problems:
        order, report.problem = min(problems, key=lambda pair: pair[0])
        if report.problem.event_id is not None:  # and how many events verified before it
            before = "<=" if order[1] else "<"
            report.events = connection.exec_driver_sql(
                f"SELECT count(*) FROM custody_event WHERE id {before} %(id)s", {"id": report.problem.event_id}
            ).scalar()
    else:
        report.boxes = boxes
    return report


class ExportUnreadable(ValueError):
    """An export file that cannot be trusted as a whole: cut off, changed after export, or not a ledger export."""


def _region_clause(dest, region: str):
    return (dest.c.region_code == region) | dest.c.region_code.startswith(region + ".")


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
    stmt = (
        select(
            t.c.id,
            box.c.sscc,
            t.c.box_seq,
            t.c.kind,
            t.c.from_holder,
            t.c.to_holder,
            here.c.code,
            users.c.username,
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
            full.label("full"),
        )
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
    try:
        for row in result.tuples():
            (event_id, sscc, box_seq, kind, from_holder, to_holder, site_code, actor, device_id, device_seq, client_id,
             scanned_at, recorded_at, lat, lon, accuracy, seals, condition, note, witness, handover, prev_hash, digest,
             in_full) = row  # fmt: skip
            if not in_full:
                yield "hash", json.dumps({"type": "hash", "id": event_id, "hash": digest}) + "\n"
                continue
            fields = event_fields(
                sscc=sscc, seq=box_seq, kind=kind, from_holder=from_holder, to_holder=to_holder, site_code=site_code,
                actor=actor, device_id=device_id, device_seq=device_seq, client_id=client_id, scanned_at=scanned_at,
                recorded_at=recorded_at, lat=lat, lon=lon, accuracy=accuracy, seals=seals, condition=condition,
                note=note, witness=witness, handover=handover,
            )  # fmt: skip
            fields.update(type="event", id=event_id, hash=digest, prev_hash=prev_hash)
            yield "event", json.dumps(fields, ensure_ascii=False, sort_keys=True) + "\n"
    finally:
        result.close()  # also when the client went away part-way
    result = session.execute(heads.order_by(box.c.sscc), execution_options=streamed)
    try:
        for sscc, length, head in result.tuples():
            yield "head", json.dumps({"type": "head", "box": sscc, "length": length, "hash": head}) + "\n"
    finally:
        result.close()
    for cp in _checkpoint_rows(session):
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


# Lines read before the events, in the exact form export_lines writes them (any other form is refused).
_READ_FIRST = (b'{"type": "header"', b'{"type": "head"', b'{"type": "checkpoint"')


def _json_line(raw: bytes, number: int) -> dict:
    try:
        item = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        raise ExportUnreadable(f"line {number} is not a JSON object: the file was cut off or damaged") from None
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise ExportUnreadable(f"line {number} is not a line of a Jejak ledger export")
    return item


def _check_end(path: Path) -> tuple[int, bool]:
    """Check the end line against the bytes before it; returns (lines before it, whether line 1 is a header)."""
    digest = hashlib.sha256()
    count, last, header = 0, None, False
    with path.open("rb") as handle:
        for raw in handle:
            if last is not None:
                digest.update(last)
                count += 1
            elif raw.startswith(b'{"type": "header"'):
                header = True
            last = raw
    if last is None:
        raise ExportUnreadable("the file is empty: the download was cut off before it began")
    try:
        end = json.loads(last)
    except ValueError:
        end = None
    if not isinstance(end, dict) or end.get("type") != "end":
        raise ExportUnreadable(
            "the file does not finish with its end line: it was cut off (an interrupted download, or an export "
            "that failed part-way). Download it again."
        )
    if end.get("lines") != count:
        raise ExportUnreadable(f"the end line counts {end.get('lines')} lines before it, the file has {count}")
    if end.get("sha256") != digest.hexdigest():
        raise ExportUnreadable("the SHA-256 of the file differs from its end line: the file was changed after export")
    return count, header


def verify_export(path: Path, public_key: str | None = None) -> VerifyReport:
    """Verify a JSON Lines export offline, against the public key given (or the one in the file).

    Raises ExportUnreadable, before checking any event, when the file is not whole: no end line, or one
    that does not match the lines before it (a cut-off download must never verify), or a line not JSON.
    """
    lines, header_first = _check_end(path)
    if not header_first:
        raise ExportUnreadable("line 1 is not the header of a Jejak ledger export")
    checkpoints: list[dict] = []
    header: dict = {}
    heads: dict[str, tuple[int, str | None]] = {}
    with path.open("rb") as handle:  # first the checkpoints and heads, which the events are checked against
        for number, raw in enumerate(handle, start=1):
            if number > lines:
                break
            if raw.startswith(_READ_FIRST):
                item = _json_line(raw, number)
                kind = item.pop("type")
                if kind == "checkpoint":
                    checkpoints.append(item)
                elif kind == "head":
                    heads[str(item.get("box"))] = (item.get("length"), item.get("hash"))
                elif kind == "header" and number == 1:
                    header.update(item)

    def events() -> Iterator[dict]:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number > lines:
                    return
                item = _json_line(raw, number)
                kind = item.pop("type")
                if kind == "event":
                    yield item
                elif kind == "hash":
                    yield {"id": item.get("id"), "hash": item.get("hash"), "hash_only": True}
                elif kind not in ("header", "head", "checkpoint") or not raw.startswith(_READ_FIRST):
                    raise ExportUnreadable(f"line {number} is not a line of a Jejak ledger export")
                elif kind == "header" and number != 1:
                    raise ExportUnreadable(f"line {number} is a second header")

    report = verify_stream(events(), checkpoints, public_key or header.get("public_key"), heads)
    report.key_from_file = public_key is None
    return report


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
