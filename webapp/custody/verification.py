"""Verification of the whole ledger: from the database (in one snapshot, in parallel on PostgreSQL) or
from an export file offline; and of one box's chain."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.exceptions import JejakError
from webapp.custody import event
from webapp.custody.checkpoints import checkpoint_rows
from webapp.custody.ledger import (
    GENESIS,
    ChainChecker,
    CheckpointChecker,
    Problem,
    VerifyReport,
    canonical_event,
    chain_hash,
    verify_stream,
)
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site

STREAM_CHUNK = 20_000
MAX_VERIFY_PROCESSES = 8  # each holds one database connection while it runs
WORKER_TIMEOUT = 6 * 3600  # seconds a verifier process may take (a national ledger is far less)


def _event_rows(session: Session) -> Iterator[dict]:
    """Every event in id order, as its full view (the hashed fields plus id, hash and prev_hash), streamed."""
    refs = (
        dict(session.execute(select(Box.id, Box.sscc).where(Box.chain_length > 0)).all()),
        dict(session.execute(select(Site.id, Site.code)).all()),
        dict(session.execute(select(User.id, User.username)).all()),
    )
    t = CustodyEvent.__table__
    stmt = select(*(t.c[name] for name in event.READ_COLUMNS)).order_by(t.c.id)
    result = session.execute(stmt, execution_options={"stream_results": True, "yield_per": STREAM_CHUNK})
    read = event.from_row
    try:
        yield from (read(row, *refs) for row in result.tuples())
    finally:
        result.close()  # also when the verifier stops early at a broken link


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
            return verify_stream(rows, checkpoint_rows(session), public_key, heads)
        finally:
            rows.close()  # closes the server-side cursor when verification stopped at a broken link
    finally:
        if owned:
            session.rollback()


# The stored columns as the canonical encoding writes them, formatted by PostgreSQL (faster than Python):
# timestamps in UTC with milliseconds truncated (as utc_text does), coordinates and seals as text.
_SQL_TEXT = {
    "time": """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')""",
    "coordinate": "{}::text",
    "list": "{}::text",
}
_CHAIN_SQL = (
    "SELECT "
    + ", ".join(
        _SQL_TEXT.get(event.BY_COLUMN[column].encoding if column in event.BY_COLUMN else "", "{}").format(column)
        for column in event.READ_COLUMNS
    )
    + " FROM custody_event WHERE id <= %(upto)s AND box_id %% %(parts)s = %(part)s ORDER BY id"
)
# What comes back as text needs no more encoding; the seals' JSON text becomes a list again.
_read_text_row = event.reader(named=False, decoders={"list": lambda text: [] if text == "[]" else json.loads(text)})


def _snapshot_connection(url: str, snapshot: str):
    import psycopg
    import psycopg.sql

    conn = psycopg.connect(url, autocommit=True)  # the transaction below is ours, begun explicitly
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    conn.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot)))
    return conn


def _chain_worker(url: str, snapshot: str, upto: int, part: int, parts: int, maps: tuple, heads: dict, out) -> None:
    """A worker process: check the chains of boxes with id % parts == part; send back (count, problem)."""
    chains = ChainChecker()
    problem = None
    try:
        conn = _snapshot_connection(url, snapshot)
        with conn.cursor(name="jejak_verify") as cursor:
            cursor.itersize = STREAM_CHUNK
            cursor.execute(_CHAIN_SQL, {"upto": upto, "parts": parts, "part": part})
            for row in cursor:
                problem = chains.check(_read_text_row(row, *maps))
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

    tree_problem, checked = _check_tree(session, connection, public_key, upto)
    return _gather(connection, workers, tree_problem, checked)


def _check_tree(session: Session, connection, public_key: str, upto: int) -> tuple[Problem | None, int]:
    """Every hash in id order into the Merkle tree, checking checkpoints on the way (while the workers
    check the chains)."""
    tree = CheckpointChecker(checkpoint_rows(session), public_key)
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
    return tree_problem or tree.before(None), tree.checked


def _gather(connection, workers: list, tree_problem: Problem | None, checked: int) -> VerifyReport:
    """The workers' answers and the tree's, as one report naming the first problem in id order."""
    report = VerifyReport(checkpoints=checked)
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


class ExportUnreadable(JejakError):
    """An export file that cannot be trusted as a whole: cut off, changed after export, or not a ledger export."""


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
    t = CustodyEvent.__table__
    rows = session.execute(
        select(*(t.c[name] for name in event.READ_COLUMNS)).where(t.c.box_id == box.id).order_by(t.c.box_seq)
    ).tuples()
    refs = (
        {box.id: box.sscc},
        dict(
            session.execute(
                select(Site.id, Site.code).join(t, t.c.site_id == Site.id).where(t.c.box_id == box.id)
            ).all()
        ),
        dict(
            session.execute(
                select(User.id, User.username).join(t, t.c.actor_id == User.id).where(t.c.box_id == box.id)
            ).all()
        ),
    )
    for row in rows:
        view = event.from_row(row, *refs)
        seq += 1
        if view["seq"] != seq or view["prev_hash"] != head or chain_hash(head, canonical_event(view)) != view["hash"]:
            return False
        head = view["hash"]
    return (box.chain_length, box.chain_head) == (seq, head if seq else None)
