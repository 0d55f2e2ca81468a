"""The packing station page: scan a box, then its packets; every verdict big, the missing list below."""

from __future__ import annotations

from flask import Blueprint, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.auth.access import box_writable, roles_required
from webapp.auth.models import Role
from webapp.boxes.cartons import carton_json, find_carton, open_carton
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box
from webapp.boxes.packing import missing_packets, pack_packet, packet_json, parse_seals, seal_box
from webapp.core.database import writes
from webapp.custody import messages
from webapp.custody.actions import unsealed
from webapp.custody.models import Verdict
from webapp.extensions import db

bp = Blueprint("packing", __name__)


class PackForm(FlaskForm):
    site = StringField(_l("Packing at"), validators=[DataRequired(), Length(max=24)])
    carton = StringField(_l("Printer's carton (counting from)"), validators=[Optional(), Length(max=512)])
    box = StringField(_l("Box label"), validators=[Optional(), Length(max=512)])
    packet = StringField(_l("Packet label"), validators=[Length(max=512)])
    seals = StringField(_l("Seal numbers"), validators=[Length(max=900)])
    note = TextAreaField(_l("Why packets are missing (a shortage)"), validators=[Length(max=800)])
    step = HiddenField()


def _next_seq() -> int:
    session["packing_seq"] = seq = session.get("packing_seq", 0) + 1
    return seq


@bp.route("/packing", methods=["GET", "POST"])
@roles_required(Role.WAREHOUSE)
@writes
def station():
    """Open a printer's carton, scan a box label, then the packets counted from the carton into the box
    (a phone camera later, a wedge scanner or typing now). Carton and box stay for the next packet."""
    form = PackForm()
    if not form.is_submitted():
        form.site.data = current_user.scope_site.code if current_user.scope_site else ""
    result = message = carton = carton_result = sealed = seal_message = None
    box = None
    actor = current_user._get_current_object()
    device = f"web-{current_user.username}"[:64]
    if form.validate_on_submit():
        if form.carton.data:
            carton_result = open_carton(
                db.session,
                actor=actor,
                site_code=form.site.data,
                carton_code=form.carton.data,
                device_id=device,
                device_seq=_next_seq(),
            )
            carton = find_carton(db.session, form.carton.data) if carton_result.verdict != Verdict.REFUSED else None
            if carton is None:
                form.packet.data = ""
        if form.box.data:
            try:
                box = db.session.scalar(select(Box).where(Box.sscc == parse_code(form.box.data)))
            except CodeError:
                box = None
            if box is None:
                form.box.errors = [_("Not a Jejak box label.")]
            elif not box_writable(actor, box):  # nothing of another area's box: not even what it lacks
                form.box.errors = [
                    _("This box is outside your area: you may not change it. Hand it to your supervisor.")
                ]
                box = None
        elif not form.carton.data:
            form.box.errors = [_("Scan a box label (or a printer's carton first).")]
        if box is not None and form.step.data == "seal":
            sealed, seal_message = _seal(form, box, actor, device)
            box = db.session.get(Box, box.id)
        elif box is not None and form.packet.data and (carton is not None or not form.carton.data):
            result = pack_packet(
                db.session,
                actor=actor,
                site_code=form.site.data,
                box_code=form.box.data,
                packet_code=form.packet.data,
                carton_code=form.carton.data or None,
                device_id=device,
                device_seq=_next_seq(),
            )
            message = messages.message(result, "pack")
            box = db.session.get(Box, box.id)
        form.packet.data = ""  # ready for the next packet
        form.step.data = ""
    missing = [packet_json(p) for p in missing_packets(db.session, box)] if box is not None else []
    return render_template(
        "boxes/packing.html",
        form=form,
        box=box,
        result=result,
        message=message,
        missing=missing,
        carton=carton_json(db.session, carton) if carton is not None else None,
        carton_result=carton_result,
        carton_message=messages.message(carton_result, "carton") if carton_result else None,
        posted=request.method == "POST",
        sealed=sealed,
        seal_message=seal_message,
        may_travel=box is not None and not unsealed(box),
    )


def _seal(form: PackForm, box: Box, actor, device: str):
    """Seal the box with the seal numbers given (and the shortage's reason, when packets are missing):
    the outcome and what the person reads, or (None, None) with the field's error when a number is wrong."""
    seals = parse_seals(form.seals.data)
    if not seals:
        form.seals.errors = [
            _("Give the seal numbers, separated by commas: letters, digits, - / . only, at most 20 seals.")
            if seals is None
            else _("Give the seal numbers put on the box.")
        ]
        return None, None
    result = seal_box(
        db.session,
        actor=actor,
        site_code=form.site.data,
        box=box,
        seals=seals,
        note=form.note.data,
        device_id=device,
        device_seq=_next_seq(),
    )
    if result.verdict == Verdict.REFUSED:
        return result, messages.message(result)
    form.seals.data = form.note.data = ""
    return result, _("Sealed with %(seals)s: the box is ready to dispatch.", seals=", ".join(seals))
