"""Admin pages: users and sites within the admin's own scope."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from webapp.auth.access import region_in_scope, roles_required, scope_within, site_clause, site_in_scope, user_clause
from webapp.auth.forms import SiteForm, UserForm, role_choices, site_kind_choices
from webapp.auth.models import Role, User
from webapp.auth.services import AccountError, create_user, resolve_scope
from webapp.boxes.services import plan_tps_boxes
from webapp.core.database import in_transaction, writes
from webapp.extensions import db
from webapp.geo.models import Region, RegionLevel, Site, SiteKind, dotted_code
from webapp.geo.services import RouteSites, site_code

bp = Blueprint("admin", __name__)
log = logging.getLogger(__name__)
PAGE = 50


def _user_visible(user: User) -> bool:
    return scope_within(current_user, region_code=user.scope_region_code, site=user.scope_site)


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    """List the users in the admin's scope and add one."""
    form = UserForm()
    form.role.choices = role_choices()
    if form.validate_on_submit():

        def add_user() -> User:
            scope = resolve_scope(db.session, form.scope.data)
            if not scope_within(current_user, region_code=scope.region_code, site=scope.site):
                raise AccountError(_("That scope is outside your own."))
            return create_user(
                db.session,
                username=form.username.data,
                role=form.role.data,
                scope=scope,
                password=form.password.data,
                full_name=form.full_name.data or "",
            )

        try:
            user = in_transaction(add_user)
        except AccountError as exc:
            form.scope.errors.append(str(exc))
        else:
            log.info("%s added user %s", current_user.username, user.username)
            flash(_("User %(name)s added.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    query = select(User).where(user_clause(current_user))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.options(selectinload(User.scope_site)).order_by(User.username).limit(PAGE).offset((_page() - 1) * PAGE)
    ).all()
    return render_template("admin/users.html", form=form, users=rows, total=total, page=_page(), per_page=PAGE)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
@writes
def set_user_active(user_id: int):
    """Disable or re-enable a user (never delete: their actions stay attributable)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not _user_visible(user):
        abort(403)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
        return redirect(url_for("admin.users"))
    user.set_active(request.form.get("active") == "1")  # disabling ends the user's sessions
    log.info("%s set user %s active=%s", current_user.username, user.username, user.active)
    flash(
        _("User %(name)s enabled.", name=user.username)
        if user.active
        else _("User %(name)s disabled.", name=user.username),
        "success",
    )
    return redirect(url_for("admin.users"))


# Which region level each site kind sits at.
KIND_LEVEL = {
    SiteKind.WAREHOUSE_PROV: RegionLevel.PROVINCE,
    SiteKind.WAREHOUSE_KAB: RegionLevel.KABKOTA,
    SiteKind.PPK: RegionLevel.KECAMATAN,
    SiteKind.PPS: RegionLevel.DESA,
    SiteKind.TPS: RegionLevel.DESA,
}


def _refuse_duplicate(code: str) -> None:
    if db.session.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise ValueError(_("Site %(code)s already exists.", code=code))


def _new_site(form: SiteForm) -> tuple[Site, list[Site]]:
    """Build a site from the form, or raise ValueError with a message for the person."""
    kind = SiteKind(form.kind.data)
    name, address = form.name.data.strip(), form.address.data or None
    if kind == SiteKind.PRINTER:
        if current_user.scope_site is not None or current_user.scope_region_code is not None:
            raise ValueError(_("Only a national administrator can add a printer."))
        if not form.number.data:
            raise ValueError(_("A printer needs a number."))
        _refuse_duplicate(f"PRN-{form.number.data}")
        printer = Site(code=f"PRN-{form.number.data}", kind=kind.value, name=name, address=address)
        return printer, [printer]
    region_code = dotted_code(form.region.data or "")
    region = db.session.get(Region, region_code) if region_code else None
    if region is None:
        raise ValueError(_("Unknown region code."))
    if region.level != KIND_LEVEL[kind]:
        raise ValueError(
            _("This kind of site belongs to a region of level: %(level)s.", level=KIND_LEVEL[kind].name.lower())
        )
    if not region_in_scope(current_user, region.code):
        raise ValueError(_("That region is outside your scope."))
    route = RouteSites(db.session)
    if kind == SiteKind.TPS:
        if not form.number.data:
            raise ValueError(_("A TPS needs its number."))
        _refuse_duplicate(site_code(kind, region.code, form.number.data))
        site = Site(
            code=site_code(kind, region.code, form.number.data),
            kind=kind.value,
            name=name,
            region_code=region.code,
            parent=route.for_region(region),
            tps_number=form.number.data,
            dpt=form.dpt.data or 0,
            address=address,
        )
        return site, [*route.created, site]
    _refuse_duplicate(site_code(kind, region.code))
    site = route.for_region(region)  # creates it, with any missing sites above it on the route
    site.name, site.address = name, address
    return site, route.created


@bp.route("/sites", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def sites():
    """List the sites in the admin's scope (searchable) and add one."""
    form = SiteForm()
    form.kind.choices = site_kind_choices()
    if form.validate_on_submit():

        def add_site() -> Site:
            site, created = _new_site(form)
            db.session.add(site)
            if not all(site_in_scope(current_user, obj) for obj in created):
                raise ValueError(_("That site, or a site it needs above it, is outside your scope."))
            db.session.flush()
            if site.kind == SiteKind.TPS:
                plan_tps_boxes(
                    db.session,
                    [site.id],
                    extension=current_app.config["GS1_EXTENSION_DIGIT"],
                    company_prefix=current_app.config["GS1_COMPANY_PREFIX"],
                    election=current_app.config["ELECTION_TYPE"],
                )
            return site

        try:
            site = in_transaction(add_site)
        except ValueError as exc:
            form.region.errors.append(str(exc))
        else:
            log.info("%s added site %s", current_user.username, site.code)
            flash(_("Site %(code)s added.", code=site.code), "success")
            return redirect(url_for("admin.sites", q=site.code))
    q = (request.args.get("q") or "").strip()
    query = select(Site).where(site_clause(current_user))
    if q:
        query = query.where(or_(Site.code.ilike(f"%{q}%"), Site.name.ilike(f"%{q}%")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Site.code).limit(PAGE).offset((_page() - 1) * PAGE)).all()
    return render_template("admin/sites.html", form=form, sites=rows, q=q, total=total, page=_page(), per_page=PAGE)


@bp.route("/sites/<code>/active", methods=["POST"])
@roles_required(Role.ADMIN)
@writes
def set_site_active(code: str):
    """Disable or re-enable a site."""
    site = db.session.scalar(select(Site).where(Site.code == code))
    if site is None:
        abort(404)
    if not site_in_scope(current_user, site):
        abort(403)
    site.active = request.form.get("active") == "1"
    log.info("%s set site %s active=%s", current_user.username, site.code, site.active)
    flash(
        _("Site %(code)s enabled.", code=site.code) if site.active else _("Site %(code)s disabled.", code=site.code),
        "success",
    )
    return redirect(url_for("admin.sites", q=site.code))
