"""The alerts page: every alert in the user's scope, newest first, filtered by state and kind; a supervisor
acknowledges and resolves each with a note, and the history stays. CSV and XLSX exports."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import HiddenField, TextAreaField
from wtforms.validators import AnyOf, Length

from webapp.alerts.services import (
    ACTORS,
    STATE_FILTERS,
    AlertError,
    act,
    alert_query,
    alerts_in_scope,
    parse_before,
)
from webapp.auth.access import roles_required
from webapp.core.database import in_transaction
from webapp.core.exports import csv_response, xlsx_response
from webapp.core.names import alert_kind_label, alert_state_label
from webapp.custody.event import utc_text
from webapp.custody.holders import holder_words
from webapp.custody.models import Alert, AlertAction
from webapp.extensions import db

bp = Blueprint("alerts", __name__)
PAGE = 50  # alerts per page, newest first; ?before=ID for older ones


class AlertActionForm(FlaskForm):
    action = HiddenField(validators=[AnyOf(["acknowledge", "resolve"])])
    note = TextAreaField(_l("Note"), validators=[Length(max=1000)])


def _before() -> int | None:
    """The page of older alerts asked for (an unusable value shows the newest)."""
    try:
        return parse_before(request.args.get("before"))
    except ValueError:
        return None


def _filters() -> dict:
    """The alerts page's filters from the query string; an unknown state shows every state."""
    state = request.args.get("state", "")
    return {
        "state": state if state in STATE_FILTERS else "",
        "kind": request.args.get("kind", "")[:32],
        "region": request.args.get("region", "")[:13],
    }


@bp.route("/alerts")
@roles_required()
def alerts():
    filters, before = _filters(), _before()
    query = alert_query(current_user, **filters, before=before)
    rows = db.session.scalars(query.limit(PAGE + 1).options(selectinload(Alert.box), selectinload(Alert.site))).all()
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    rows = rows[:PAGE]
    steps = {}
    for step in db.session.scalars(
        select(AlertAction).where(AlertAction.alert_id.in_([a.id for a in rows])).order_by(AlertAction.id)
    ):
        steps.setdefault(step.alert_id, []).append(step)
    return render_template(
        "alerts/alerts.html",
        alerts=rows,
        steps=steps,
        **filters,
        before=before,
        older=older,
        form=AlertActionForm(),
        may_act=current_user.role in ACTORS,
        holders=holder_words(db.session, _holders(rows)),
    )


def _holders(rows: list[Alert]) -> set[str]:
    """The holders and sites an alert's details name by code, to be shown by name."""
    found = set()
    for alert in rows:
        details = alert.details or {}
        found.add(details.get("to"))
        for seen in ("seen_before", "seen_now"):
            if isinstance(details.get(seen), dict):
                found.add(details[seen].get("site"))
    return {h for h in found if isinstance(h, str)}


@bp.route("/alerts/<int:alert_id>", methods=["POST"])
@roles_required(*ACTORS)
def act_on(alert_id: int):
    form = AlertActionForm()
    alert = db.session.scalar(select(Alert).where(Alert.id == alert_id, alerts_in_scope(current_user)))
    if alert is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    actor = current_user._get_current_object()
    try:
        in_transaction(lambda: act(db.session, alert, actor=actor, action=form.action.data, note=form.note.data))
    except AlertError as exc:
        flash(
            _("Write what was done before resolving the alert.")
            if exc.code == "invalid_request"
            else _("Already done."),
            "error",
        )
    else:
        flash(_("Alert updated."), "ok")
    # Back to the same filtered page, at the alert just handled.
    filters = {name: value or None for name, value in _filters().items()}
    page = url_for("alerts.alerts", **filters, before=_before())
    return redirect(f"{page}#alert-{alert.id}")


def _table() -> tuple[list[str], list[list]]:
    query = alert_query(current_user, **_filters())
    rows = db.session.scalars(query.limit(50_000).options(selectinload(Alert.box), selectinload(Alert.site))).all()
    header = [_("Id"), _("Kind"), _("State"), _("Box"), _("Site"), _("Raised"), _("Resolved"), _("Resolution")]
    body = [
        [
            a.id,
            alert_kind_label(a.kind),
            alert_state_label(a.state),
            a.box.sscc if a.box else (a.details or {}).get("sscc", ""),  # a box of another area: its code only
            a.site.code if a.site else "",
            utc_text(a.created_at),
            utc_text(a.resolved_at) if a.resolved_at else "",
            a.resolution_note or "",
        ]
        for a in rows
    ]
    return header, body


@bp.route("/alerts.csv")
@roles_required()
def alerts_csv():
    return csv_response("peringatan", *_table())


@bp.route("/alerts.xlsx")
@roles_required()
def alerts_xlsx():
    return xlsx_response("peringatan", _("Alerts"), *_table(), freeze="B2")
