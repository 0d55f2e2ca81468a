"""The packing station page: scan a box, then its packets; every verdict big, the missing list below."""

from __future__ import annotations

from flask import Blueprint, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from webapp.auth.access import roles_required
from webapp.auth.models import Role
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box
from webapp.boxes.packing import missing_packets, pack_packet, packet_json
from webapp.core.database import begin_write
from webapp.custody.messages import pack_message
from webapp.extensions import db

bp = Blueprint("packing", __name__)


class PackForm(FlaskForm):
    site = StringField(_l("Packing at"), validators=[DataRequired(), Length(max=24)])
    box = StringField(_l("Box label"), validators=[DataRequired(), Length(max=512)])
    packet = StringField(_l("Packet label"), validators=[Length(max=512)])


@bp.route("/packing", methods=["GET", "POST"])
@roles_required(Role.WAREHOUSE)
def station():
    """Scan a box label, then packet labels into it (a phone camera later, a wedge scanner or typing now)."""
    form = PackForm()
    if not form.is_submitted():
        form.site.data = current_user.scope_site.code if current_user.scope_site else ""
    result = message = None
    box = None
    if form.validate_on_submit():
        try:
            box = db.session.scalar(select(Box).where(Box.sscc == parse_code(form.box.data)))
        except CodeError:
            box = None
        if box is None:
            form.box.errors = [_("Not a Jejak box label.")]
        elif form.packet.data:
            session["packing_seq"] = seq = session.get("packing_seq", 0) + 1
            begin_write(db.session)
            result = pack_packet(
                db.session,
                actor=current_user._get_current_object(),
                site_code=form.site.data,
                box_code=form.box.data,
                packet_code=form.packet.data,
                device_id=f"web-{current_user.username}"[:64],
                device_seq=seq,
            )
            db.session.commit()
            message = pack_message(result)
            box = db.session.get(Box, box.id)
        form.packet.data = ""  # ready for the next packet
    missing = [packet_json(p) for p in missing_packets(db.session, box)] if box is not None else []
    return render_template(
        "boxes/packing.html",
        form=form,
        box=box,
        result=result,
        message=message,
        missing=missing,
        posted=request.method == "POST",
    )
