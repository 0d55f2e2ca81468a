"""Benchmark: scan ingest behind gunicorn, against the floor of the same app, on PostgreSQL or SQLite.

    .venv/bin/python bench/scan_ingest.py postgresql://postgres@127.0.0.1:5432/jejak_bench
    .venv/bin/python bench/scan_ingest.py sqlite

In one run, on a fresh database with Jakarta Timur seeded and 5,000 boxes labelled at KPU-3175:
  (a) POST /api/v1/_bench/floor: the raw INSERT of one event + box UPDATE + COMMIT, same app and auth;
  (b) POST /api/v1/scans: one real scan (an inspection: every rule, the lock, the hash chain, receipt);
  (c) POST /api/v1/scans/batch with 500 scans.
Then, with LEDGER_EVENTS (default 1,000,000) valid chained events loaded: GET /api/v1/boxes/{sscc}/events
latency, and `flask ledger verify` throughput. Gunicorn runs with gunicorn.conf.py and workers = cores
(GUNICORN_ARGS adds options, e.g. "--worker-class sync --threads 1" for sync workers); the load comes
from CLIENTS threads in this process over keep-alive connections, each phase for PHASE_SECONDS.
A PostgreSQL URL's database is dropped and recreated: never point it at a database you want to keep.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import wait_for_server  # noqa: E402
from config import Config, _database_url  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.auth.models import User  # noqa: E402
from webapp.auth.services import create_user, issue_token, resolve_scope  # noqa: E402
from webapp.boxes.models import Box  # noqa: E402
from webapp.core.database import begin_write  # noqa: E402
from webapp.custody.event import hashed_view, stored_row  # noqa: E402
from webapp.custody.ledger import GENESIS, canonical_event, chain_hash  # noqa: E402
from webapp.custody.models import CustodyEvent  # noqa: E402
from webapp.custody.pipeline import ScanInput, record_scans  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.models import Site  # noqa: E402
from webapp.geo.seed import seed_region  # noqa: E402
from webapp.geo.services import import_regions  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8765"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
PHASE_SECONDS = float(os.environ.get("PHASE_SECONDS", "15"))
LABELLED = 5000
BATCH = 500
LEDGER_EVENTS = int(os.environ.get("LEDGER_EVENTS", "1000000"))
WORKERS = os.cpu_count() or 2
ROUNDS = int(os.environ.get("ROUNDS", "5"))  # each ingest phase runs in this many interleaved rounds
PARTS = set(os.environ.get("PARTS", "ingest,reads").split(","))  # run only some: PARTS=ingest or PARTS=reads
READ_CLIENTS = int(os.environ.get("READ_CLIENTS", str(WORKERS)))  # latency of reads: one client per worker


def fresh_database(arg: str, workdir: Path, suffix: str = "") -> str:
    if arg == "sqlite":
        return f"sqlite:///{workdir / f'bench{suffix}.db'}"
    url = make_url(_database_url(arg))
    url = url.set(database=url.database + suffix)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def setup(uri: str) -> tuple[str, list[tuple[int, str]]]:
    """Migrate, seed Jakarta Timur, label LABELLED boxes at KPU-3175; return a token and the boxes."""

    class Bench(Config):
        SQLALCHEMY_DATABASE_URI = uri

    app = create_app(Bench)
    with app.app_context():
        upgrade()
        import_regions(db.session)
        seed_region(db.session, "31.75", app.config)
        user = create_user(
            db.session,
            username="gudang",
            role="warehouse",
            scope=resolve_scope(db.session, "KPU-3175"),
            password="bench-password",
        )
        token = issue_token(db.session, user, "bench")
        db.session.commit()
        boxes = db.session.execute(select(Box.id, Box.sscc).order_by(Box.id).limit(LABELLED)).all()
        for start in range(0, len(boxes), 1000):
            begin_write(db.session)
            record_scans(
                db.session,
                actor=user,
                scans=[
                    ScanInput(
                        client_id=str(uuid.uuid4()),
                        code=sscc,
                        action="commission",
                        site="KPU-3175",
                        scanned_at=datetime.now(UTC),
                        device_id="setup",
                        device_seq=start + i,
                    )
                    for i, (_, sscc) in enumerate(boxes[start : start + 1000])
                ],
            )
            db.session.commit()
        db.engine.dispose()
    return token, [tuple(b) for b in boxes]


class Server:
    """gunicorn serving the app on the bench database, with gunicorn.conf.py plus `options`."""

    def __init__(self, uri: str, port: int = PORT, options: str | None = None):
        env = {
            **os.environ,
            "DATABASE_URL": uri,
            "JEJAK_BENCH_FLOOR": "1",
            "SECRET_KEY": "bench",
            "LEDGER_CHECKPOINT_EVERY": "10000",
        }
        options = os.environ.get("GUNICORN_ARGS", "") if options is None else options
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                *shlex.split(options),
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
        )
        wait_for_server(port)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by the app's gunicorn processes, PostgreSQL's processes and this benchmark."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"app": 0.0, "postgres": 0.0, "load": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if b"gunicorn" in cmdline:
            totals["app"] += used
        elif name.startswith("postgres") or name.startswith("postmaster"):
            totals["postgres"] += used
        elif int(entry.name) == os.getpid():
            totals["load"] += used
    return totals


def run_phase(
    token: str,
    method: str,
    make_request,
    clients: int = CLIENTS,
    seconds: float = PHASE_SECONDS,
    headers: dict | None = None,
    port: int = PORT,
) -> dict:
    """`clients` threads send requests for `seconds`; returns requests/s, latency percentiles, CPU used.
    `headers` replace the bearer token's (a browser's session cookie, say)."""
    headers = headers or {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, seen = [], {}
        i = 0
        while time.perf_counter() < stop_at:
            path, body = make_request(n, i)
            i += 1
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            seen[response.status] = seen.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    cpu_before = cpu_seconds()
    begun = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begun
    cpu_after = cpu_seconds()
    return summary(latencies, elapsed, statuses, {k: cpu_after[k] - cpu_before[k] for k in cpu_after})


def summary(latencies: list[float], elapsed: float, statuses: dict, cpu: dict) -> dict:
    latencies = sorted(latencies)
    return {
        "latencies": latencies,
        "elapsed": elapsed,
        "cpu": cpu,
        # CPU milliseconds per request, by who spent them (PostgreSQL counts every database on the host)
        "cpu_ms": {k: v * 1000 / max(len(latencies), 1) for k, v in cpu.items()},
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "statuses": statuses,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def merged(rounds: list[dict]) -> dict:
    """One phase's rounds as one result."""
    statuses: dict[int, int] = {}
    for r in rounds:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return summary(
        [x for r in rounds for x in r["latencies"]],
        sum(r["elapsed"] for r in rounds),
        statuses,
        {k: sum(r["cpu"][k] for r in rounds) for k in rounds[0]["cpu"]},
    )


def scan_body(sscc: str, n: int, i: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "code": sscc,
        "action": "inspect",
        "site": "KPU-3175",
        "scanned_at": datetime.now(UTC).isoformat(),
        "device_id": f"bench-{n}",
        "device_seq": i,
    }


def all_boxes(uri: str) -> list[tuple[int, str]]:
    """Every box of the seeded kab/kota: the loaded events spread over all of them, as in a real election."""
    engine = create_engine(uri)
    with engine.connect() as conn:
        rows = conn.execute(select(Box.id, Box.sscc).order_by(Box.id)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def load_ledger(uri: str, boxes: list[tuple[int, str]]) -> int:
    """Append valid chained events until the ledger holds LEDGER_EVENTS (computed here, inserted in bulk)."""

    class Bench(Config):
        SQLALCHEMY_DATABASE_URI = uri

    app = create_app(Bench)
    with app.app_context():
        session = db.session
        user = session.scalar(select(User).where(User.username == "gudang"))
        site = session.scalar(select(Site).where(Site.code == "KPU-3175"))
        have = session.scalar(select(db.func.count()).select_from(CustodyEvent))
        heads = {
            box_id: (length, head)
            for box_id, length, head in session.execute(
                select(Box.id, Box.chain_length, Box.chain_head).where(Box.id.in_([b[0] for b in boxes]))
            )
        }
        sscc_of = dict(boxes)
        todo = LEDGER_EVENTS - have
        now = datetime.now(UTC).replace(microsecond=0)
        rows = []
        box_ids = list(sscc_of)
        for n in range(todo):
            box_id = box_ids[n % len(box_ids)]
            length, head = heads[box_id]
            seq, client_id, moment = length + 1, str(uuid.uuid4()), now + timedelta(milliseconds=n)
            values = {
                "box": sscc_of[box_id], "seq": seq, "kind": "inspect", "from": "site:KPU-3175", "to": "site:KPU-3175",
                "site": "KPU-3175", "actor": "gudang", "device": "loader", "device_seq": n, "client_id": client_id,
                "scanned_at": moment, "recorded_at": moment, "lat": None, "lon": None, "accuracy": None, "seals": [],
                "condition": None, "note": None, "witness": None, "handover": None, "prev_hash": head or GENESIS,
            }  # fmt: skip
            digest = values["hash"] = chain_hash(head or GENESIS, canonical_event(hashed_view(values)))
            rows.append(stored_row(values, {"sscc": box_id, "site": site.id, "actor": user.id}))
            heads[box_id] = (seq, digest)
            if len(rows) == 20000:
                session.execute(insert(CustodyEvent.__table__), rows)
                rows = []
        if rows:
            session.execute(insert(CustodyEvent.__table__), rows)
        for box_id, (length, head) in heads.items():
            session.execute(Box.__table__.update().where(Box.id == box_id).values(chain_length=length, chain_head=head))
        session.commit()
        # Refresh the planner's statistics after the bulk load, as autovacuum would within a minute or two.
        session.execute(text("ANALYZE"))
        session.commit()
        total = session.scalar(select(db.func.count()).select_from(CustodyEvent))
        db.engine.dispose()
    return total


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    label = "SQLite" if arg == "sqlite" else "PostgreSQL"
    with tempfile.TemporaryDirectory() as tmp:
        if "ingest" in PARTS:
            ingest(arg, label, Path(tmp))
        if "reads" in PARTS:
            reads(arg, Path(tmp))


def ingest(arg: str, label: str, tmp: Path) -> None:
    """(a), (b) and (c) in one run, on a fresh database."""
    uri = fresh_database(arg, Path(tmp))
    print(f"{label}: setting up (seed Jakarta Timur, label {LABELLED} boxes)...", flush=True)
    token, boxes = setup(uri)
    server = Server(uri)
    try:
        rng = random.Random(7)
        floor_seq = itertools.count(1_000_000)
        phases = {
            "(a) floor: INSERT + UPDATE + COMMIT": (
                "/api/v1/_bench/floor",
                # box_seq must stay unique per box across rounds: one counter for the whole run
                lambda n, i: json.dumps({"box_id": rng.choice(boxes)[0], "seq": next(floor_seq)}),
            ),
            "(b) POST /api/v1/scans": (
                "/api/v1/scans",
                lambda n, i: json.dumps(scan_body(rng.choice(boxes)[1], n, i)),
            ),
            "(c) POST /api/v1/scans/batch (500)": (
                "/api/v1/scans/batch",
                lambda n, i: json.dumps(  # each device scans its own share of the boxes, as at a real site
                    {"scans": [scan_body(rng.choice(boxes[n::CLIENTS])[1], n, i * BATCH + k) for k in range(BATCH)]}
                ),
            ),
        }
        # The phases take turns in ROUNDS short rounds (a b c a b c ...), so that a machine whose speed
        # drifts during the run (a shared VM) slows all of them alike.
        rounds: dict[str, list[dict]] = {name: [] for name in phases}
        for _ in range(ROUNDS):
            for name, (path, make) in phases.items():
                rounds[name].append(
                    run_phase(
                        token,
                        "POST",
                        lambda n, i, path=path, make=make: (path, make(n, i)),
                        seconds=PHASE_SECONDS / ROUNDS,
                    )
                )
        results = {name: merged(done) for name, done in rounds.items()}
        for name, result in results.items():
            print(
                f"  {name:<38} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  {result['statuses']}"
                + "  CPU ms/request: "
                + ", ".join(f"{k} {v:.2f}" for k, v in result["cpu_ms"].items()),
                flush=True,
            )
        floor, single, batch = results.values()
        print(
            f"  single scans at {single['rps'] / floor['rps']:.0%} of the floor; batches {batch['rps'] * BATCH:,.0f} scans/s"
        )
    finally:
        server.stop()


def reads(arg: str, tmp: Path) -> None:
    """The floor wrote unchained rows; the read and verify figures come from a second, clean ledger."""
    print(f"  second database: loading the ledger up to {LEDGER_EVENTS:,} valid events...", flush=True)
    uri = fresh_database(arg, Path(tmp), "_ledger")
    token, _labelled = setup(uri)
    boxes = all_boxes(uri)
    total = load_ledger(uri, boxes)
    server = Server(uri)
    try:
        rng = random.Random(11)
        events = run_phase(
            token, "GET", lambda n, i: (f"/api/v1/boxes/{rng.choice(boxes)[1]}/events", None), READ_CLIENTS
        )
        print(
            f"  GET /boxes/{{sscc}}/events with {total:,} events ({total // len(boxes)} per box): p50 {events['p50_ms']:.1f} ms, p99 {events['p99_ms']:.1f} ms, {events['rps']:.0f} req/s {events['statuses']}"
        )
    finally:
        server.stop()
    env = {**os.environ, "DATABASE_URL": uri, "SECRET_KEY": "bench"}
    verify = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "ledger", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    print("  flask ledger verify:", (verify.stdout or verify.stderr).strip().splitlines()[-1])


if __name__ == "__main__":
    main()
