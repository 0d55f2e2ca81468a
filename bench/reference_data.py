"""Benchmark: import the whole region table and seed the Jakarta Timur demo on a fresh database.

    .venv/bin/python bench/reference_data.py                     # SQLite in a temp dir
    .venv/bin/python bench/reference_data.py postgresql://postgres@127.0.0.1:5432/jejak_bench

Targets (issue 2): import-regions under 30 s, seed demo under 60 s on SQLite, on this 2-core machine.
A PostgreSQL URL is dropped and recreated: never point it at a database you want to keep.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import Config, _database_url
from webapp import create_app
from webapp.extensions import db
from webapp.geo.seed import DEMO_REGION, seed_region
from webapp.geo.services import import_regions

RUNS = 3


def fresh_database(url: str | None, workdir: Path, run: int) -> str:
    if url is None:
        return f"sqlite:///{workdir / f'bench-{run}.db'}"
    url = _database_url(url)
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def one_run(uri: str) -> tuple[float, float, float]:
    class Bench(Config):
        SQLALCHEMY_DATABASE_URI = uri

    app = create_app(Bench)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        import_regions(db.session)
        db.session.commit()
        regions = time.perf_counter() - started
        started = time.perf_counter()
        seed_region(db.session, DEMO_REGION, app.config)
        db.session.commit()
        seed = time.perf_counter() - started
        started = time.perf_counter()
        seed_region(db.session, DEMO_REGION, app.config)
        db.session.commit()
        again = time.perf_counter() - started
        db.engine.dispose()
    return regions, seed, again


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        results = [one_run(fresh_database(url, Path(tmp), run)) for run in range(RUNS)]
    label = "PostgreSQL" if url else "SQLite"
    print(f"{label}, {RUNS} runs on a fresh database each (median, min-max):")
    for i, name in enumerate(("import-regions (91,599 rows)", "seed demo (Jakarta Timur)", "seed demo again (no-op)")):
        values = [r[i] for r in results]
        print(f"  {name:<32} {statistics.median(values):6.2f} s  ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
