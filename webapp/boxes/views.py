"""A box's page: identity, destination, manifest, seals and state."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.auth.access import require_box, roles_required
from webapp.boxes.models import Box, ManifestLine
from webapp.extensions import db

bp = Blueprint("boxes", __name__)


@bp.route("/boxes/<sscc>")
@roles_required()
def box(sscc: str):
    """One box by its SSCC."""
    box = require_box(
        current_user,
        db.session.scalar(
            select(Box).where(Box.sscc == sscc).options(selectinload(Box.lines).selectinload(ManifestLine.item_type))
        ),
    )
    route, node = [], box.destination
    while node is not None:
        route.insert(0, node)
        node = node.parent
    return render_template("boxes/box.html", box=box, route=route)
