"""Corrections of mistaken scans on screen: the author asks from the box's trace page (/boxes/<SSCC>); a
supervisor sees the pending requests of their area (/corrections, linked from the alerts page) and approves
or rejects each with a note. The rules are custody/corrections.py's."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import require_box, roles_required
from webapp.auth.models import Role
from webapp.boxes.models import Box
from webapp.core.database import writes
from webapp.core.exceptions import JejakError
from webapp.custody.corrections import decide, pending_query, request_correction
from webapp.custody.models import CorrectionRequest, CustodyEvent
from webapp.extensions import db

bp = Blueprint("corrections", __name__)


@bp.route("/boxes/<sscc>/events/<int:event_id>/correction", methods=["POST"])
@roles_required()
@writes
def ask(sscc: str, event_id: int):
    """The author of the box's latest scan asks to correct it, with a reason."""
    box = require_box(current_user, db.session.scalar(select(Box).where(Box.sscc == sscc)))
    event = db.session.get(CustodyEvent, event_id)
    if event is None or event.box_id != box.id:
        abort(404)
    try:
        with db.session.begin_nested():  # a refusal writes nothing, and the page still says why
            request_correction(
                db.session,
                actor=current_user._get_current_object(),
                client_id=event.client_id,
                reason=request.form.get("reason"),
            )
    except JejakError as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("Correction requested: a supervisor of this area will decide."), "ok")
    return redirect(url_for("boxes.box", sscc=box.sscc) + f"#event-{event.id}")


@bp.route("/corrections")
@roles_required(Role.SUPERVISOR)
def pending():
    """The pending corrections of the supervisor's area, oldest first."""
    rows = db.session.scalars(
        pending_query(current_user)
        .limit(200)
        .options(
            selectinload(CorrectionRequest.event).selectinload(CustodyEvent.site),
            selectinload(CorrectionRequest.box),
            selectinload(CorrectionRequest.requested_by),
        )
    ).all()
    return render_template("custody/corrections.html", requests=rows)


@bp.route("/corrections/<int:request_id>", methods=["POST"])
@roles_required(Role.SUPERVISOR)
@writes
def decide_on(request_id: int):
    """Approve (the ledger gets the correction) or reject, with a note."""
    approve = request.form.get("decision") == "approve"
    if request.form.get("decision") not in ("approve", "reject"):
        abort(400)
    try:
        with db.session.begin_nested():
            decided = decide(
                db.session,
                actor=current_user._get_current_object(),
                request_id=request_id,
                approve=approve,
                note=request.form.get("note"),
            )
    except JejakError as refusal:
        if refusal.status == 404:
            abort(404)
        flash(refusal.message, "error")
        return redirect(url_for("corrections.pending"))
    flash(_("Correction approved and recorded in the ledger.") if approve else _("Correction rejected."), "ok")
    return redirect(url_for("corrections.pending") if not approve else url_for("boxes.box", sscc=decided.box.sscc))
