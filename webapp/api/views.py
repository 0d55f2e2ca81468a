"""Read endpoints of API v1; every one checks role and scope through the access helper."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from webapp.auth.access import (
    region_clause,
    region_in_scope,
    require_box,
    require_region,
    require_site,
    roles_required,
    site_clause,
)
from webapp.boxes.models import Box
from webapp.core.errors import error_response
from webapp.core.names import role_label
from webapp.custody.holders import site_holder, user_holder
from webapp.extensions import csrf, db
from webapp.geo.models import Region, Site, dotted_code

bp = Blueprint("api", __name__)

csrf.exempt(bp)  # writes check CSRF themselves unless a bearer token authenticated them (api/custody.py)


@bp.before_request
def _refuse_nul_in_url():
    """A NUL in the path or the query is bad input (PostgreSQL text cannot hold one): 400, as the document
    states with its no-NUL pattern on every parameter. An anonymous caller gets its 401 from the view first."""
    query = (name + value for name, value in request.args.items(multi=True))
    if "\x00" not in request.path and not any("\x00" in text for text in query):
        return None
    if not current_user.is_authenticated:
        return None
    return error_response(400, "invalid_request", "NUL characters are not accepted in the URL")


def site_json(site: Site) -> dict:
    """A site as the API shows it."""
    return {
        "code": site.code,
        "kind": site.kind,
        "name": site.name,
        "region": site.region_code,
        "parent": site.parent.code if site.parent else None,
        "active": site.active,
        "tps_number": site.tps_number,
        "dpt": site.dpt,
        "dapil": {link.contest: link.dapil.code for link in site.dapils},
    }


def route_codes(box: Box) -> list[str]:
    """The box's route, top warehouse first, destination last."""
    return [site.code for site in box.destination.route]


def box_brief(box: Box) -> dict:
    """What a phone needs to judge a scan of this box offline."""
    holder = (
        user_holder(box.holder_user.username)
        if box.holder_user_id
        else (site_holder(box.holder_site.code) if box.holder_site else None)
    )
    return {
        "sscc": box.sscc,
        "kind": box.kind,
        "contest": box.contest,
        "dapil": box.dapil.code if box.dapil else None,
        "dapil_name": box.dapil.name if box.dapil else None,
        "destination": box.destination.code,
        "destination_name": box.destination.name,
        "route": route_codes(box),
        "set": {"index": box.set_index, "size": box.set_size},
        "status": box.status,
        "seals": box.seals,
        "holder": holder,
        "in_transit_to": box.transit_site.code if box.transit_site else None,
    }


def box_json(box: Box) -> dict:
    """A box with its manifest and the head of its chain."""
    return {
        **box_brief(box),
        "current_site": box.current_site.code if box.current_site else None,
        "chain": {"length": box.chain_length, "head": box.chain_head},
        "manifest": [
            {"item": line.item_type.code, "quantity": line.quantity, "dapil": line.dapil.code if line.dapil else None}
            for line in box.lines
        ],
    }


@bp.route("/me")
@roles_required()
def me():
    """Who the token or session belongs to, with role and scope."""
    site = current_user.scope_site
    return {
        "username": current_user.username,
        "name": current_user.full_name or current_user.username,
        "role": current_user.role,
        "role_label": role_label(current_user.role),
        "scope": current_user.scope_label,
        "site": site.code if site else None,
        # A browser session writes with this token in X-CSRFToken (a bearer token needs none).
        "csrf_token": None if g.get("authenticated_by_token") else generate_csrf(),
    }


@bp.route("/regions/<code>")
@roles_required()
def region(code: str):
    """A region with its sub-regions and sites in the caller's scope."""
    dotted = dotted_code(code)
    if dotted is None:
        abort(404)
    region = require_region(current_user, dotted, db.session.get(Region, dotted))
    children = db.session.scalars(
        select(Region)
        .where(Region.parent_code == region.code, region_clause(current_user, Region.code))
        .order_by(Region.code)
    )
    sites = db.session.scalars(
        select(Site).where(Site.region_code == region.code, site_clause(current_user)).order_by(Site.code)
    )
    return {
        "code": region.code,
        "kpu_code": region.kpu_code,
        "name": region.name,
        "level": region.level,
        "children": [{"code": r.code, "name": r.name} for r in children],
        "sites": [s.code for s in sites],
    }


@bp.route("/sites/<code>")
@roles_required()
def site(code: str):
    """One site."""
    return site_json(require_site(current_user, db.session.scalar(select(Site).where(Site.code == code.upper()))))


@bp.route("/boxes/<sscc>")
@roles_required()
def box(sscc: str):
    """One box with its manifest."""
    return box_json(require_box(current_user, db.session.scalar(select(Box).where(Box.sscc == sscc))))


def checked_region(default: str = "") -> tuple[str | None, Response | None]:
    """?region=CODE (ID: the country) checked against the caller's scope: (region, None) or (None, error)."""
    raw = (request.args.get("region") or default).strip()
    region = "" if raw.upper() in ("", "ID") else dotted_code(raw)
    if region is None or (region and db.session.get(Region, region) is None):
        return None, error_response(404, "not_found", "no region with that code")
    if not region_in_scope(current_user, region):
        return None, error_response(403, "forbidden", "that region is outside your area")
    return region, None
