"""BAST pages (a closed handover's verification page, which the PDF's QR code opens, and its PDF) and
incident photos."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from webapp.auth.access import box_in_scope, roles_required, site_clause
from webapp.boxes.models import Box
from webapp.core.exports import csv_response, xlsx_response
from webapp.custody.event import utc_text
from webapp.custody.handovers import handover_json, may_see
from webapp.custody.holders import user_holder
from webapp.custody.models import CustodyEvent, Handover, IncidentPhoto
from webapp.custody.verification import verify_box
from webapp.extensions import db
from webapp.geo.models import Site

bp = Blueprint("bast", __name__)


def _handovers(limit: int) -> list[Handover]:
    """Handovers the user took part in or whose sender or receiver site is in their scope, newest first."""
    user = current_user
    in_scope = select(Site.id).where(site_clause(user))
    return list(
        db.session.scalars(
            select(Handover)
            .where(
                or_(
                    Handover.sender_id == user.id,
                    Handover.receiver_user_id == user.id,
                    Handover.sender_site_id.in_(in_scope),
                    Handover.receiver_site_id.in_(in_scope),
                )
            )
            .options(
                selectinload(Handover.sender_site),
                selectinload(Handover.receiver_site),
                selectinload(Handover.receiver_user),
                selectinload(Handover.sender),
            )
            .order_by(Handover.id.desc())
            .limit(limit)
        )
    )


def _counts(handover: Handover) -> dict[str, int]:
    items = (handover.summary or {}).get("items", [])
    counts = {"received": 0, "missing": 0, "unexpected": 0}
    for item in items:
        counts[item["outcome"]] = counts.get(item["outcome"], 0) + 1
    return counts


@bp.route("/handovers")
@roles_required()
def handovers():
    """The handovers (BAST) in the user's scope: open ones and closed ones, with their counts."""
    rows = _handovers(200)
    return render_template("custody/handovers.html", handovers=rows, counts={h.id: _counts(h) for h in rows})


def _handover_table() -> tuple[list[str], list[list]]:
    header = [
        _("BAST number"),
        _("Status"),
        _("From"),
        _("To"),
        _("Opened"),
        _("Closed"),
        _("Received"),
        _("Missing"),
        _("Unexpected"),
        _("PDF SHA-256"),
    ]
    body = []
    for h in _handovers(50_000):
        counts = _counts(h)
        receiver = h.receiver_site.code if h.receiver_site else user_holder(h.receiver_user.username)
        body.append(
            [
                h.number or "",
                _("closed") if h.status == "closed" else _("in progress"),
                h.sender_site.code,
                receiver,
                utc_text(h.created_at),
                utc_text(h.closed_at) if h.closed_at else "",
                counts["received"],
                counts["missing"],
                counts["unexpected"],
                h.pdf_sha256 or "",
            ]
        )
    return header, body


@bp.route("/handovers.csv")
@roles_required()
def handovers_csv():
    return csv_response("bast", *_handover_table())


@bp.route("/handovers.xlsx")
@roles_required()
def handovers_xlsx():
    return xlsx_response("bast", _("Handovers"), *_handover_table(), freeze="A2")


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
