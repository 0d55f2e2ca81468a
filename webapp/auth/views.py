"""Login and logout."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from webapp.auth.forms import LoginForm
from webapp.auth.models import User
from webapp.core.security import safe_local_url
from webapp.extensions import db, limiter

bp = Blueprint("auth", __name__)

log = logging.getLogger(__name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip().lower()))
        if user is None or not user.check_password(form.password.data):
            flash(_("Wrong username or password."), "error")
        elif not user.active:
            flash(_("This account is disabled. Ask your administrator."), "error")
        else:
            login_user(user)
            user.last_login_at = datetime.now(UTC)
            db.session.commit()
            log.info("login %s", user.username)
            return redirect(safe_local_url(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out (POST, so another site cannot log a person out) everywhere: every session of the user ends,
    copies of this browser's cookie included."""
    current_user.end_sessions()
    db.session.commit()
    log.info("logout %s", current_user.username)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
