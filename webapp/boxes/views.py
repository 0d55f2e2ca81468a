"""A box's trace page: identity, route with its position, custody timeline, alerts, and whether its chain verifies."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import require_box, roles_required, site_clause
from webapp.boxes.models import Box, BoxKind, ManifestLine, Packet
from webapp.custody.models import Alert, CustodyEvent
from webapp.custody.verification import verify_box
from webapp.extensions import db
from webapp.geo.models import Site

bp = Blueprint("boxes", __name__)


@bp.route("/boxes/<sscc>")
@roles_required()
def box(sscc: str):
    """One box by its SSCC: where it should go, where it is, and every hand it passed through."""
    box = require_box(
        current_user,
        db.session.scalar(
            select(Box).where(Box.sscc == sscc).options(selectinload(Box.lines).selectinload(ManifestLine.item_type))
        ),
    )
    route = box.destination.route
    events = db.session.scalars(
        select(CustodyEvent)
        .where(CustodyEvent.box_id == box.id)
        .order_by(CustodyEvent.box_seq)
        .options(selectinload(CustodyEvent.site), selectinload(CustodyEvent.actor))
    ).all()
    visible_sites = select(Site.id).where(site_clause(current_user))
    alerts = db.session.scalars(
        select(Alert).where(Alert.box_id == box.id, Alert.site_id.in_(visible_sites)).order_by(Alert.id.desc())
    ).all()
    visited = {event.site_id for event in events}
    # What is inside (packets, each with the printer's carton it was counted from), or for a carton,
    # how much was counted out of it into which boxes.
    packets = db.session.scalars(
        select(Packet)
        .where((Packet.carton_id if box.kind == BoxKind.VENDOR_CARTON else Packet.box_id) == box.id)
        .order_by(Packet.id)
        .options(selectinload(Packet.item_type), selectinload(Packet.carton), selectinload(Packet.box))
    ).all()
    return render_template(
        "boxes/box.html",
        box=box,
        route=route,
        events=events,
        alerts=alerts,
        visited=visited,
        packets=packets,
        packed={p.item_type_id: p.quantity for p in packets} if box.kind != BoxKind.VENDOR_CARTON else None,
        chain_ok=verify_box(db.session, box),
    )
