"""Login attempts per username, with backoff, beside Flask-Limiter's per-address limit and on its storage.

Flask-Limiter counts POST /login per address; an attacker with many addresses is not slowed by that.
This counts wrong passwords per username instead: after `failures` of them within `window` seconds,
the username must wait `delay` seconds after each further failure, doubling up to `max_delay`. The wait
applies to a right password too (or the limit would only slow the guesses that fail), is the same for
a username that does not exist (no account enumeration), and never lasts longer than `max_delay`, so
the owner gets in after minutes, never hours. A right password resets the count.

A browser that has logged in as a username before (it holds a signed "known browser" cookie naming
it) is counted apart from the rest, in a bucket of its own with the same backoff: strangers who keep
the username waiting do not keep its owner out of their usual browser (OWASP's "device cookies").

An attempt is counted before its password is checked and, from the `failures`-th on, the next wait
starts at once (lifted again if the password is right): so parallel guesses cannot all slip through
while the first one is still being checked.
"""

from __future__ import annotations

import math
import secrets
import time

from flask import Flask
from itsdangerous import BadData, URLSafeTimedSerializer
from limits.storage import Storage

KEY = "jejak-login"
BROWSER_COOKIE = "jejak_known_browser"
BROWSER_SALT = "jejak-known-browser"
BROWSER_USERNAMES = 5  # a shared desk browser remembers its last few people


class LoginThrottle:
    """Per-bucket (a normalised username) failure count and backoff, on a `limits` storage."""

    def __init__(
        self, storage: Storage, *, failures: int, window: int, delay: int, max_delay: int, prefix: str = ""
    ) -> None:
        self.storage = storage
        self.failures = max(1, failures)
        self.window = max(1, window)
        self.delay = max(1, delay)
        self.max_delay = max(self.delay, max_delay)
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.failures} per {self.window}s, wait {self.delay}-{self.max_delay}s>"

    def _count_key(self, bucket: str) -> str:
        return f"{self.prefix}{KEY}/{bucket}/count"

    def _wait_key(self, bucket: str, count: int) -> str:
        return f"{self.prefix}{KEY}/{bucket}/wait/{count}"

    def _delay_after(self, count: int) -> int:
        """Seconds to wait after the `count`-th failure: `delay`, doubling per failure, at most `max_delay`."""
        return min(self.delay * 2 ** min(count - self.failures, 32), self.max_delay)

    def _wait_for(self, bucket: str, count: int) -> int:
        """Seconds still to wait after the `count`-th failure (0: none)."""
        if count < self.failures:
            return 0
        key = self._wait_key(bucket, count)
        if not self.storage.get(key):
            return 0
        return max(1, math.ceil(self.storage.get_expiry(key) - time.time()))

    def begin(self, bucket: str) -> int:
        """Count an attempt whose password is about to be checked; returns 0 to go ahead, else the seconds to
        wait (the attempt is then refused unchecked and, unless it raced another, not counted)."""
        before = self.storage.get(self._count_key(bucket))
        if waiting := self._wait_for(bucket, before):
            return waiting
        count = self.storage.incr(self._count_key(bucket), self.window)
        if count >= self.failures:  # the next wait starts now; a right password lifts it
            self.storage.incr(self._wait_key(bucket, count), self._delay_after(count))
        if count > self.failures and count != before + 1:  # another attempt took this turn first
            return self._wait_for(bucket, count) or 1
        return 0

    def succeeded(self, bucket: str) -> None:
        """A right password: forget the bucket's failures and the wait its attempt started."""
        count = self.storage.get(self._count_key(bucket))
        self.storage.clear(self._count_key(bucket))
        self.storage.clear(self._wait_key(bucket, count))


def init_app(app: Flask, storage: Storage | None) -> None:
    """Give the app a LoginThrottle on the rate limiter's storage, or none when rate limiting is off."""
    config = app.config
    app.extensions["login_throttle"] = (
        LoginThrottle(
            storage,
            failures=config["LOGIN_ACCOUNT_FAILURES"],
            window=config["LOGIN_ACCOUNT_WINDOW"],
            delay=config["LOGIN_ACCOUNT_DELAY"],
            max_delay=config["LOGIN_ACCOUNT_MAX_DELAY"],
            prefix=config.get("RATELIMIT_KEY_PREFIX", ""),
        )
        if storage is not None
        else None
    )


def account_bucket(username: str) -> str:
    """The bucket of a normalised username."""
    return f"user/{username}"


def _browser_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=BROWSER_SALT)


def _known_usernames(cookie: str | None, secret_key: str, max_age: int) -> dict[str, str]:
    """Username > browser id from a known-browser cookie; empty when missing, forged or too old."""
    if not cookie:
        return {}
    try:
        known = _browser_serializer(secret_key).loads(cookie, max_age=max_age)
    except BadData:
        return {}
    return known if isinstance(known, dict) else {}


def browser_bucket(cookie: str | None, secret_key: str, max_age: int, username: str) -> str | None:
    """The bucket of this browser for the username, when it has logged in as that username before."""
    browser_id = _known_usernames(cookie, secret_key, max_age).get(username)
    return f"browser/{browser_id}" if isinstance(browser_id, str) else None


def remember_browser(cookie: str | None, secret_key: str, max_age: int, username: str) -> str:
    """The known-browser cookie after a right password for `username`: a fresh id for it, first in line."""
    known = _known_usernames(cookie, secret_key, max_age)
    known.pop(username, None)
    known = {username: secrets.token_urlsafe(12), **known}
    return _browser_serializer(secret_key).dumps(dict(list(known.items())[:BROWSER_USERNAMES]))
