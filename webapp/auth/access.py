"""The one access helper: roles and regional scope, for pages, API routes and queries alike.

A user's scope is the nation (no region, no site), a region code prefix (`31.75.04` covers that
kecamatan and every desa in it), or one site (that site and the sites below it in its region:
a PPS sees its TPS; a TPS sees itself).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, and_, false, or_, select, true

from webapp.auth.models import Role, User
from webapp.boxes.models import Box
from webapp.core.exceptions import JejakError
from webapp.extensions import db
from webapp.geo.models import SITE_RANK, Region, Site


def code_in_prefix(code: str | None, prefix: str) -> bool:
    """Whether a dotted region code lies at or below a prefix region."""
    return code is not None and (code == prefix or code.startswith(prefix + "."))


def region_in_scope(user: User, code: str | None) -> bool:
    """Whether the user may see a region (and what lies in it)."""
    if user.scope_site is not None:
        site_region = user.scope_site.region_code
        return site_region is not None and code_in_prefix(code, site_region)
    if user.scope_region_code is None:
        return True
    return code_in_prefix(code, user.scope_region_code)


def region_clause(user: User, column: Any) -> ColumnElement[bool]:
    """SQL condition: the region code in `column` lies in the user's scope."""
    if user.scope_site is not None:
        prefix = user.scope_site.region_code
        if prefix is None:
            return false()
    elif user.scope_region_code is None:
        return true()
    else:
        prefix = user.scope_region_code
    return or_(column == prefix, column.like(prefix + ".%"))


def _kinds_below(site: Site) -> list[str]:
    return [kind.value for kind, rank in SITE_RANK.items() if rank > site.rank]


def site_in_scope(user: User, site: Site) -> bool:
    """Whether the user may see a site and what happens there."""
    scope_site = user.scope_site
    if scope_site is None:
        if user.scope_region_code is None:
            return True
        return code_in_prefix(site.region_code, user.scope_region_code)
    if site.id == scope_site.id:
        return True
    return (
        scope_site.region_code is not None
        and site.kind in _kinds_below(scope_site)
        and code_in_prefix(site.region_code, scope_site.region_code)
    )


def site_clause(user: User, model: Any = Site) -> ColumnElement[bool]:
    """SQL condition: the site row (of `model`, Site or an alias) lies in the user's scope."""
    scope_site = user.scope_site
    if scope_site is None:
        return region_clause(user, model.region_code)
    below = and_(model.kind.in_(_kinds_below(scope_site)), region_clause(user, model.region_code))
    return or_(model.id == scope_site.id, below)


def box_clause(user: User) -> ColumnElement[bool]:
    """SQL condition: a box is visible when its destination, holder or location is in scope."""
    if user.scope_site is None and user.scope_region_code is None:
        return true()
    visible_sites = select(Site.id).where(site_clause(user))
    return or_(
        Box.destination_id.in_(visible_sites),
        Box.holder_site_id.in_(visible_sites),
        Box.current_site_id.in_(visible_sites),
        Box.holder_user_id == user.id,
    )


def box_in_scope(user: User, box: Box) -> bool:
    """Whether the user may see one box."""
    return box.holder_user_id == user.id or any(
        site is not None and site_in_scope(user, site) for site in (box.destination, box.holder_site, box.current_site)
    )


# --- Writes ------------------------------------------------------------------------------------
# Every write (scans and batches, packing, cartons, handovers, alert actions, label jobs, norms,
# people and sites) asks here, before it changes anything, about every object it touches: the site
# where it happens, the box, the receiver, the alert. A refusal is `Forbidden`, which writes nothing
# and says nothing the actor could not already see.


class Forbidden(JejakError):
    """A write the actor may not make. `why` says which check failed: role, site, box, receiver or alert
    (a word about what the actor sent, never about what lies outside their area)."""

    status, code = 403, "forbidden"

    def __init__(self, why: str):
        super().__init__()  # the page's own words: nothing about what lies outside the actor's area
        self.why = why


def box_writable(user: User, box: Box) -> bool:
    """Whether a person may change a box: it is theirs to see (its destination, holder or location in
    their area, or held by them), or it is on its way to them."""
    if user.scope_site is None and user.scope_region_code is None:
        return True
    return (
        box_in_scope(user, box)
        or box.transit_user_id == user.id
        or (box.transit_site is not None and site_in_scope(user, box.transit_site))
    )


def may_hold(courier: User, destination: Site) -> bool:
    """Whether a courier may be handed a box bound for `destination`: an active courier whose area covers it."""
    return courier.role == Role.COURIER and courier.active and site_in_scope(courier, destination)


def alert_in_scope(user: User, alert: Any) -> bool:
    """Whether a person may see (and, with the role, act on) an alert: its site or its box is in their area."""
    return (alert.site is not None and site_in_scope(user, alert.site)) or (
        alert.box is not None and box_in_scope(user, alert.box)
    )


def authorize_write(
    user: User,
    *,
    roles: Any = None,
    sites: tuple[Site | None, ...] = (),
    boxes: tuple[Box, ...] = (),
    alerts: tuple[Any, ...] = (),
    national: bool = False,
) -> None:
    """Raise Forbidden unless `user` (active, of one of `roles`) may write at every site and to every
    box and alert given; `national`: only a person with the whole country in scope."""
    if not user.active:
        raise Forbidden("role")
    if roles is not None and user.role not in roles:
        raise Forbidden("role")
    if national and (user.scope_site is not None or user.scope_region_code is not None):
        raise Forbidden("role")
    for site in sites:
        if site is None or not site_in_scope(user, site):
            raise Forbidden("site")
    for box in boxes:
        if not box_writable(user, box):
            raise Forbidden("box")
    for alert in alerts:
        if not alert_in_scope(user, alert):
            raise Forbidden("alert")


def user_clause(viewer: User) -> ColumnElement[bool]:
    """SQL condition: a user whose scope lies inside the viewer's (whom an admin may see and manage)."""
    if viewer.scope_site is None and viewer.scope_region_code is None:
        return true()
    in_sites = User.scope_site_id.in_(select(Site.id).where(site_clause(viewer)))
    if viewer.scope_site is not None:
        return in_sites
    return or_(region_clause(viewer, User.scope_region_code), in_sites)


def scope_within(user: User, *, region_code: str | None, site: Site | None) -> bool:
    """Whether a scope (for a new user, say) lies inside the user's own scope."""
    if site is not None:
        return site_in_scope(user, site)
    if region_code is None:
        return user.scope_site is None and user.scope_region_code is None
    return user.scope_site is None and region_in_scope(user, region_code)


def roles_required(*roles: Role) -> Callable:
    """Decorator: the route needs a logged-in user with one of `roles` (all roles if none)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles) or tuple(Role)  # read by the access-matrix test
        return wrapped

    return decorator


def require_site(user: User, site: Site | None) -> Site:
    """404 for a missing site, 403 for one outside the user's scope."""
    if site is None:
        abort(404)
    if not site_in_scope(user, site):
        abort(403)
    return site


def require_region(user: User, code: str, region: Any) -> Any:
    """404 for a missing region, 403 for one outside the user's scope."""
    if region is None:
        abort(404)
    if not region_in_scope(user, code):
        abort(403)
    return region


def require_box(user: User, box: Box | None) -> Box:
    """404 for a missing box, 403 for one outside the user's scope."""
    if box is None:
        abort(404)
    if not box_in_scope(user, box):
        abort(403)
    return box


def region_page_code(user: User, code: str) -> str:
    """The region a page is about: a code the user may see ("ID", the whole country, gives ""), else 404/403."""
    if code == "ID":
        if not region_in_scope(user, ""):
            abort(403)
        return ""
    if db.session.get(Region, code) is None:
        abort(404)
    if not region_in_scope(user, code):
        abort(403)
    return code


def home_region_code(user: User) -> str:
    """The region a person's pages open on: their site's or their scope's ("ID" for the country)."""
    site = user.scope_site
    return (site.region_code if site else user.scope_region_code) or "ID"
