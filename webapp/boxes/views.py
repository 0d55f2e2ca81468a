"""A box's trace page: identity, route with its position, custody timeline, alerts, and whether its chain verifies."""

from __future__ import annotations

import re

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import require_box, roles_required, site_clause
from webapp.boxes.models import Box, BoxKind, ManifestLine, Packet
from webapp.core.names import event_kind_label
from webapp.custody.actions import EventKind
from webapp.custody.corrections import correctable
from webapp.custody.holders import holder_words
from webapp.custody.models import Alert, CorrectionRequest, CustodyEvent
from webapp.custody.verification import verify_box
from webapp.extensions import db
from webapp.geo.models import Site

bp = Blueprint("boxes", __name__)
# What label printing writes in its event's note (labels/services.py): words for a machine, not a person.
PRINTED_NOTE = "label printed"
REPRINT_NOTE = re.compile(r"^REPRINT (\d+)$")


def event_title(event: CustodyEvent) -> str:
    """An event's name on the trace page: its action's name, a reprint told apart from a first print."""
    reprint = REPRINT_NOTE.match(event.note or "") if event.kind == EventKind.COMMISSION else None
    if reprint:
        return _("Label reprinted (reprint no. %(n)s)", n=int(reprint.group(1)))
    return event_kind_label(event.kind)


def event_note(event: CustodyEvent) -> str | None:
    """An event's note as a person wrote it; the notes label printing writes itself are told by the title."""
    if event.kind == EventKind.COMMISSION and (event.note == PRINTED_NOTE or REPRINT_NOTE.match(event.note or "")):
        return None
    return event.note


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
    # Corrections: each request by the event it asks about and by the correction event it made.
    requests = db.session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.box_id == box.id)
        .order_by(CorrectionRequest.id)
        .options(selectinload(CorrectionRequest.requested_by), selectinload(CorrectionRequest.decided_by))
    ).all()
    latest = correctable(db.session, box, events)
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
        asked={r.event_id: r for r in requests},
        made_by={r.correction_event_id: r for r in requests if r.correction_event_id},
        fixed_by={e.corrects: e for e in events if e.kind == "correct"},
        may_ask=latest if latest is not None and latest.actor_id == current_user.id else None,
        holders=holder_words(db.session, {h for e in events for h in (e.from_holder, e.to_holder)}),
        event_title=event_title,
        event_note=event_note,
    )
