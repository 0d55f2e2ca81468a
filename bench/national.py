"""Benchmark: the national and province readiness pages, over the counters of every desa of Indonesia.

    .venv/bin/python bench/national.py postgresql://postgres@127.0.0.1:5432/jejak_bench_national

bench/dashboard.py measures a kab/kota with real boxes and scans. The national page reads no boxes:
it sums the per-kecamatan rollup (migration 0013), which triggers keep from the desa counters, so its
cost depends only on how many counter rows exist. This benchmark loads the whole region table (about
83,000 desas) and gives every desa a counter row for every stage, out and back (the worst case: rows
stay once a stage was reached, even at zero), with random box counts: about a million desa rows,
which the triggers sum into 87,420 kecamatan rows. The database is dropped
and recreated: never point it at one you want to keep.

Then, in-process, the figures (readiness_report) for the country and for a large province; and through
gunicorn (workers = cores), CLIENTS threads (default 4) request for PHASE_SECONDS each the national
page, a province page and GET /api/v1/readiness?region=ID, logged in as a national supervisor through
the login form. The target of the kab/kota benchmark, p95 under 300 ms, is the yardstick.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

import bench.scan_ingest as ingest  # noqa: E402
from bench.dashboard import PASSWORD, app_for, log_in, measure_pages  # noqa: E402
from webapp.auth.services import create_user, resolve_scope  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.models import Region, RegionLevel  # noqa: E402
from webapp.geo.services import import_regions  # noqa: E402
from webapp.readiness.models import ReadinessCount, ReadinessRollup  # noqa: E402
from webapp.readiness.report import ALL_STAGES, readiness_report  # noqa: E402

PROVINCE = "33"  # Jawa Tengah: one of the provinces with the most desas
CLIENTS = int(os.environ.get("CLIENTS", "4"))
PHASE_SECONDS = float(os.environ.get("PHASE_SECONDS", "20"))


def setup(uri: str) -> None:
    app = app_for(uri)
    with app.app_context():
        session = db.session
        upgrade()
        import_regions(session)
        create_user(session, username="pusat", role="supervisor", scope=resolve_scope(session, "ID"), password=PASSWORD)
        session.commit()
        desas = list(session.scalars(select(Region.code).where(Region.level == RegionLevel.DESA)))
        rng = random.Random(6)
        rows = [
            {"region_code": code, "stage": stage, "boxes": rng.randint(0, 60)} for code in desas for stage in ALL_STAGES
        ]
        for start in range(0, len(rows), 50_000):
            session.execute(insert(ReadinessCount), rows[start : start + 50_000])
        session.commit()
        session.execute(text("ANALYZE"))
        session.commit()
        total = session.scalar(select(func.count()).select_from(ReadinessCount))
        summed = session.scalar(select(func.count()).select_from(ReadinessRollup))
        print(f"  {len(desas):,} desas, {total:,} desa counter rows, {summed:,} kecamatan rows", flush=True)
        db.engine.dispose()


def in_process(uri: str) -> None:
    app = app_for(uri, ELECTION_DAY="2029-02-14")
    with app.app_context():
        for code, name in (("", "the country"), (PROVINCE, f"province {PROVINCE}")):
            timings = []
            for _ in range(20):
                began = time.perf_counter()
                readiness_report(db.session, code, app.config, date(2029, 2, 10))
                timings.append(time.perf_counter() - began)
                db.session.rollback()
            print(f"  in-process, figures of {name}: median {statistics.median(timings) * 1000:.1f} ms", flush=True)
        db.engine.dispose()


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/jejak_bench_national"
    with tempfile.TemporaryDirectory() as tmp:
        uri = ingest.fresh_database(arg, Path(tmp))
        started = time.perf_counter()
        setup(uri)
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
        in_process(uri)
        pages = {
            "/dashboard/ID (the country)": "/dashboard/ID",
            f"/dashboard/{PROVINCE} (a province)": f"/dashboard/{PROVINCE}",
            "GET /api/v1/readiness?region=ID": "/api/v1/readiness?region=ID",
        }
        server = ingest.Server(uri)
        try:
            cookie = log_in("pusat", PASSWORD)
            measure_pages(
                {name: lambda path=path: path for name, path in pages.items()}, cookie, CLIENTS, PHASE_SECONDS
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
