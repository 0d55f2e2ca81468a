"""Benchmark: scan ingest through gunicorn's worker models side by side, on one database.

    .venv/bin/python bench/worker_models.py postgresql://postgres@127.0.0.1:5432/bench_ops

bench/scan_ingest.py's phases (b) POST /api/v1/scans and (c) POST /api/v1/scans/batch (500), against
two gunicorns started at once on one fresh database (Jakarta Timur seeded, 5,000 boxes labelled), both
with gunicorn.conf.py and workers = cores: MODELS names each one's extra options (default: sync workers,
"--worker-class sync --threads 1", against gunicorn.conf.py as it is). Only one is loaded at a time, and
they take turns in ROUNDS short rounds, so a machine shared with other work slows both alike.
The database is dropped and recreated: never point it at a database you want to keep.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scan_ingest import (  # noqa: E402
    BATCH,
    CLIENTS,
    PHASE_SECONDS,
    PORT,
    ROUNDS,
    WORKERS,
    Server,
    fresh_database,
    merged,
    run_phase,
    scan_body,
    setup,
)

MODELS = dict(
    part.split("=", 1) for part in os.environ.get("MODELS", "sync=--worker-class sync --threads 1;gthread=").split(";")
)


def main() -> None:
    arg = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        uri = fresh_database(arg, Path(tmp))
        print(f"setting up (seed Jakarta Timur, label boxes); {WORKERS} workers each: {MODELS}", flush=True)
        token, boxes = setup(uri)
        servers = {
            name: Server(uri, port=PORT + n, options=options) for n, (name, options) in enumerate(MODELS.items())
        }
        try:
            rng = random.Random(7)
            phases = {
                "(b) POST /api/v1/scans": (
                    "/api/v1/scans",
                    lambda n, i: json.dumps(scan_body(rng.choice(boxes)[1], n, i)),
                ),
                "(c) POST /api/v1/scans/batch (500)": (
                    "/api/v1/scans/batch",
                    lambda n, i: json.dumps(
                        {"scans": [scan_body(rng.choice(boxes[n::CLIENTS])[1], n, i * BATCH + k) for k in range(BATCH)]}
                    ),
                ),
            }
            rounds = {(model, phase): [] for model in MODELS for phase in phases}
            for _ in range(ROUNDS):
                for n, model in enumerate(MODELS):
                    for phase, (path, make) in phases.items():
                        rounds[model, phase].append(
                            run_phase(
                                token,
                                "POST",
                                lambda k, i, path=path, make=make: (path, make(k, i)),
                                seconds=PHASE_SECONDS / ROUNDS,
                                port=PORT + n,
                            )
                        )
            for (model, phase), done in rounds.items():
                result = merged(done)
                per = f"  = {result['rps'] * BATCH:,.0f} scans/s" if "batch" in phase else ""
                print(
                    f"  {model:<8} {phase:<36} {result['rps']:7.1f} req/s  p50 {result['p50_ms']:7.1f} ms"
                    f"  p99 {result['p99_ms']:7.1f} ms  {result['statuses']}{per}",
                    flush=True,
                )
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
