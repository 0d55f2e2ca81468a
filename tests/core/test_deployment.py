"""The production recipe as an operator runs it: Redis-backed rate limits, gunicorn, health probes."""

from __future__ import annotations

import socket
import uuid

import pytest

from config import TestConfig
from webapp import create_app
from webapp.extensions import db, limiter

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 1  # db 1: the tests' own, apart from a dev server's db 0


def _redis_reachable() -> bool:
    """A plain socket, so that a missing `redis` package fails the test instead of skipping it."""
    try:
        socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def restore_limiter():
    """create_app() re-initialises the one shared Limiter; give the other tests theirs back."""
    saved = dict(vars(limiter))
    yield
    vars(limiter).clear()
    vars(limiter).update(saved)


@pytest.mark.skipif(not _redis_reachable(), reason=f"needs Redis on {REDIS_HOST}:{REDIS_PORT}")
def test_login_rate_limit_is_counted_in_redis_across_workers(app, restore_limiter):
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
