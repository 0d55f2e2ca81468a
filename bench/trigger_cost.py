"""Benchmark: what the readiness counters' triggers (migration 0011) cost the scan service.

    .venv/bin/python bench/trigger_cost.py postgresql://postgres@127.0.0.1:5432/jejak_bench_triggers

On a fresh database (dropped and recreated) with Jakarta Timur seeded, batches of BATCH commission
scans (every one moves a box from "not labelled" to "at a warehouse", so every row fires the trigger)
go through record_scans in-process, alternating ROUNDS times between the triggers enabled and disabled
(ALTER TABLE box DISABLE TRIGGER USER), each on boxes not scanned before.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

import bench.scan_ingest as ingest  # noqa: E402
from config import Config  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.auth.services import create_user, resolve_scope  # noqa: E402
from webapp.boxes.models import Box  # noqa: E402
from webapp.core.database import begin_write  # noqa: E402
from webapp.custody.pipeline import ScanInput, record_scans  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.seed import seed_region  # noqa: E402
from webapp.geo.services import import_regions  # noqa: E402

BATCH = int(os.environ.get("BATCH", "1000"))
ROUNDS = int(os.environ.get("ROUNDS", "6"))


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/jejak_bench_triggers"
    with tempfile.TemporaryDirectory() as tmp:
        uri = ingest.fresh_database(arg, Path(tmp))

        class Bench(Config):
            SQLALCHEMY_DATABASE_URI = uri

        app = create_app(Bench)
        with app.app_context():
            session = db.session
            upgrade()
            import_regions(session)
            seed_region(session, "31.75", app.config)
            user = create_user(
                session,
                username="gudang",
                role="warehouse",
                scope=resolve_scope(session, "KPU-3175"),
                password="x" * 12,
            )
            session.commit()
            boxes = iter(session.scalars(select(Box.sscc).order_by(Box.id)).all())
            rates: dict[str, list[float]] = {"with triggers": [], "without triggers": []}

            def batch(label: str) -> None:
                scans = [
                    ScanInput(str(uuid.uuid4()), next(boxes), "commission", "KPU-3175", datetime.now(UTC), "b", i)
                    for i in range(BATCH)
                ]
                began = time.perf_counter()
                begin_write(session)
                record_scans(session, actor=user, scans=scans)
                session.commit()
                if label:
                    rates[label].append(BATCH / (time.perf_counter() - began))

            batch("")  # warm-up
            for _ in range(ROUNDS):
                batch("with triggers")
                session.execute(text("ALTER TABLE box DISABLE TRIGGER USER"))
                session.commit()
                batch("without triggers")
                session.execute(text("ALTER TABLE box ENABLE TRIGGER USER"))
                session.commit()
            for label, values in rates.items():
                print(
                    f"  {label:<17} median {statistics.median(values):,.0f} scans/s ({len(values)} batches of {BATCH})"
                )
            db.engine.dispose()


if __name__ == "__main__":
    main()
