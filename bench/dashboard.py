"""Benchmark: readiness dashboard pages for one kab/kota of 10,000 TPS, 40,000 boxes and 400,000 events.

    .venv/bin/python bench/dashboard.py postgresql://postgres@127.0.0.1:5432/jejak_bench_dashboard
    REUSE=1 .venv/bin/python bench/dashboard.py ...   # measure again on the database the last run built

On a fresh database (the URL's database is dropped and recreated: never point it at one you want to
keep), Jakarta Timur (31.75) is seeded with VOTERS_PER_TPS voters per TPS (default 220), which makes
about 10,000 TPS of four boxes each. The boxes are then moved by real scans through the scan service
(commission, seal, down the route to PPK, PPS and TPS, some damaged), so the readiness counters are
kept by the database's triggers exactly as in production; inspections loaded in bulk top the ledger up
to EVENTS (default 400,000) valid chained events. The counters are checked against a recount.

Then gunicorn (workers = cores) serves the app and CLIENTS threads (default 4) request, for
PHASE_SECONDS each: the kab/kota's dashboard, its kecamatan's, its desa's (a desa lists its TPS from
the boxes themselves), and GET /api/v1/readiness for the kab/kota. The target is p95 under 300 ms.
For comparison, the same kab/kota's figures computed by grouping its 40,000 box rows (what the
dashboard did before the counters) are timed in-process.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import aliased  # noqa: E402

import bench.scan_ingest as ingest  # noqa: E402
from config import Config, _database_url  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.auth.models import User  # noqa: E402
from webapp.auth.services import create_user, resolve_scope  # noqa: E402
from webapp.boxes.models import Box  # noqa: E402
from webapp.core.database import begin_write  # noqa: E402
from webapp.custody.models import CustodyEvent  # noqa: E402
from webapp.custody.pipeline import ScanInput, record_scans  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.models import Region, Site  # noqa: E402
from webapp.geo.seed import seed_region  # noqa: E402
from webapp.geo.services import import_regions, route_codes_for  # noqa: E402
from webapp.readiness.report import counters, readiness, recount  # noqa: E402

KAB = "31.75"
VOTERS_PER_TPS = int(os.environ.get("VOTERS_PER_TPS", "220"))
EVENTS = int(os.environ.get("EVENTS", "400000"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
PHASE_SECONDS = float(os.environ.get("PHASE_SECONDS", "20"))
BATCH = 1000
REUSE = os.environ.get("REUSE") == "1"
PASSWORD = "bench-password"

# Where each box ends up, by its index mod 20: 5% unlabelled, 5% at the warehouse, 5% on the road,
# 10% at the PPK, 15% at the PPS, 55% at the TPS, 5% damaged at the PPK.
PLAN = ["planned", "warehouse", "road"] + ["ppk"] * 2 + ["pps"] * 3 + ["tps"] * 11 + ["damaged"]
STEPS = [  # (action, who, site, to): site and to are filled per box from its route
    ("commission", "gudang", "kab", None),
    ("seal", "gudang", "kab", None),
    ("dispatch", "gudang", "kab", "ppk"),
    ("receive", "petugas", "ppk", None),
    ("dispatch", "petugas", "ppk", "pps"),
    ("receive", "petugas", "pps", None),
    ("dispatch", "petugas", "pps", "tps"),
    ("receive", "petugas", "tps", None),
]
STEPS_FOR = {"planned": 0, "warehouse": 2, "road": 3, "ppk": 4, "damaged": 4, "pps": 6, "tps": 8}


def setup(uri: str) -> None:
    app = app_for(uri, SEED_MAX_VOTERS_PER_TPS=VOTERS_PER_TPS)
    with app.app_context():
        session = db.session
        upgrade()
        import_regions(session)
        seed_region(session, KAB, app.config)
        users = {
            "gudang": create_user(
                session,
                username="gudang",
                role="warehouse",
                scope=resolve_scope(session, "KPU-3175"),
                password=PASSWORD,
            ),
            "petugas": create_user(
                session, username="petugas", role="officer", scope=resolve_scope(session, KAB), password=PASSWORD
            ),
        }
        create_user(
            session, username="pengawas", role="supervisor", scope=resolve_scope(session, KAB), password=PASSWORD
        )
        session.commit()
        boxes = session.execute(
            select(Box.sscc, Site.code, Site.region_code).join(Site, Site.id == Box.destination_id).order_by(Box.id)
        ).all()
        tps_count = session.scalar(select(func.count()).select_from(Site).where(Site.kind == "tps"))
        print(f"seeded {KAB}: {tps_count:,} TPS, {len(boxes):,} boxes", flush=True)
        plan = [(sscc, tps, region, PLAN[i % len(PLAN)]) for i, (sscc, tps, region) in enumerate(boxes)]
        started, seq = time.perf_counter(), 0
        for step, (action, who, at, to) in enumerate(STEPS):
            step_started = time.perf_counter()
            todo = [p for p in plan if STEPS_FOR[p[3]] > step]
            for start in range(0, len(todo), BATCH):
                scans = []
                for sscc, tps, region, _target in todo[start : start + BATCH]:
                    route = {
                        code.split("-")[0]: code for code in route_codes_for(region) if not code.startswith("KPU-31")
                    }
                    places = {"kab": "KPU-3175", "ppk": route["PPK"], "pps": route["PPS"], "tps": tps}
                    seq += 1
                    scans.append(
                        ScanInput(
                            client_id=str(uuid.uuid4()),
                            code=sscc,
                            action=action,
                            site=places[at],
                            scanned_at=datetime.now(UTC),
                            device_id="bench",
                            device_seq=seq,
                            to=places[to] if to else None,
                            seals=["B-1"] if action == "seal" else None,
                            note="bench" if action == "seal" else None,
                        )
                    )
                begin_write(session)
                results = record_scans(session, actor=users[who], scans=scans)
                refused = [r for r in results if r.verdict != "accepted"]
                if refused:
                    raise RuntimeError(
                        f"{action}: {len(refused)} refused, e.g. {refused[0].reason} {refused[0].details}"
                    )
                session.commit()
            took = time.perf_counter() - step_started
            print(f"  {action} at {at}: {len(todo):,} scans, {len(todo) / took:,.0f} scans/s", flush=True)
        damaged = [p for p in plan if p[3] == "damaged"]
        for start in range(0, len(damaged), BATCH):
            scans = []
            for sscc, _tps, region, _target in damaged[start : start + BATCH]:
                ppk = next(code for code in route_codes_for(region) if code.startswith("PPK-"))
                seq += 1
                scans.append(
                    ScanInput(str(uuid.uuid4()), sscc, "damage", ppk, datetime.now(UTC), "bench", seq, note="basah")
                )
            begin_write(session)
            record_scans(session, actor=users["petugas"], scans=scans)
            session.commit()
        scans = session.scalar(select(func.count()).select_from(CustodyEvent))
        print(f"  {scans:,} events from real scans in {time.perf_counter() - started:.0f} s", flush=True)
        db.engine.dispose()


def app_for(uri: str, **settings):
    """The app on the benchmark's database."""
    bench = type("Bench", (Config,), {"SQLALCHEMY_DATABASE_URI": uri, **settings})
    return create_app(bench)


def prepare_reuse(uri: str) -> None:
    """Measure again on a database a previous run built: the observer's password as this run expects."""
    app = app_for(uri)
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "pengawas")).set_password(PASSWORD)
        db.session.commit()
        events = db.session.scalar(select(func.count()).select_from(CustodyEvent))
        print(f"reusing the database: {events:,} events", flush=True)
        db.engine.dispose()


def check_and_compare(uri: str) -> None:
    """Counters equal a recount; and the kab/kota's figures from the counters vs from its box rows."""
    app = app_for(uri)
    with app.app_context():
        session = db.session
        session.execute(text("ANALYZE"))
        session.commit()
        assert counters(session) == recount(session), "the readiness counters differ from a recount"
        print("  readiness counters equal a recount of the boxes", flush=True)
        dest, holder = aliased(Site), aliased(Site)
        kecamatan = func.substr(dest.region_code, 1, 8)
        by_boxes = (
            select(kecamatan, Box.status, Box.phase, holder.kind, func.count())
            .join(dest, dest.id == Box.destination_id)
            .outerjoin(holder, holder.id == Box.holder_site_id)
            .where(dest.kind == "tps", dest.region_code.startswith(KAB + "."))
            .group_by(kecamatan, Box.status, Box.phase, holder.kind)
        )
        timings = {"counters": [], "box rows": []}
        for _ in range(30):
            began = time.perf_counter()
            readiness(session, KAB)
            timings["counters"].append(time.perf_counter() - began)
            began = time.perf_counter()
            session.execute(by_boxes).all()
            timings["box rows"].append(time.perf_counter() - began)
            session.rollback()
        for name, values in timings.items():
            print(f"  in-process, {KAB} figures from {name}: median {statistics.median(values) * 1000:.1f} ms")
        db.engine.dispose()


def log_in(username: str, password: str) -> str:
    """A browser's session cookie, through the real login form (CSRF token included)."""
    conn = http.client.HTTPConnection("127.0.0.1", ingest.PORT, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookies = {c.split("=", 1)[0]: c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []}
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": csrf, "username": username, "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "; ".join(cookies.values())}
    conn.request("POST", "/login", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"login failed: {response.status}")
    for c in response.headers.get_all("Set-Cookie") or []:
        cookies[c.split("=", 1)[0]] = c.split(";", 1)[0]
    conn.close()
    return "; ".join(cookies.values())


def measure_pages(pages: dict, cookie: str, clients: int, seconds: float) -> None:
    """GET each page (name -> a function giving its path) from `clients` threads for `seconds`, logged
    in with `cookie`; print p50/p95/p99. Every answer must be 200."""
    print(f"\n{clients} clients, {seconds:.0f} s per page kind, gunicorn workers = {ingest.WORKERS}")
    for name, make in pages.items():
        result = ingest.run_phase(
            "", "GET", lambda n, i, make=make: (make(), None), clients, seconds, {"Cookie": cookie}
        )
        latencies, statuses = result["latencies"], result["statuses"]
        if set(statuses) != {200}:
            raise RuntimeError(f"{name}: answers {statuses}, not all 200")
        print(
            f"  {name:<40} {len(latencies):6d} requests  p50 {percentile(latencies, 0.5):6.1f} ms  "
            f"p95 {percentile(latencies, 0.95):6.1f} ms  p99 {percentile(latencies, 0.99):6.1f} ms",
            flush=True,
        )


def percentile(ordered: list[float], share: float) -> float:
    return ordered[max(int(len(ordered) * share) - 1, 0)] * 1000


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/jejak_bench_dashboard"
    with tempfile.TemporaryDirectory() as tmp:
        if REUSE:  # measure again on the database a previous run built
            uri = _database_url(arg)
            prepare_reuse(uri)
        else:
            uri = ingest.fresh_database(arg, Path(tmp))
            setup(uri)
            ingest.LEDGER_EVENTS = EVENTS
            total = ingest.load_ledger(uri, ingest.all_boxes(uri))
            print(f"  ledger topped up with inspections to {total:,} events", flush=True)
        check_and_compare(uri)

        app = app_for(uri)
        with app.app_context():
            kecamatan = list(db.session.scalars(select(Region.code).where(Region.parent_code == KAB)))
            desa = list(db.session.scalars(select(Region.code).where(Region.parent_code.in_(kecamatan))))
            db.engine.dispose()
        rng = random.Random(3)
        pages = {
            f"/dashboard/{KAB} (kab/kota)": lambda: f"/dashboard/{KAB}",
            "/dashboard/<kecamatan>": lambda: f"/dashboard/{rng.choice(kecamatan)}",
            "/dashboard/<desa> (its TPS)": lambda: f"/dashboard/{rng.choice(desa)}",
            f"GET /api/v1/readiness?region={KAB}": lambda: f"/api/v1/readiness?region={KAB}",
            f"/alerts (scope {KAB})": lambda: "/alerts",
        }
        server = ingest.Server(uri)
        try:
            cookie = log_in("pengawas", PASSWORD)
            measure_pages(pages, cookie, CLIENTS, PHASE_SECONDS)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
