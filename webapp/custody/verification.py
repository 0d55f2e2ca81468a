"""Verification of the whole ledger: from the database (in one snapshot, in parallel on PostgreSQL) or
from an export file offline; and of one box's chain."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.exceptions import JejakError
from webapp.custody import event, notes, proofs
from webapp.custody.checkpoints import checkpoint_rows
from webapp.custody.export import FORMAT_VERSION, STREAM_CHUNK
from webapp.custody.ledger import (
    GENESIS,
    ChainChecker,
    CheckpointChecker,
    Problem,
    VerifyReport,
    canonical_event,
    chain_hash,
    merkle_leaf,
    verify_stream,
)
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site

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


def verify_database(
    session: Session, public_key: str, processes: int | None = None, origin: str | None = None
) -> VerifyReport:
    """Recompute every box's chain and every checkpoint (root and signature) from the database.

    A session of its own (bound to the engine) reads everything in one snapshot, so that scans going
    on meanwhile never look like tampering. On PostgreSQL the chains are then checked by `processes`
    worker processes (default: one per core), each taking the boxes whose id falls to it, while this
    process recomputes the Merkle tree over all event hashes in id order; all of them read the same
    exported snapshot. Elsewhere, with processes=1, or inside a caller's transaction (a session bound
    to a connection), one process reads the ledger as that transaction sees it. Each checkpoint's signed
    note is checked with `public_key` (and must name the log `origin`, when given), as is its older JSON
    signature.
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
            return _verify_postgres_parallel(session, public_key, processes, heads, origin)
        rows = _event_rows(session)
        try:
            return verify_stream(rows, checkpoint_rows(session), public_key, heads, origin=origin)
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


def _verify_postgres_parallel(session: Session, public_key: str, parts: int, heads: dict, origin) -> VerifyReport:
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

    tree_problem, checked = _check_tree(session, connection, public_key, upto, origin)
    return _gather(connection, workers, tree_problem, checked)


def _check_tree(session: Session, connection, public_key: str, upto: int, origin) -> tuple[Problem | None, int]:
    """Every hash in id order into the Merkle tree, checking checkpoints on the way (while the workers
    check the chains)."""
    tree = CheckpointChecker(checkpoint_rows(session), public_key, origin)
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


class ExportRefused(JejakError):
    """An export that is whole but cannot be verified as the log's: no key to check it with, no signed
    checkpoint, a checkpoint that does not verify, events left unsigned too long, a missing head."""


LINE_TYPES = ("header", "event", "inclusion", "head", "checkpoint", "consistency", "end")
REGION_ONLY = ("inclusion", "consistency")  # proofs against one checkpoint: a region's file, not the whole ledger


@dataclass
class ExportReport(VerifyReport):
    """What verifying an export saw, beyond the chains and the tree."""

    newest_size: int = 0
    witnesses: list[str] = field(default_factory=list)  # names of witnesses whose cosignature verified
    unverified_cosignatures: int = 0  # signatures on the newest checkpoint by keys not given
    uncovered: int = 0  # events after the newest checkpoint
    oldest_uncovered_age: float | None = None  # seconds from the oldest of them to the export
    trusted_size: int | None = None
    region: str | None = None  # a region's file: its events proven in the newest checkpoint one by one
    proven: int = 0  # events of a region's file whose inclusion proof verified


def _canonical_line(item) -> bytes:
    return (json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")


def _values(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, value) of every non-blank line, read with json.loads whatever its serialisation."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (ValueError, RecursionError):  # not JSON, or not UTF-8
                raise ExportUnreadable(f"line {number} is not a JSON object: the file was cut off or damaged") from None
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise ExportUnreadable(f"line {number} is not a line of a Jejak ledger export (no type)")
            if item["type"] not in LINE_TYPES:
                raise ExportUnreadable(f"line {number} has an unknown line type {item['type'][:40]!r}")
            yield number, item


def log_verifier_from(public_key: str | None, header: dict, trust_file_key: bool) -> notes.Verifier:
    """The log's key: --public-key as a vkey (NAME+ID+KEY) or raw base64 (named by the file's origin), or,
    only when asked explicitly, the vkey the file carries."""
    try:
        if public_key:
            if re.match(r"[^+\s]+\+[0-9a-f]{8}\+", public_key.strip()):  # NAME+ID+KEY; raw base64 may hold "+"
                verifier = notes.Verifier.from_vkey(public_key)
            else:
                raw = base64.b64decode(public_key.strip(), validate=True)
                if len(raw) != 32:
                    raise notes.NoteError("a raw public key is base64 of 32 bytes")
                verifier = notes.Verifier(str(header.get("origin") or ""), notes.ED25519, raw)
                notes.Verifier.from_vkey(verifier.vkey)  # the origin must be a valid key name
        elif trust_file_key:
            verifier = notes.Verifier.from_vkey(str(header.get("vkey") or ""))
        else:
            raise ExportRefused(
                "no public key given: pass the log's key with --public-key (GET /api/v1/ledger/key), or "
                "--trust-file-key to use the one written in the file (a forger would write their own)"
            )
    except (notes.NoteError, ValueError) as exc:
        raise ExportRefused(f"the public key is not usable: {exc}") from None
    if verifier.kind != notes.ED25519:
        raise ExportRefused("the public key is not the log's key (its type must be 0x01, Ed25519)")
    return verifier


def _open_checkpoint(note, log: notes.Verifier, witnesses: tuple, what: str) -> tuple[notes.Checkpoint, list, int]:
    """(checkpoint, verified witness cosignatures, count of other signatures) of a signed note."""
    try:
        text, cosigned = notes.open_note(note, log, witnesses)
        checkpoint = notes.Checkpoint.parse(text)
        others = len(notes.split_note(note)[1]) - 1 - len(cosigned)
    except notes.NoteError as exc:
        raise ExportRefused(f"{what}: its signed note does not verify with the log's key: {exc}") from None
    if checkpoint.origin != log.name:
        raise ExportRefused(f"{what} names the log {checkpoint.origin!r}, the key is {log.name!r}")
    return checkpoint, cosigned, others


def _time(text, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ExportRefused(f"{what} is not a time: {str(text)[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class _Whole:
    """What the first pass read: the header, the boxes' heads, the checkpoint and consistency lines."""

    header: dict
    heads: dict[str, tuple[int, str | None]]
    checkpoints: list[tuple[int, dict]]
    consistency: list[tuple[int, dict]]


def _read_whole(path: Path) -> _Whole:
    """First pass: the file is whole (one header first, an end line last that counts and hashes the lines
    before it) and of this format; its header, the boxes' heads, the checkpoint and consistency lines."""
    header: dict = {}
    heads: dict[str, tuple[int, str | None]] = {}
    checkpoint_lines: list[tuple[int, dict]] = []
    consistency_lines: list[tuple[int, dict]] = []
    digest, count, end = hashlib.sha256(), 0, None
    for number, item in _values(path):
        kind = item["type"]
        if end is not None:
            raise ExportUnreadable(f"line {number} follows the end line")
        if count == 0 and kind != "header":
            raise ExportUnreadable(f"line {number} is not the header of a Jejak ledger export")
        if kind == "end":
            end = item
            continue
        if kind == "header" and count:
            raise ExportUnreadable(f"line {number} is a second header")
        digest.update(_canonical_line(item))
        count += 1
        if kind == "header":
            header = item
        elif kind == "head":
            sscc = str(item.get("box"))
            if sscc in heads:
                raise ExportRefused(f"line {number} is a second head for box {sscc}")
            heads[sscc] = (item.get("length"), item.get("hash"))
        elif kind == "checkpoint":
            checkpoint_lines.append((number, item))
        elif kind == "consistency":
            consistency_lines.append((number, item))
        if kind in REGION_ONLY and "region" not in header:
            raise ExportRefused(f"line {number} is a proof line ({kind}); only a region's file carries them")
    if end is None:
        raise ExportUnreadable(
            "the file does not finish with its end line: it was cut off (an interrupted download, or an export "
            "that failed part-way). Download it again."
            if count
            else "the file is empty: the download was cut off before it began"
        )
    if end.get("lines") != count:
        raise ExportUnreadable(f"the end line counts {end.get('lines')} lines before it, the file has {count}")
    if end.get("sha256") != digest.hexdigest():
        raise ExportUnreadable("the SHA-256 of the file differs from its end line: the file was changed after export")
    if header.get("format") != "jejak-ledger" or header.get("v") != FORMAT_VERSION:
        raise ExportRefused(
            f"the header says format {header.get('format')!r} version {header.get('v')!r}; this verifier reads "
            f"jejak-ledger version {FORMAT_VERSION}: export the ledger again"
        )
    if "region" in header and len(checkpoint_lines) != 1:
        raise ExportRefused(
            f"a region's file carries one signed checkpoint, the one its proofs are against; this one has "
            f"{len(checkpoint_lines)}"
        )
    return _Whole(header, heads, checkpoint_lines, consistency_lines)


def _signed_checkpoints(checkpoint_lines: list[tuple[int, dict]], log, witnesses) -> tuple[dict[int, dict], tuple]:
    """Every checkpoint line's note opened with the log's key (and the witnesses'), by tree size; and the
    newest as (checkpoint, its witnesses' cosignatures, the count of unverified ones)."""
    checkpoints: dict[int, dict] = {}
    newest: tuple = ()
    for number, item in checkpoint_lines:
        what = f"the checkpoint on line {number}"
        checkpoint, cosigned, others = _open_checkpoint(item.get("note"), log, witnesses, what)
        root = checkpoint.root.hex()
        for name, value in (("size", checkpoint.size), ("event_count", checkpoint.size), ("root", root)):
            if name in item and item[name] != value:
                raise ExportRefused(f"{what}: its {name} is not the one its signed note gives")
        known = checkpoints.get(checkpoint.size)
        if known is not None and known["root"] != root:
            raise ExportRefused(
                f"two signed checkpoints of {checkpoint.size} events with different roots: a split view"
            )
        upto = item.get("upto_event_id")
        checkpoints[checkpoint.size] = {
            "event_count": checkpoint.size,
            "root": root,
            "upto_event_id": upto if isinstance(upto, int) else None,
            "label": f"the signed checkpoint of {checkpoint.size} events",
        }
        if not newest or checkpoint.size > newest[0].size:
            newest = (checkpoint, cosigned, others)
    if not newest:
        raise ExportRefused("the file holds no signed checkpoint: nothing in it is signed by the log")
    return checkpoints, newest


def _uncovered(uncovered: dict, number: int, item: dict) -> None:
    """Count an event no signed checkpoint covers, and keep the oldest time among them."""
    uncovered["count"] += 1
    recorded = _time(item.get("recorded_at"), f"line {number}'s recorded_at")
    if uncovered["oldest"] is None or recorded < uncovered["oldest"]:
        uncovered["oldest"] = recorded


def _export_events(path: Path, newest_size: int, uncovered: dict) -> Iterator[dict]:
    """Second pass over the whole ledger's file: the events in file order for verify_stream (which rebuilds
    the tree and checks every checkpoint), counting those past the newest checkpoint into `uncovered`."""
    leaves = 0
    for number, item in _values(path):
        if item.pop("type") != "event":
            continue
        leaves += 1
        if leaves > newest_size:
            _uncovered(uncovered, number, item)
        yield item


def _b64_hashes(values, what: str) -> list[bytes]:
    try:
        if not isinstance(values, list):
            raise ValueError
        hashes = [base64.b64decode(value, validate=True) for value in values]
    except (ValueError, TypeError):
        raise ExportRefused(f"{what} is not a list of base64 hashes") from None
    if any(len(digest) != 32 for digest in hashes):
        raise ExportRefused(f"{what} holds a hash that is not 32 bytes")
    return hashes


def _check_inclusion(number: int, proof: dict, event: dict, anchor: notes.Checkpoint, last_index: int) -> int:
    """An inclusion line against the region file's checkpoint: for the event line before it, a leaf index
    after the previous one's, the leaf hash of the event's hash, a proof to the signed root. Its index."""
    what = f"the inclusion proof on line {number}"
    index = proof.get("leaf_index")
    if proof.get("event") != event.get("id"):
        raise ExportRefused(
            f"{what} is for event {proof.get('event')!r}, the line before it is event {event.get('id')!r}"
        )
    if proof.get("tree_size") != anchor.size:
        raise ExportRefused(
            f"{what} is against a tree of {proof.get('tree_size')!r}, the checkpoint's is {anchor.size}"
        )
    if not isinstance(index, int) or index <= last_index:
        raise ExportRefused(f"{what}: its leaf index {index!r} is not after the previous event's ({last_index})")
    try:
        leaf = merkle_leaf(str(event.get("hash")))
    except ValueError:
        raise ExportRefused(f"{what}: the event's hash is not hex") from None
    if _b64_hashes([proof.get("leaf_hash")], f"{what}'s leaf_hash") != [leaf]:
        raise ExportRefused(f"{what}: its leaf hash is not the leaf of event {event.get('id')}'s hash")
    try:
        proofs.verify_inclusion(leaf, index, anchor.size, _b64_hashes(proof.get("proof"), what), anchor.root)
    except proofs.ProofError as exc:
        raise ExportRefused(
            f"event {event.get('id')} is not in the signed checkpoint of {anchor.size} events ({exc}): "
            "it was altered, or added after signing"
        ) from None
    return index


def _region_events(path: Path, anchor: notes.Checkpoint, uncovered: dict) -> Iterator[dict]:
    """Second pass over a region's file: each event line, with the inclusion line that follows it checked
    against the signed checkpoint. An event without one must be newer than the checkpoint (counted in
    `uncovered`, as are all after it): an event proven after one that is not was hidden from the proofs."""
    held: tuple[int, dict] | None = None  # an event line waiting for its inclusion line
    last_index = -1

    def unproven(number: int, event: dict) -> dict:
        _uncovered(uncovered, number, event)
        return event

    for number, item in _values(path):
        kind = item.pop("type")
        if kind == "inclusion":
            if held is None:
                raise ExportRefused(f"line {number} is an inclusion proof that follows no event line")
            if uncovered["count"]:
                raise ExportRefused(
                    f"line {number} proves event {item.get('event')!r}, but an earlier event has no proof: every "
                    "event up to the checkpoint must be proven"
                )
            last_index = _check_inclusion(number, item, held[1], anchor, last_index)
            yield held[1]
            held = None
            continue
        if held is not None:
            yield unproven(*held)
            held = None
        if kind == "event":
            held = (number, item)
    if held is not None:
        yield unproven(*held)


def _check_trusted_in_region(whole: _Whole, anchor: notes.Checkpoint, trusted: notes.Checkpoint) -> None:
    """The reader's trusted checkpoint against a region file's: the same tree, or a consistency line
    proving it a prefix of the file's."""
    if trusted.size > anchor.size:
        raise ExportRefused(
            f"your trusted checkpoint of {trusted.size} events is newer than this file's ({anchor.size}): the file "
            "is older than what you saw, or the log went back; export again"
        )
    if trusted.size == anchor.size:
        if trusted.root != anchor.root:
            raise ExportRefused(
                f"your trusted checkpoint and this file's both have {anchor.size} events, with different roots: a split view"
            )
        return
    lines = [
        item for _, item in whole.consistency if item.get("from") == trusted.size and item.get("to") == anchor.size
    ]
    if not lines:
        raise ExportRefused(
            f"the file has no consistency proof from your trusted checkpoint of {trusted.size} events: export it "
            f"again with since={trusted.size} (flask ledger export --since, or ?since= on the download)"
        )
    path = _b64_hashes(lines[0].get("proof"), "the consistency proof")
    try:
        proofs.verify_consistency(trusted.size, anchor.size, path, trusted.root, anchor.root)
    except proofs.ProofError as exc:
        raise ExportRefused(
            f"the file's checkpoint of {anchor.size} events does not extend your trusted checkpoint of "
            f"{trusted.size} ({exc}): history was rewritten"
        ) from None


def _check_delay(report: ExportReport, header: dict, max_delay: float | None) -> None:
    """Events left unsigned for longer than the maximum delay (the smaller of the header's and ours) refuse
    the file: a log that signs on time has none."""
    if not report.ok or report.oldest_uncovered_age is None:
        return
    limit = float(max_delay if max_delay is not None else 60)
    if isinstance(header.get("max_delay"), int | float):
        limit = min(limit, float(header["max_delay"]))
    if report.oldest_uncovered_age > limit:
        raise ExportRefused(
            f"{report.uncovered} events are not covered by a signed checkpoint; the oldest was recorded "
            f"{report.oldest_uncovered_age:.0f} s before the export (the maximum delay is {limit:.0f} s)"
        )


def verify_export(
    path: Path,
    public_key: str | None = None,
    *,
    trust_file_key: bool = False,
    trusted_checkpoint: str | None = None,
    witness_keys: tuple[str, ...] = (),
    max_delay: float | None = None,
) -> ExportReport:
    """Verify a JSON Lines export offline (docs/ledger.md, section 5), failing closed.

    Raises ExportUnreadable when the file is not whole (no end line, or one that does not match the values
    before it, a line not JSON, an unknown line type) and ExportRefused when it cannot be verified as the
    log's (no key, no signed checkpoint, a note that does not verify, a box with events and no head, events
    unsigned for longer than the maximum delay, a trusted checkpoint it contradicts); otherwise the report
    names the first broken link, if any.
    """
    whole = _read_whole(path)
    header = whole.header
    exported_at = _time(header.get("exported_at"), "the header's exported_at")
    log = log_verifier_from(public_key, header, trust_file_key)
    try:
        witnesses = tuple(notes.Verifier.from_vkey(vkey) for vkey in witness_keys)
    except notes.NoteError as exc:
        raise ExportRefused(f"a witness key is not usable: {exc}") from None
    checkpoints, newest = _signed_checkpoints(whole.checkpoints, log, witnesses)
    anchor = newest[0]
    report = ExportReport(key_from_file=not public_key, newest_size=anchor.size, region=header.get("region"))
    report.witnesses = [verifier.name for verifier, _ in newest[1]]
    report.unverified_cosignatures = newest[2]
    pending = list(checkpoints.values())
    uncovered = {"count": 0, "oldest": None}
    if "region" in header:
        pending = []  # the checkpoint is checked through each event's inclusion proof instead
        events = _region_events(path, anchor, uncovered)
    else:
        events = _export_events(path, anchor.size, uncovered)
    if trusted_checkpoint is not None:
        trusted, _, _ = _open_checkpoint(trusted_checkpoint, log, (), "the trusted checkpoint")
        report.trusted_size = trusted.size
        if "region" in header:
            _check_trusted_in_region(whole, anchor, trusted)
        else:
            label = f"your trusted checkpoint of {trusted.size} events"
            pending.append({"event_count": trusted.size, "root": trusted.root.hex(), "label": label})
    base = verify_stream(events, pending, None, whole.heads, every_head=True)
    for name in ("events", "boxes", "checkpoints", "problem"):
        setattr(report, name, getattr(base, name))
    if "region" in header and report.ok:
        report.checkpoints = 1
        report.proven = report.events - uncovered["count"]
    report.uncovered = uncovered["count"]
    if uncovered["oldest"] is not None:
        report.oldest_uncovered_age = (exported_at - uncovered["oldest"]).total_seconds()
    _check_delay(report, header, max_delay)
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
