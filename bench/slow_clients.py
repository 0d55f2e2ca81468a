"""Benchmark: does gunicorn still answer /healthz while slow clients hold connections open?

    .venv/bin/python bench/slow_clients.py                                  # gunicorn.conf.py as it is
    GUNICORN_ARGS="--worker-class sync --threads 1" .venv/bin/python bench/slow_clients.py

Starts gunicorn with gunicorn.conf.py (workers = cores, plus GUNICORN_ARGS) on a free loopback port and a
throwaway SQLite database (/healthz runs SELECT 1), opens SLOW connections that each send the first half
of a request's headers and then stall, and probes GET /healthz once a second for PROBE_SECONDS on a fresh
connection, each probe given 2 s. Prints how many probes were answered and how fast.
"""

from __future__ import annotations

import http.client
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_for_server  # noqa: E402

SLOW = int(os.environ.get("SLOW", "6"))
PROBE_SECONDS = float(os.environ.get("PROBE_SECONDS", "40"))
WORKERS = os.cpu_count() or 2
HALF_REQUEST = b"POST /login HTTP/1.1\r\nHost: jejak\r\nContent-Type: application/x-www-form-urlencoded\r\n"


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(port: int) -> float | None:
    """Seconds GET /healthz took on a new connection, or None when it did not answer within 2 s."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
    except OSError:
        return None
    finally:
        conn.close()
    return time.perf_counter() - started if ok else None


def main() -> None:
    port = free_port()
    extra = shlex.split(os.environ.get("GUNICORN_ARGS", ""))
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "JEJAK_ENV": "development",
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'slow.db'}",
            "SECRET_KEY": "bench",
            "LEDGER_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        }
        command = [
            str(ROOT / ".venv/bin/gunicorn"),
            *("--config", str(ROOT / "gunicorn.conf.py"), "--workers", str(WORKERS)),
            *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", *extra, "wsgi:app"),
        ]
        print("$", shlex.join(command[1:]), flush=True)
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        stalled: list[socket.socket] = []
        try:
            wait_for_server(port)
            print(f"  before: /healthz in {probe(port) * 1000:.1f} ms", flush=True)
            for _ in range(SLOW):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(HALF_REQUEST)
                stalled.append(s)
            time.sleep(0.5)  # let the workers pick the stalled connections up
            answered: list[float] = []
            probes = 0
            first_miss = None
            begun = time.perf_counter()
            while time.perf_counter() - begun < PROBE_SECONDS:
                tick = time.perf_counter()
                took = probe(port)
                probes += 1
                if took is None:
                    first_miss = first_miss if first_miss is not None else tick - begun
                else:
                    answered.append(took)
                time.sleep(max(0.0, 1 - (time.perf_counter() - tick)))
            summary = f"  {SLOW} stalled clients, {WORKERS} workers {shlex.join(extra) or '(gunicorn.conf.py)'}: "
            summary += f"/healthz answered {len(answered)} of {probes} probes in {PROBE_SECONDS:.0f} s"
            if answered:
                summary += f", p50 {statistics.median(answered) * 1000:.1f} ms, max {max(answered) * 1000:.1f} ms"
            if first_miss is not None:
                summary += f"; first unanswered probe at {first_miss:.0f} s"
            print(summary, flush=True)
        finally:
            for s in stalled:
                s.close()
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
