"""The public box page at the GS1 Digital Link URL a box's QR code carries (`/00/{SSCC}`).

Without login, a voter or journalist scanning a box at a TPS sees that it is genuine: what it is, where
it is bound, its status, the level and time of its last handover, and whether its chain of custody
verifies. No names, no GPS, no seals, no manifest, no notes: nothing a scoped user could not also see.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user
from sqlalchemy import select

from webapp.auth.access import box_in_scope
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box
from webapp.custody.checkpoints import log_verifier
from webapp.custody.models import CustodyEvent
from webapp.custody.verification import verify_box
from webapp.custody.witnesses import active_witnesses
from webapp.extensions import db, limiter
from webapp.geo.models import Site
from webapp.geo.zones import OFFSETS, zone_of

bp = Blueprint("public", __name__)
SSCC = re.compile(r"^[0-9]{18}$")


@bp.route("/00/<sscc>")
@limiter.limit(lambda: current_app.config.get("PUBLIC_RATE_LIMIT", "120 per minute"))
def box(sscc: str):
    """A box as anyone may see it; an unknown or malformed SSCC is a plain 404 page."""
    try:
        if not SSCC.match(sscc):
            raise CodeError("not_a_label", "not an SSCC")
        sscc = parse_code(sscc)  # the check digit too
    except CodeError:
        abort(404)
    found = db.session.scalar(select(Box).where(Box.sscc == sscc))
    if found is None:
        abort(404)
    last = db.session.execute(
        select(CustodyEvent.kind, CustodyEvent.scanned_at, Site.kind)
        .outerjoin(Site, Site.id == CustodyEvent.site_id)
        .where(CustodyEvent.box_id == found.id)
        .order_by(CustodyEvent.box_seq.desc())
        .limit(1)
    ).first()
    last_event = db.session.execute(
        select(CustodyEvent.id, CustodyEvent.hash)
        .where(CustodyEvent.box_id == found.id)
        .order_by(CustodyEvent.box_seq.desc())
        .limit(1)
    ).first()
    return render_template(
        "public/box.html",
        last_event=last_event,
        log_vkey=log_verifier(current_app.config).vkey,
        witness_keys=[w.vkey for w, _key in active_witnesses(db.session)],
        max_delay=current_app.config.get("LEDGER_MAX_DELAY", 60),
        zone=zone_of(found.destination),
        zone_offset=OFFSETS[zone_of(found.destination)],
        box=found,
        destination=found.destination,
        last=last,
        chain_ok=verify_box(db.session, found),
        may_trace=current_user.is_authenticated and box_in_scope(current_user, found),
    )
