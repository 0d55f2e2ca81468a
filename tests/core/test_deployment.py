"""The production recipe as an operator runs it: Redis-backed rate limits, gunicorn, health probes."""

from __future__ import annotations

import socket
import uuid

import pytest

from config import ProductionConfig, TestConfig
from webapp import create_app
from webapp.extensions import db, limiter, talisman

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 1  # db 1: the tests' own, apart from a dev server's db 0


def _redis_reachable() -> bool:
    """A plain socket, so that a missing `redis` package fails the test instead of skipping it."""
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def restore_extensions():
    """create_app() re-initialises the shared Limiter and Talisman; give the other tests theirs back."""
    saved = {ext: dict(vars(ext)) for ext in (limiter, talisman)}
    yield
    for ext, state in saved.items():
        vars(ext).clear()
        vars(ext).update(state)


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
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-the-environment")
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
