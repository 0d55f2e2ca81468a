"""Benchmark: box labels for a whole kab/kota (Jakarta Timur: 31,140 boxes) into one PDF.

    .venv/bin/python bench/labels.py            # A4 sheets and thermal, on a fresh SQLite database

Target (issue 4): at least 300 labels/s on this 2-core machine, the command that prints them
(`flask labels pdf --region 31.75 --at KPU-3175 --by gudang`) measured end to end: reading the boxes,
commissioning each in the ledger (a reprint from the second run on), computing every QR code and
GS1-128 barcode, drawing and writing the PDF. Three runs per format; median (min-max). Then the same
kab/kota as a background job, as the labels page starts it, while a client keeps reading from the app.
"""

from __future__ import annotations

import http.client
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

from bench.common import wait_for_server  # noqa: E402
from config import Config  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.auth.services import create_user, resolve_scope  # noqa: E402
from webapp.boxes.models import Box  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.seed import DEMO_REGION, seed_region  # noqa: E402
from webapp.geo.services import import_regions  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
PARTS = set(os.environ.get("PARTS", "cli,job").split(","))  # PARTS=job runs only the background job


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'labels.db'}"

        class Bench(Config):
            SQLALCHEMY_DATABASE_URI = uri
            JOBS_URL = f"sqlite:///{Path(tmp) / 'jobs.db'}"  # the worker of background_job() reads it too

        app = create_app(Bench)
        with app.app_context():
            upgrade()
            import_regions(db.session)
            seed_region(db.session, DEMO_REGION, app.config)
            create_user(
                db.session,
                username="gudang",
                role="warehouse",
                scope=resolve_scope(db.session, "KPU-3175"),
                password="bench-password",
            )
            db.session.commit()
            db.engine.dispose()
        env = {**os.environ, "DATABASE_URL": uri}
        for fmt in ("a4", "thermal") if "cli" in PARTS else ():
            rates, sizes = [], []
            for run in range(RUNS):
                out = Path(tmp) / f"{fmt}-{run}.pdf"
                started = time.perf_counter()
                done = subprocess.run(
                    [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "labels", "pdf", "--region", DEMO_REGION,
                     "--out", str(out), "--format", fmt, "--at", "KPU-3175", "--by", "gudang"],
                    cwd=ROOT, env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                elapsed = time.perf_counter() - started
                count = int(done.stdout.split()[0])
                rates.append(count / elapsed)
                print("   ", done.stdout.strip(), flush=True)
                sizes.append(out.stat().st_size)
            print(
                f"{fmt:8} {count:,} labels: {statistics.median(rates):,.0f} labels/s "
                f"({min(rates):,.0f}-{max(rates):,.0f}), whole command incl. start-up; "
                f"PDF {statistics.median(sizes) / 1e6:.1f} MB ({statistics.median(sizes) / count / 1000:.1f} kB a label)"
            )

        if "job" in PARTS:
            background_job(app, uri, app.config["JOBS_URL"])


def background_job(app, uri: str, jobs_url: str) -> None:
    """A whole kab/kota printed by a background job (as the labels page starts it, run by the job worker)
    while clients keep reading from the app behind gunicorn: latency of those reads before and during the job."""
    from sqlalchemy import select

    from webapp.auth.models import User
    from webapp.auth.services import issue_token
    from webapp.labels.models import LabelJob
    from webapp.labels.tasks import enqueue_job

    port = 8766
    env = {**os.environ, "DATABASE_URL": uri, "JOBS_URL": jobs_url}
    with app.app_context():
        token = issue_token(db.session, db.session.scalar(select(User).where(User.username == "gudang")), "bench")
        sscc = db.session.scalar(select(Box.sscc).limit(1))
        db.session.commit()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(os.cpu_count() or 2), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    worker = subprocess.Popen([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "jobs", "worker"], cwd=ROOT, env=env)
    try:
        wait_for_server(port)

        def reads(seconds: float) -> list[float]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies, stop = [], time.perf_counter() + seconds
            while time.perf_counter() < stop:
                started = time.perf_counter()
                conn.request("GET", f"/api/v1/boxes/{sscc}", headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                response.read()
                assert response.status == 200, response.status
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)  # a person's phone, not a load test
            return sorted(latencies)

        quiet = reads(10)
        with app.app_context():
            job = LabelJob(region=DEMO_REGION, format="a4", site_code="KPU-3175",
                           requested_by=db.session.scalar(select(User).where(User.username == "gudang")))  # fmt: skip
            db.session.add(job)
            db.session.commit()
            started = time.perf_counter()
            enqueue_job(db.session, job, app.config)  # the worker (same database, same queue) prints it
            job_id = job.id
        busy: list[float] = []
        while True:
            busy += reads(2)
            with app.app_context():
                job = db.session.get(LabelJob, job_id)
                state, done, total = job.state, job.done, job.total
                db.session.rollback()
            if state in ("done", "failed"):
                break
        elapsed = time.perf_counter() - started
        print(
            f"background job: {done:,} of {total:,} labels, {state}, in {elapsed:.0f}s ({done / elapsed:,.0f} labels/s); "
            f"GET /api/v1/boxes/{{sscc}} meanwhile: p50 {pct(busy, 50):.1f} ms, p99 {pct(busy, 99):.1f} ms, "
            f"{len(busy)} requests, all answered (quiet: p50 {pct(quiet, 50):.1f} ms, p99 {pct(quiet, 99):.1f} ms)"
        )
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=30)


def pct(latencies: list[float], p: int) -> float:
    latencies = sorted(latencies)
    return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000


if __name__ == "__main__":
    main()
