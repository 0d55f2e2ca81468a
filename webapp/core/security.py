"""Login, bearer tokens, CSRF, rate limits and security headers (a strict CSP: no inline code)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, Request, g, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from webapp.auth import throttle
from webapp.extensions import csrf, db, limiter, login_manager, talisman

log = logging.getLogger(__name__)

CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'wasm-unsafe-eval'",  # the barcode reader is WebAssembly (zxing-wasm)
    "style-src": "'self'",
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "media-src": "'self' blob:",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
SESSION_ID = re.compile(r"(?P<id>[0-9]+):(?P<version>[0-9]+)")
PERMISSIONS_POLICY = {"camera": "(self)", "geolocation": "(self)", "microphone": "()"}


def is_api_request() -> bool:
    """API routes answer JSON (401/403 envelopes); pages redirect to login or show an error page."""
    return request.path.startswith("/api/")


def safe_local_url(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page: never an open redirect."""
    if (
        not target
        or urlsplit(target).scheme
        or urlsplit(target).netloc
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return url_for("main.home")
    return target


def _load_user(session_id: str):
    """The session's user, on every request: only while the account is active and the session's version
    (kept at login, see User.get_id) is still the user's, so logout, a new password or disabling ends it."""
    from webapp.auth.models import User

    match = SESSION_ID.fullmatch(session_id)
    if match is None:  # a session from before versions were kept: log in again
        return None
    user = db.session.get(User, int(match["id"]))
    if user is None or not user.active or user.session_version != int(match["version"]):
        return None
    return user


def _load_user_from_bearer(req: Request):
    """`Authorization: Bearer TOKEN` authenticates API requests only."""
    if not is_api_request():
        return None
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    from webapp.auth.models import ApiToken, User, hash_token
    from webapp.core.database import in_transaction

    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    g.authenticated_by_token = True  # no CSRF token needed: a bearer token is not sent by browsers on their own
    now = datetime.now(UTC)
    last = row.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite returns naive UTC
        last = last.replace(tzinfo=UTC)
    if last is None or now - last > TOKEN_TOUCH_INTERVAL:  # not a write per request
        user_id, token_id = row.user_id, row.id
        try:  # its own small transaction, before the request's own; tried once
            in_transaction(lambda: setattr(row, "last_used_at", now), attempts=1)
        except OperationalError:  # a concurrent first use holds the write lock (SQLite): the touch can wait
            log.info("token %s: last use not recorded (database busy)", token_id)
            return db.session.get(User, user_id)
    return row.user


def _unauthorized():
    """API callers get a 401 envelope; people are sent to the login page."""
    from flask import flash, redirect

    from webapp.core.errors import error_response

    if is_api_request():
        return error_response(401, message=str(_l("Log in or send a valid bearer token.")))
    flash(str(login_manager.login_message), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    """Wire Flask-Login, CSRF, the rate limiter and Talisman's headers."""
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"])
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_user_from_bearer)
    login_manager.unauthorized_handler(_unauthorized)
    csrf.init_app(app)
    limiter.init_app(app)
    # Login attempts per username, beside the per-address limit, on the same storage (when limits are on).
    throttle.init_app(app, limiter.storage if app.config["RATELIMIT_ENABLED"] else None)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS_POLICY,
    )
