"""Benchmark: box labels for a whole kab/kota (Jakarta Timur: 31,140 boxes) into one PDF.

    .venv/bin/python bench/labels.py            # A4 sheets and thermal, on a fresh SQLite database

Target (issue 4): at least 300 labels/s on this 2-core machine, the command that prints them
(`flask labels pdf --region 31.75`) measured end to end: reading the boxes, computing every QR code
and GS1-128 barcode, drawing and writing the PDF. Three runs per format; median (min-max).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from config import Config  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.seed import DEMO_REGION, seed_region  # noqa: E402
from webapp.geo.services import import_regions  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'labels.db'}"

        class Bench(Config):
            SQLALCHEMY_DATABASE_URI = uri

        app = create_app(Bench)
        with app.app_context():
            upgrade()
            import_regions(db.session)
            seed_region(db.session, DEMO_REGION, app.config)
            db.session.commit()
            db.engine.dispose()
        env = {**os.environ, "DATABASE_URL": uri}
        for fmt in ("a4", "thermal"):
            rates, sizes = [], []
            for run in range(RUNS):
                out = Path(tmp) / f"{fmt}-{run}.pdf"
                started = time.perf_counter()
                done = subprocess.run(
                    [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "labels", "pdf", "--region", DEMO_REGION,
                     "--out", str(out), "--format", fmt],
                    cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                elapsed = time.perf_counter() - started
                count = int(done.stdout.split()[0])
                rates.append(count / elapsed)
                sizes.append(out.stat().st_size)
            print(
                f"{fmt:8} {count:,} labels: {statistics.median(rates):,.0f} labels/s "
                f"({min(rates):,.0f}-{max(rates):,.0f}), whole command incl. start-up; "
                f"PDF {statistics.median(sizes) / 1e6:.1f} MB ({statistics.median(sizes) / count / 1000:.1f} kB a label)"
            )


if __name__ == "__main__":
    main()
