"""Login and logout."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from webapp.auth.forms import LoginForm
from webapp.auth.models import User, dummy_password_hash
from webapp.auth.services import normal_username
from webapp.auth.throttle import BROWSER_COOKIE, LoginThrottle, account_bucket, browser_bucket, remember_browser
from webapp.core.database import in_transaction
from webapp.core.security import safe_local_url
from webapp.extensions import db, limiter

bp = Blueprint("auth", __name__)

log = logging.getLogger(__name__)


@bp.record_once
def _make_the_dummy_hash(_state) -> None:
    """At start-up, not during the first login for an unknown username (which would then take longer)."""
    dummy_password_hash()


def _wait_before_trying(form: LoginForm, wait: int):
    """The login page again, 429, saying how many minutes to wait (nothing about the account)."""
    minutes = math.ceil(wait / 60)
    flash(
        ngettext(
            "Too many failed logins. Wait %(num)s minute, then try again.",
            "Too many failed logins. Wait %(num)s minutes, then try again.",
            minutes,
        ),
        "error",
    )
    return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}


def _browser_bucket(username: str) -> str | None:
    """This browser's own login bucket for the username, when it has logged in as them before."""
    return browser_bucket(
        request.cookies.get(BROWSER_COOKIE),
        current_app.config["SECRET_KEY"],
        current_app.config["LOGIN_KNOWN_BROWSER_DAYS"] * 86400,
        username,
    )


def _remember_browser(response: Response, username: str) -> Response:
    """Mark this browser as one the username logs in from (sent back to POST /login only)."""
    max_age = current_app.config["LOGIN_KNOWN_BROWSER_DAYS"] * 86400
    value = remember_browser(request.cookies.get(BROWSER_COOKIE), current_app.config["SECRET_KEY"], max_age, username)
    response.set_cookie(
        BROWSER_COOKIE,
        value,
        max_age=max_age,
        path=url_for("auth.login"),
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        username = normal_username(form.username.data)
        throttle: LoginThrottle | None = current_app.extensions["login_throttle"]  # None: rate limits are off
        bucket = _browser_bucket(username) or account_bucket(username)
        wait = throttle.begin(bucket) if throttle else 0
        if wait:  # the same whether or not the username exists, and even for the right password
            log.warning("login for %r refused: %d s to wait", username, wait)
            return _wait_before_trying(form, wait)
        user = db.session.scalar(select(User).where(User.username == username))
        if not User.password_matches(user, form.password.data):  # as long for an unknown username
            flash(_("Wrong username or password."), "error")
        elif not user.active:
            flash(_("This account is disabled. Ask your administrator."), "error")
        else:
            if throttle:
                throttle.succeeded(bucket)
            login_user(user)
            in_transaction(lambda: setattr(user, "last_login_at", datetime.now(UTC)))
            log.info("login %s", user.username)
            return _remember_browser(redirect(safe_local_url(request.args.get("next"))), username)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST, so another site cannot log a person out) everywhere: every session of the user ends,
    copies of this browser's cookie included."""
    user = current_user._get_current_object()
    in_transaction(user.end_sessions)
    log.info("logout %s", current_user.username)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
