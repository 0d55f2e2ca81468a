"""Browse regions > sites > TPS > boxes, and search by code or name, within the user's scope."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from webapp.auth.access import box_clause, region_clause, require_region, require_site, roles_required, site_clause
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box
from webapp.custody.arrivals import site_arrivals
from webapp.custody.event import to_millis
from webapp.extensions import db
from webapp.geo.models import Region, Site, TpsDapil, dotted_code

bp = Blueprint("geo", __name__)

PAGE = 50
SEARCH_LIMIT = 20


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _scope_root() -> str | None:
    """Where browsing starts: the user's region (or their site's region), else the whole country."""
    if current_user.scope_site is not None:
        return current_user.scope_site.region_code
    return current_user.scope_region_code


@bp.route("/regions")
@roles_required()
def regions():
    """Start browsing at the top of the user's scope."""
    root = _scope_root()
    if root:
        return redirect(url_for("geo.region", code=root))
    provinces = db.session.scalars(select(Region).where(Region.level == 1).order_by(Region.code)).all()
    return render_template("geo/regions.html", region=None, children=provinces, sites=[], trail=[])


def _trail(region: Region) -> list[Region]:
    trail, node = [], region.parent
    while node is not None:
        trail.insert(0, node)
        node = node.parent
    return trail


@bp.route("/regions/<code>")
@roles_required()
def region(code: str):
    """A region: its sub-regions and the sites in it that the user may see."""
    dotted = dotted_code(code) or code
    region = require_region(current_user, dotted, db.session.get(Region, dotted))
    children = db.session.scalars(
        select(Region)
        .where(Region.parent_code == region.code, region_clause(current_user, Region.code))
        .order_by(Region.code)
    ).all()
    sites = db.session.scalars(
        select(Site)
        .where(Site.region_code == region.code, site_clause(current_user))
        .order_by(Site.kind, Site.code)
        .limit(500)
    ).all()
    return render_template("geo/regions.html", region=region, children=children, sites=sites, trail=_trail(region))


@bp.route("/sites/<code>")
@roles_required()
def site(code: str):
    """A site: where it sits on the route, the sites below it, and the boxes bound for it."""
    site = require_site(
        current_user,
        db.session.scalar(
            select(Site)
            .where(Site.code == code.upper())
            .options(selectinload(Site.dapils).selectinload(TpsDapil.dapil))
        ),
    )
    children = db.session.scalars(
        select(Site)
        .where(Site.parent_id == site.id, site_clause(current_user))
        .order_by(Site.code)
        .limit(PAGE)
        .offset((_page() - 1) * PAGE)
    ).all()
    child_total = db.session.scalar(
        select(func.count()).select_from(Site).where(Site.parent_id == site.id, site_clause(current_user))
    )
    boxes = db.session.scalars(
        select(Box)
        .where(Box.destination_id == site.id, box_clause(current_user))
        .options(selectinload(Box.dapil))
        .order_by(Box.set_index)
    ).all()
    route = site.route[:-1]
    return render_template(
        "geo/site.html",
        arrivals=site_arrivals(db.session, site, box_clause(current_user)),
        site=site,
        children=children,
        child_total=child_total,
        boxes=boxes,
        route=route,
        page=_page(),
        per_page=PAGE,
    )


@bp.route("/sites/<code>/arrivals")
@roles_required()
def arrivals(code: str):
    """What a site is waiting for: boxes on their way to it, and those that arrived today, by destination."""
    site = require_site(current_user, db.session.scalar(select(Site).where(Site.code == code.upper())))
    found = site_arrivals(db.session, site, box_clause(current_user))

    def clock(moment):
        return to_millis(moment).astimezone(found.zone.tzinfo).strftime("%d/%m %H:%M") if moment else ""

    return render_template("geo/arrivals.html", site=site, arrivals=found, clock=clock, route=site.route[:-1])


@bp.route("/search")
@roles_required()
def search():
    """Find regions, sites, TPS and boxes by code (with or without dots) or by name."""
    q = (request.args.get("q") or "").strip()[:300]
    results = {"regions": [], "sites": [], "boxes": []}
    try:  # a whole label read by a scanner (QR Digital Link, GS1-128, plain SSCC) goes straight to its trace
        sscc = parse_code(q)
    except CodeError:
        sscc = None
    if sscc and db.session.scalar(select(Box.id).where(Box.sscc == sscc, box_clause(current_user))):
        return redirect(url_for("boxes.box", sscc=sscc))
    q = q[:80]
    if q:
        dotted = dotted_code(q)
        like = f"%{q}%"
        region_match = [Region.name.ilike(like)]
        if dotted:
            region_match.append(Region.code == dotted)
        results["regions"] = db.session.scalars(
            select(Region)
            .where(or_(*region_match), region_clause(current_user, Region.code))
            .order_by(Region.level, Region.code)
            .limit(SEARCH_LIMIT)
        ).all()
        site_match = [Site.code.ilike(like), Site.name.ilike(like)]
        if q.isdigit():
            site_match.append(Site.code.like(f"%-{q}%"))
        results["sites"] = db.session.scalars(
            select(Site).where(or_(*site_match), site_clause(current_user)).order_by(Site.code).limit(SEARCH_LIMIT)
        ).all()
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 6:
            results["boxes"] = db.session.scalars(
                select(Box)
                .where(Box.sscc.like(f"%{digits[-18:]}%"), box_clause(current_user))
                .order_by(Box.sscc)
                .limit(SEARCH_LIMIT)
            ).all()
    return render_template("geo/search.html", q=q, **results)
