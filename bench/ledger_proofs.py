"""Benchmark: checkpoints and RFC 9162 proofs over a ledger of 10 million events on PostgreSQL.

    .venv/bin/python bench/ledger_proofs.py postgresql://postgres@127.0.0.1:5432/jejak_bench_ledger

The database is dropped and created again (never point it at one you want to keep), migrated, and Kepulauan
Seribu seeded for one box and one account. Then, in bulk SQL (generate_series; the scan pipeline would take
hours on 2 cores): EVENTS (default 10,000,000) custody events whose hashes are SHA-256 of their id (their
chains are not valid: proofs do not read them), and the stored tree over them, level by level
(ledger_tree_leaf, then each ledger_tree_node level from the one below). make_checkpoint then signs that
tree as it would any other. The tree is checked: its root against MerkleAccumulator over every event hash
streamed from the table (CHECK_ROOT=0 skips that minute), and sampled leaves against merkle_leaf.
SIGNED (default 200) older checkpoints are signed at random sizes, from the stored tree's roots, as the log
would have signed them on the way.

Measured:
- checkpoint cost: ADD (default "1000,10000,10000,100000") new events inserted in bulk, then each time
  make_checkpoint in its own transaction (the table lock, reading the events, their leaves and subtrees,
  signing, commit): the time the ledger's writers wait behind it;
- proof latency, SAMPLES (default 2000) each: inclusion (a random event against the newest or a random
  older signed size) and consistency (two random signed sizes), (a) as service calls in this process
  (checkpoints.inclusion / checkpoints.consistency on one session), (b) over HTTP from one keep-alive
  client to gunicorn (gunicorn.conf.py, 2 workers, the rate limit off), every answer checked with
  verify_inclusion / verify_consistency against the signed roots outside the timing.

The database is dropped at the end; KEEP=1 keeps it, and REUSE=1 measures again on a kept one.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from config import Config, _database_url  # noqa: E402

EVENTS = int(os.environ.get("EVENTS", "10000000"))
SIGNED = int(os.environ.get("SIGNED", "200"))
SAMPLES = int(os.environ.get("SAMPLES", "2000"))
ADD = [int(n) for n in os.environ.get("ADD", "1000,10000,10000,100000").split(",") if n]
CHECK_ROOT = os.environ.get("CHECK_ROOT", "1") != "0"
REUSE = os.environ.get("REUSE") == "1"
KEEP = os.environ.get("KEEP") == "1"
PORT = int(os.environ.get("BENCH_PORT", "8766"))
BENCH_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # the test key: a benchmark signs nothing real
CHUNK = 1_000_000  # events per INSERT ... SELECT generate_series


def bench_config(uri: str) -> type[Config]:
    class Bench(Config):
        SQLALCHEMY_DATABASE_URI = uri
        SECRET_KEY = "bench"
        LEDGER_SIGNING_KEY = BENCH_KEY
        RATELIMIT_ENABLED = False

    return Bench


def http_app():
    """gunicorn's factory (`bench.ledger_proofs:http_app()`): the app on BENCH_DATABASE_URL, no rate limit."""
    from webapp import create_app

    return create_app(bench_config(os.environ["BENCH_DATABASE_URL"]))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> str:
    return (
        f"p50 {pct(ms, 50):.2f} ms, p99 {pct(ms, 99):.2f} ms, max {max(ms):.2f} ms, mean {statistics.mean(ms):.2f} ms"
    )


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - started:,.1f} s", flush=True)
    return now


def fresh_database(arg: str, reuse: bool = REUSE) -> str:
    """The database of `arg` dropped and created again (kept as it is with `reuse`, when it exists)."""
    url = make_url(_database_url(arg))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).first()
        if not (reuse and exists):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def drop_database(uri: str) -> None:
    url = make_url(uri)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def insert_events(session, first: int, last: int, box_id: int | list[int], actor_id: int) -> None:
    """Events first..last (ids), in bulk: hash = SHA-256 of the id's 8 bytes, as hex; all on box_id, or
    spread over a list of boxes (event i on the (i mod len)-th)."""
    boxes = [box_id] if isinstance(box_id, int) else list(box_id)
    for start in range(first, last + 1, CHUNK):
        session.execute(
            text(
                """
                INSERT INTO custody_event (id, client_id, box_id, box_seq, kind, actor_id, device_id, device_seq,
                    scanned_at, recorded_at, seals, prev_hash, hash)
                SELECT i, md5(i::text)::uuid::text, (CAST(:boxes AS integer[]))[(1 + i % :n)::integer], i,
                    'inspect', :actor, 'bench', i,
                    now(), now(), '[]', repeat('0', 64), encode(sha256(int8send(i)), 'hex')
                FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS i
                """
            ),
            {"a": start, "b": min(last, start + CHUNK - 1), "boxes": boxes, "n": len(boxes), "actor": actor_id},
        )
        session.commit()
    session.execute(text("SELECT setval(pg_get_serial_sequence('custody_event', 'id'), :n)"), {"n": last})
    session.commit()


def build_tree(session, size: int) -> None:
    """The stored tree over events 1..size in bulk SQL: the leaves, then each level from the one below."""
    for start in range(1, size + 1, CHUNK):
        session.execute(
            text(
                "INSERT INTO ledger_tree_leaf (leaf_index, event_id, hash) "
                "SELECT id - 1, id, sha256('\\x00'::bytea || decode(hash, 'hex')) FROM custody_event "
                "WHERE id BETWEEN :a AND :b"
            ),
            {"a": start, "b": min(size, start + CHUNK - 1)},
        )
        session.commit()
    below, count = "SELECT leaf_index AS idx, hash FROM ledger_tree_leaf", size
    level = 1
    while count >= 2:
        session.execute(
            text(
                f"INSERT INTO ledger_tree_node (level, idx, hash) "
                f"SELECT :level, l.idx / 2, sha256('\\x01'::bytea || l.hash || r.hash) "
                f"FROM ({below}) AS l JOIN ({below}) AS r ON r.idx = l.idx + 1 WHERE l.idx % 2 = 0"
            ),
            {"level": level},
        )
        session.commit()
        below = f"SELECT idx, hash FROM ledger_tree_node WHERE level = {level}"
        count //= 2
        level += 1
    session.execute(text("ANALYZE"))
    session.commit()


def check_tree(session, size: int) -> None:
    """The SQL-built tree is the one make_checkpoint would build: sampled leaves, and (CHECK_ROOT) the root
    against MerkleAccumulator over every event hash in id order."""
    from webapp.custody import tree
    from webapp.custody.ledger import MerkleAccumulator, merkle_leaf
    from webapp.custody.models import CustodyEvent

    rng = random.Random(1)
    for event_id in rng.sample(range(1, size + 1), 50):
        event_hash = session.scalar(select(CustodyEvent.hash).where(CustodyEvent.id == event_id))
        assert tree.event_leaf(session, event_id) == (event_id - 1, merkle_leaf(event_hash))
    if not CHECK_ROOT:
        return
    accumulator = MerkleAccumulator()
    result = session.execute(
        select(CustodyEvent.hash).where(CustodyEvent.id <= size).order_by(CustodyEvent.id),
        execution_options={"stream_results": True, "yield_per": 100_000},
    )
    for (event_hash,) in result:
        accumulator.add(event_hash)
    assert accumulator.count == size
    assert accumulator.root() == tree.root_at(session, size).hex(), "the SQL-built tree is not the ledger's tree"
    session.rollback()


def build(uri: str) -> None:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.auth.services import create_user, resolve_scope
    from webapp.boxes.models import Box
    from webapp.custody.checkpoints import make_checkpoint, signed_tree, signing_key
    from webapp.custody.models import LedgerCheckpoint
    from webapp.custody.tree import peaks, read_hashes, root_at
    from webapp.extensions import db
    from webapp.geo.seed import seed_region
    from webapp.geo.services import import_regions

    app = create_app(bench_config(uri))
    with app.app_context():
        session = db.session
        started = time.perf_counter()
        upgrade()
        import_regions(session)
        seed_region(session, "31.01", app.config)
        user = create_user(
            session, username="bench", role="warehouse", scope=resolve_scope(session, "KPU-3101"), password="x" * 12
        )
        box_id = session.scalar(select(Box.id).order_by(Box.id).limit(1))
        session.commit()
        started = step("migrated and seeded", started)
        insert_events(session, 1, EVENTS, box_id, user.id)
        started = step(f"{EVENTS:,} events inserted (bulk SQL)", started)
        build_tree(session, EVENTS)
        started = step("stored tree built (bulk SQL)", started)
        check_tree(session, EVENTS)
        started = step("tree checked" + (" (root recomputed in Python)" if CHECK_ROOT else ""), started)
        key = signing_key(app.config)
        newest = make_checkpoint(session, key)
        session.commit()
        assert newest is not None and newest.size == EVENTS
        rng = random.Random(2)
        for size in sorted(rng.sample(range(1, EVENTS), SIGNED)):
            known = read_hashes(session, peaks(size))
            session.add(
                signed_tree(
                    key,
                    key.origin,
                    size,
                    size,  # event ids are 1..EVENTS: the size-th event has id size
                    root_at(session, size),
                    [[1 << level, known[(level, idx)].hex()] for level, idx in peaks(size)],
                    datetime.now(UTC),
                )
            )
        session.commit()
        count = session.scalar(select(func.count()).select_from(LedgerCheckpoint))
        step(f"newest checkpoint signed, and {count - 1} older ones", started)
        db.engine.dispose()


def checkpoint_cost(uri: str) -> list[dict]:
    """Add events in bulk, then time make_checkpoint over them, each in its own transaction."""
    from webapp import create_app
    from webapp.core.database import in_transaction
    from webapp.custody.checkpoints import make_checkpoint, signing_key
    from webapp.custody.models import CustodyEvent
    from webapp.extensions import db

    app = create_app(bench_config(uri))
    found = []
    with app.app_context():
        session = db.session
        key = signing_key(app.config)
        box_id, actor_id = session.execute(select(CustodyEvent.box_id, CustodyEvent.actor_id).limit(1)).one()
        for added in ADD:
            newest = session.scalar(select(func.max(CustodyEvent.id)))
            insert_events(session, newest + 1, newest + added, box_id, actor_id)
            session.execute(text("ANALYZE custody_event"))
            session.commit()
            started = time.perf_counter()
            checkpoint = in_transaction(lambda: make_checkpoint(db.session, key))
            elapsed = time.perf_counter() - started
            assert checkpoint.size == newest + added
            found.append({"added": added, "size": checkpoint.size, "seconds": elapsed})
            print(f"  +{added:,} leaves to {checkpoint.size:,}: {elapsed:.2f} s ({added / elapsed:,.0f} leaves/s)")
        db.engine.dispose()
    return found


def signed_sizes(session) -> list[tuple[int, bytes]]:
    from webapp.custody.models import LedgerCheckpoint

    rows = session.execute(
        select(LedgerCheckpoint.event_count, LedgerCheckpoint.root)
        .where(LedgerCheckpoint.note.is_not(None))
        .order_by(LedgerCheckpoint.event_count)
    )
    return [(size, bytes.fromhex(root)) for size, root in rows]


def queries(sizes: list[tuple[int, bytes]], rng: random.Random) -> list[tuple[str, dict]]:
    """SAMPLES inclusion and SAMPLES consistency questions, interleaved: half the inclusions against the
    newest size, half against a random older one."""
    newest = sizes[-1][0]
    asked = []
    for n in range(SAMPLES):
        size = newest if n % 2 == 0 else rng.choice(sizes)[0]
        asked.append(("inclusion", {"event": rng.randint(1, size), "size": size}))
        first, second = sorted(rng.sample(sizes, 2))
        asked.append(("consistency", {"from": first[0], "to": second[0]}))
    return asked


def check(kind: str, question: dict, answer: dict, roots: dict[int, bytes]) -> None:
    from webapp.custody.ledger import merkle_leaf
    from webapp.custody.proofs import verify_consistency, verify_inclusion

    path = [base64.b64decode(p) for p in answer["proof"]]
    if kind == "inclusion":
        leaf = merkle_leaf(hashlib.sha256(int(question["event"]).to_bytes(8, "big")).hexdigest())
        assert base64.b64decode(answer["leaf_hash"]) == leaf
        verify_inclusion(leaf, answer["leaf_index"], question["size"], path, roots[question["size"]])
    else:
        verify_consistency(question["from"], question["to"], path, roots[question["from"]], roots[question["to"]])


def service_latency(uri: str) -> dict[str, list[float]]:
    from webapp import create_app
    from webapp.custody.checkpoints import consistency, inclusion
    from webapp.extensions import db

    app = create_app(bench_config(uri))
    times: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    with app.app_context():
        session = db.session
        sizes = signed_sizes(session)
        roots = dict(sizes)
        for kind, question in queries(sizes, random.Random(3)):
            started = time.perf_counter()
            if kind == "inclusion":
                answer = inclusion(session, question["event"], question["size"]).json()
            else:
                path = consistency(session, question["from"], question["to"])[2]
                answer = {"proof": [base64.b64encode(p).decode() for p in path]}
            times[kind].append((time.perf_counter() - started) * 1000)
            session.rollback()  # each call on its own, as a request would be
            check(kind, question, answer, roots)
        db.engine.dispose()
    return times


def http_latency(uri: str) -> dict[str, list[float]]:
    from bench.common import wait_for_server

    env = {**os.environ, "BENCH_DATABASE_URL": uri, "JEJAK_ENV": "development"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "bench.ledger_proofs:http_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    times: dict[str, list[float]] = {"inclusion": [], "consistency": []}
    try:
        wait_for_server(PORT)
        engine = create_engine(uri)
        with engine.connect() as conn:
            from sqlalchemy.orm import Session

            sizes = signed_sizes(Session(bind=conn))
        engine.dispose()
        roots = dict(sizes)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        for _ in range(20):  # the workers' first requests open their connections
            conn.request("GET", "/api/v1/ledger/proof/inclusion?event=1")
            conn.getresponse().read()
        for kind, question in queries(sizes, random.Random(4)):
            query = "&".join(f"{name}={value}" for name, value in question.items())
            started = time.perf_counter()
            conn.request("GET", f"/api/v1/ledger/proof/{kind}?{query}")
            response = conn.getresponse()
            body = response.read()
            times[kind].append((time.perf_counter() - started) * 1000)
            assert response.status == 200, (kind, question, response.status, body[:200])
            check(kind, question, json.loads(body), roots)
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


def sizes_on_disk(uri: str) -> None:
    engine = create_engine(uri)
    with engine.connect() as conn:
        for table in ("custody_event", "ledger_tree_leaf", "ledger_tree_node", "ledger_checkpoint"):
            rows = conn.scalar(text(f"SELECT count(*) FROM {table}"))
            size = conn.scalar(text("SELECT pg_size_pretty(pg_total_relation_size(:t))"), {"t": table})
            print(f"  {table}: {rows:,} rows, {size} with its indexes")
    engine.dispose()


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/jejak_bench_ledger"
    if not arg.startswith(("postgres://", "postgresql")):
        raise SystemExit("a PostgreSQL URL, please: the benchmark builds its ledger in PostgreSQL's bulk SQL")
    uri = fresh_database(arg)
    print(f"Ledger of {EVENTS:,} events on {make_url(uri).render_as_string(hide_password=True)}", flush=True)
    try:
        if not REUSE:
            build(uri)
        sizes_on_disk(uri)
        print("Checkpoint cost (make_checkpoint, own transaction):", flush=True)
        checkpoint_cost(uri)
        print(f"Proof latency, service calls in-process ({SAMPLES:,} of each, every answer verified):", flush=True)
        for kind, ms in service_latency(uri).items():
            print(f"  {kind}: {summary(ms)}", flush=True)
        print(f"Proof latency over HTTP, gunicorn 2 workers, one keep-alive client ({SAMPLES:,} of each):", flush=True)
        for kind, ms in http_latency(uri).items():
            print(f"  {kind}: {summary(ms)}", flush=True)
    finally:
        if not KEEP:
            drop_database(uri)


if __name__ == "__main__":
    main()
