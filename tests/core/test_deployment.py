"""The production recipe as an operator runs it: Redis-backed rate limits, gunicorn, health probes."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from config import BASE_DIR, ProductionConfig, TestConfig
from webapp import create_app
from webapp.extensions import db

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 1  # db 1: the tests' own, apart from a dev server's db 0


def _redis_reachable() -> bool:
    """A plain socket, so that a missing `redis` package fails the test instead of skipping it."""
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason=f"needs Redis on {REDIS_HOST}:{REDIS_PORT}")
def test_login_rate_limit_is_counted_in_redis_across_workers(app, restore_extensions):
    prefix = f"jejak-test-{uuid.uuid4().hex}"

    class Redis(TestConfig):
        RATELIMIT_ENABLED = True
        RATELIMIT_STORAGE_URI = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
        RATELIMIT_KEY_PREFIX = prefix
        LOGIN_RATE_LIMIT = "3 per minute"

    def worker():
        """One gunicorn worker: an app of its own, sharing only the Redis counters."""
        return create_app(Redis)

    first = worker()
    import redis  # after create_app: a missing package must fail the boot above, as it failed gunicorn's

    store = redis.Redis.from_url(Redis.RATELIMIT_STORAGE_URI)
    try:
        client = first.test_client()
        tries = [client.post("/login", data={"username": "nobody", "password": "wrong"}) for _ in range(3)]
        assert [r.status_code for r in tries] == [200, 200, 200]
        assert "Nama pengguna atau kata sandi salah" in tries[-1].text
        assert store.keys(f"*{prefix}*"), "the attempts were not counted in Redis"
        # Another worker (a fresh app and a fresh limiter) sees the same count: the fourth try is refused.
        second = worker().test_client()
        refused = second.post("/login", data={"username": "nobody", "password": "wrong"})
        assert refused.status_code == 429 and "Terlalu banyak percobaan" in refused.text
    finally:
        for key in store.keys(f"*{prefix}*"):
            store.delete(key)
        store.close()
        with first.app_context():
            db.engine.dispose()


def test_health_probe_answers_plain_http_while_pages_redirect_to_https(app, monkeypatch, restore_extensions):
    """A load balancer probes /healthz over plain HTTP; production's HTTPS redirect must not answer it."""
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-the-environment-32-chars-or-more")
    monkeypatch.setenv("DATABASE_URL", TestConfig.SQLALCHEMY_DATABASE_URI)
    monkeypatch.setenv("LEDGER_SIGNING_KEY", TestConfig.LEDGER_SIGNING_KEY)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://jejak.kpu.example.id")
    monkeypatch.setenv("GS1_COMPANY_PREFIX", "8995678")

    class Production(ProductionConfig):
        FORCE_HTTPS = True

    production = create_app(Production)
    try:
        client = production.test_client()
        probe = client.get("http://jejak.kpu.example.id/healthz")
        assert probe.status_code == 200 and probe.json == {"status": "ok"}
        page = client.get("http://jejak.kpu.example.id/login")
        assert page.status_code == 302 and page.location == "https://jejak.kpu.example.id/login"
        assert client.get("https://jejak.kpu.example.id/login").status_code == 200
    finally:
        with production.app_context():
            db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int, timeout: float) -> int | None:
    """GET /healthz on a new connection: the status, or None when nothing answered in `timeout` seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def test_gunicorn_config_keeps_answering_health_probes_while_clients_stall(tmp_path):
    """Slow clients (a phone on a bad link, or someone doing it on purpose) must not take the server down."""
    port = _free_port()
    env = {
        **os.environ,
        "JEJAK_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'health.db'}",  # /healthz needs only SELECT 1
        "SECRET_KEY": "gunicorn-test",
        "LEDGER_SIGNING_KEY": TestConfig.LEDGER_SIGNING_KEY,
    }
    command = [sys.executable, "-m", "gunicorn", "--config", str(BASE_DIR / "gunicorn.conf.py")]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    command += ["--no-control-socket", "wsgi:app"]  # not gunicorn's one socket per user in $HOME
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env)
    stalled: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while _health(port, timeout=2) != 200:
            assert server.poll() is None, "gunicorn exited at start-up"
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz within 60 s"
            time.sleep(0.2)
        for _ in range(6):  # more than the two workers; a sync worker each would leave none to answer
            slow = socket.create_connection(("127.0.0.1", port))
            slow.sendall(b"POST /login HTTP/1.1\r\nHost: jejak\r\nContent-Type: text/plain\r\n")  # and stall
            stalled.append(slow)
        time.sleep(0.5)  # the workers have picked them up
        for _ in range(5):
            started = time.monotonic()
            assert _health(port, timeout=3) == 200, "/healthz did not answer while slow clients stalled"
            assert time.monotonic() - started < 3
    finally:
        for slow in stalled:
            slow.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_make_run_on_another_port_prints_labels_for_that_port():
    """`make run PORT=8101` serves on 8101, and the labels it prints open 8101 (issue 14, point 10)."""
    import shutil
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("needs make")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    plan = subprocess.run(["make", "-n", "run", "PORT=8101"], cwd=root, env=env, capture_output=True, text=True)
    served = [line for line in plan.stdout.splitlines() if "honcho start" in line]
    assert served and all("--port 8101" in line and "HOST=127.0.0.1" in line for line in served)
    assert all("PUBLIC_BASE_URL=http://127.0.0.1:8101" in line for line in served)
    # honcho hands its --port to the first process of the Procfile as PORT: the web server, bound to it.
    processes = [line for line in (root / "Procfile").read_text().splitlines() if not line.startswith("#")]
    assert processes[0].startswith("web:") and "gunicorn" in processes[0] and "--bind $HOST:$PORT" in processes[0]
    assert any(line.startswith("worker:") and "jobs worker" in line for line in processes)
