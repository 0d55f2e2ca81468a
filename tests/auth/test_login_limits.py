"""Login attempts per username, beside the per-address limit (security audit, issue 12).

Rate limits are off in TestConfig; these tests build apps with them on, on the test's transaction.
The memory storage and the throttle read the time through a clock the tests move by hand.
"""

from __future__ import annotations

import os
import time
import uuid

import limits.storage.memory
import pytest

import webapp.auth.throttle
from config import TestConfig
from tests.factories import PASSWORD, UserFactory
from webapp import create_app
from webapp.auth.throttle import account_bucket
from webapp.extensions import db, limiter

WAIT_ONE_MINUTE = "Terlalu banyak percobaan masuk yang gagal. Tunggu 1 menit, lalu coba lagi."
WRONG = "Nama pengguna atau kata sandi salah"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


class Clock:
    """Stands in for the `time` module where the limits are counted; `advance` moves it on."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    """A clock for the memory storage and the throttle, so a wait passes without sleeping."""
    fake = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(webapp.auth.throttle, "time", fake)
    return fake


@pytest.fixture
def limited(app, session):
    """Build apps with rate limits on (memory storage unless told otherwise), sharing the test's transaction."""
    built = []

    def build(**settings):
        config = type("Limited", (TestConfig,), {"RATELIMIT_ENABLED": True, **settings})
        built.append(create_app(config))
        return built[-1]

    yield build
    limiter.enabled = app.config["RATELIMIT_ENABLED"]  # one Limiter object serves every app: hand it back
    for other in built:
        with other.app_context():
            db.engine.dispose()


def attempt(client, username: str, password: str, address: str = "192.0.2.1"):
    """POST /login from one address."""
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def logged_in(client) -> bool:
    """Whether the client's session opens the home page."""
    return client.get("/").status_code == 200


def test_forty_wrong_passwords_from_forty_addresses_make_the_username_wait(limited, clock):
    app = limited()
    client = app.test_client()
    user, other = UserFactory(), UserFactory()
    spellings = [user.username, f"  {user.username.upper()} "]  # one username however it is typed

    responses = [attempt(client, spellings[i % 2], f"guess-{i}", f"10.0.{i}.1") for i in range(40)]

    assert [r.status_code for r in responses[:5]] == [200] * 5 and all(WRONG in r.text for r in responses[:5])
    assert {r.status_code for r in responses[5:]} == {429}
    assert all(WAIT_ONE_MINUTE in r.text for r in responses[5:])
    refused = attempt(client, user.username, PASSWORD, "10.1.0.1")
    assert refused.status_code == 429 and WAIT_ONE_MINUTE in refused.text and refused.headers["Retry-After"] == "60"
    assert not logged_in(client)  # the right password waits too

    neighbour = app.test_client()
    assert attempt(neighbour, other.username, PASSWORD, "10.0.1.1").status_code == 302  # another account
    assert logged_in(neighbour)

    clock.advance(61)
    assert attempt(client, user.username, PASSWORD, "10.1.0.2").status_code == 302
    assert logged_in(client)


def test_each_further_failure_doubles_the_wait_up_to_fifteen_minutes(limited, clock):
    client = limited().test_client()
    user = UserFactory()
    for i in range(5):
        attempt(client, user.username, "wrong-password", f"10.0.0.{i}")
    waits = []
    for i in range(6):
        refused = attempt(client, user.username, PASSWORD, f"10.2.0.{i}")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(waits[-1])
        assert attempt(client, user.username, "wrong-password", f"10.3.0.{i}").status_code == 200  # its turn

    assert waits == [60, 120, 240, 480, 900, 900]
    assert "Tunggu 15 menit" in attempt(client, user.username, PASSWORD, "10.4.0.1").text
    clock.advance(900)
    assert attempt(client, user.username, PASSWORD, "10.4.0.2").status_code == 302  # after minutes, not hours


def test_an_unknown_username_waits_exactly_like_a_real_one(limited, clock):
    client = limited().test_client()
    real = UserFactory().username
    for username in (real, "nobody-by-that-name"):
        for i in range(5):
            attempt(client, username, "wrong-password", f"10.0.0.{i}")
    refusals = [attempt(client, username, "anything-at-all", "10.5.0.1") for username in (real, "nobody-by-that-name")]

    assert [r.status_code for r in refusals] == [429, 429]
    assert [r.headers["Retry-After"] for r in refusals] == ["60", "60"]
    assert refusals[0].text.replace(real, "NAME") == refusals[1].text.replace("nobody-by-that-name", "NAME")
    assert WAIT_ONE_MINUTE in refusals[0].text


def test_a_right_password_clears_earlier_failures(limited, clock):
    app = limited()
    user = UserFactory()
    first = app.test_client()
    for i in range(4):
        attempt(first, user.username, "wrong-password", f"10.0.0.{i}")
    assert attempt(first, user.username, PASSWORD, "10.0.0.9").status_code == 302

    second = app.test_client()
    statuses = [attempt(second, user.username, "wrong-password", f"10.6.0.{i}").status_code for i in range(6)]

    assert statuses == [200] * 5 + [429]  # counted afresh: five more failures before a wait


def test_the_owners_usual_browser_still_gets_in_while_strangers_wait(limited, clock):
    app = limited()
    owner, attacker = UserFactory(), UserFactory()
    usual, stranger = app.test_client(), app.test_client()
    assert attempt(usual, owner.username, PASSWORD, "198.51.100.7").status_code == 302  # logged in here before
    usual.post("/logout")
    assert attempt(stranger, attacker.username, PASSWORD, "203.0.113.1").status_code == 302  # the attacker's own
    stranger.post("/logout")

    for i in range(40):
        attempt(stranger, owner.username, f"guess-{i}", f"10.8.{i}.1")

    assert attempt(stranger, owner.username, PASSWORD, "10.9.0.1").status_code == 429
    assert attempt(usual, owner.username, PASSWORD, "198.51.100.7").status_code == 302
    assert logged_in(usual)
    usual.post("/logout")  # the usual browser has a wait of its own: a thief holding it still waits
    statuses = [attempt(usual, owner.username, "wrong-password", "198.51.100.7").status_code for _ in range(5)]
    assert statuses == [200] * 5
    assert attempt(usual, owner.username, PASSWORD, "198.51.100.7").status_code == 429


def test_a_guess_sent_while_another_is_checked_waits(limited, clock):
    throttle, budi = limited().extensions["login_throttle"], account_bucket("budi")
    for _ in range(4):
        assert throttle.begin(budi) == 0  # four wrong guesses (each counted before its check)
    assert throttle.begin(budi) == 0  # the fifth is being checked...
    assert throttle.begin(budi) == 60  # ...so one sent in parallel does not slip past the limit


def _redis_or_skip():
    redis = pytest.importorskip("redis", reason="the redis client is not installed")
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1) as connection:
            connection.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return redis


def test_the_limit_holds_across_workers_on_redis(limited):
    redis = _redis_or_skip()
    prefix = f"jejak-test-{uuid.uuid4().hex}"
    settings = {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": prefix},
        "LOGIN_ACCOUNT_DELAY": 3,
    }
    workers = [limited(**settings).test_client(), limited(**settings).test_client()]  # two processes' worth
    user, other = UserFactory(), UserFactory()
    try:
        statuses = [attempt(workers[i % 2], user.username, "wrong", f"10.7.0.{i}").status_code for i in range(8)]
        refused = attempt(workers[1], user.username, PASSWORD, "10.7.1.1")

        assert statuses == [200] * 5 + [429] * 3
        assert refused.status_code == 429 and "Tunggu 1 menit" in refused.text
        assert attempt(workers[0], other.username, PASSWORD, "10.7.1.2").status_code == 302
        time.sleep(3.1)
        assert attempt(workers[1], user.username, PASSWORD, "10.7.1.3").status_code == 302
        assert logged_in(workers[1])
    finally:
        with redis.Redis.from_url(REDIS_URL) as connection:
            for key in connection.scan_iter(f"{prefix}:*"):
                connection.delete(key)
