"""Home per role: what this person should do next, with live counts from their scope."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import func, select, text

from webapp.auth.access import box_clause, roles_required, site_clause, user_clause
from webapp.auth.models import Role, User
from webapp.boxes.models import Box
from webapp.core.security import safe_local_url
from webapp.extensions import csrf, db, talisman
from webapp.geo.models import Site, SiteKind

bp = Blueprint("main", __name__)


def _box_status_counts() -> dict[str, int]:
    rows = db.session.execute(select(Box.status, func.count()).where(box_clause(current_user)).group_by(Box.status))
    return dict(rows.all())


def _site_counts() -> dict[str, int]:
    rows = db.session.execute(select(Site.kind, func.count()).where(site_clause(current_user)).group_by(Site.kind))
    return dict(rows.all())


@bp.route("/")
@roles_required()
def home():
    """The home page for the logged-in person's role."""
    context = {"box_counts": _box_status_counts(), "site_counts": _site_counts()}
    context["box_total"] = sum(context["box_counts"].values())
    if current_user.role == Role.ADMIN:
        context["user_count"] = db.session.scalar(
            select(func.count()).select_from(User).where(user_clause(current_user))
        )
    if current_user.role == Role.COURIER:
        context["held"] = db.session.scalar(
            select(func.count()).select_from(Box).where(Box.holder_user_id == current_user.id)
        )
    if current_user.scope_site is not None:
        context["site"] = current_user.scope_site
        context["below"] = db.session.scalar(
            select(func.count())
            .select_from(Site)
            .where(site_clause(current_user), Site.id != current_user.scope_site_id)
        )
    context["tps_count"] = context["site_counts"].get(SiteKind.TPS.value, 0)
    return render_template("main/home.html", **context)


@bp.route("/lang", methods=["POST"])
def set_language():
    """Remember the chosen language for this browser session and go back."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400)
    session["lang"] = lang
    return redirect(safe_local_url(request.form.get("next")))


@bp.route("/healthz")
@csrf.exempt
# Load balancers and proxies probe over plain HTTP on the private side; a redirect to HTTPS would read as
# "down". The probe answers only {"status": "ok"}, so nothing is exposed by serving it without TLS.
@talisman(force_https=False)
def healthz():
    """Liveness and database reachability for the load balancer."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
