"""BAST pages (a closed handover's verification page, which the PDF's QR code opens, and its PDF) and
incident photos."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from webapp.auth.access import box_in_scope, roles_required
from webapp.boxes.models import Box
from webapp.custody.handovers import handover_json, may_see
from webapp.custody.integrity import verify_box
from webapp.custody.models import CustodyEvent, Handover, IncidentPhoto
from webapp.extensions import db

bp = Blueprint("bast", __name__)


def _closed(number: str) -> Handover:
    handover = db.session.scalar(select(Handover).where(Handover.number == number.upper()))
    if handover is None or handover.status != "closed":
        abort(404)
    if not may_see(current_user, handover):
        abort(403)
    return handover


@bp.route("/bast/<number>")
@roles_required()
def verify(number: str):
    """What the BAST says, whether its stored PDF still has the fingerprint taken at closing (compare
    a printed copy's with it), and whether each box's chain in the ledger still verifies."""
    handover = _closed(number)
    digest = hashlib.sha256(handover.pdf or b"").hexdigest()
    ssccs = [item["sscc"] for item in handover.summary["items"]]
    boxes = {box.sscc: box for box in db.session.scalars(select(Box).where(Box.sscc.in_(ssccs)))}
    chains = {sscc: verify_box(db.session, boxes[sscc]) for sscc in ssccs if sscc in boxes}
    return render_template(
        "custody/bast.html",
        handover=handover,
        data=handover_json(db.session, handover),
        pdf_matches=digest == handover.pdf_sha256,
        chains=chains,
    )


@bp.route("/bast/<number>.pdf")
@roles_required()
def pdf(number: str):
    handover = _closed(number)
    return Response(
        handover.pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{handover.number}.pdf"'},
    )


@bp.route("/photos/<sha256>.jpg")
@roles_required()
def photo(sha256: str):
    """An incident photo, for whoever may see a box whose event names it."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        abort(404)
    stored = db.session.scalar(select(IncidentPhoto).where(IncidentPhoto.sha256 == sha256))
    boxes = db.session.scalars(
        select(Box)
        .join(CustodyEvent, CustodyEvent.box_id == Box.id)
        .where(CustodyEvent.note.contains(f"sha256:{sha256}"))
    ).all()
    if stored is None or not boxes:
        abort(404)
    if not any(box_in_scope(current_user, box) for box in boxes):
        abort(403)
    response = Response(stored.data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
