"""Needs and stock pages: what the TPS of a region need by the norms, what each warehouse holds against
it, with CSV and XLSX exports."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.auth.access import home_region_code, region_page_code, require_site, roles_required, site_clause
from webapp.auth.models import Role
from webapp.core.database import in_transaction
from webapp.core.exports import csv_response, xlsx_response
from webapp.extensions import db
from webapp.geo.models import WAREHOUSES, Region, Site, SiteKind
from webapp.planning.forms import NormForm
from webapp.planning.models import ItemType, NormChange
from webapp.planning.needs import Needs, compute_needs
from webapp.planning.services import change_norm
from webapp.planning.stock import StockRow, region_stock, warehouse_stock

bp = Blueprint("planning", __name__)


@bp.route("/needs")
@roles_required()
def needs_home():
    """The needs of the user's own area."""
    return redirect(url_for("planning.needs", code=home_region_code(current_user)))


@bp.route("/needs/<code>")
@roles_required()
def needs(code: str):
    """A region's needs: its totals per item, its PSU reserve, and its parts to drill into."""
    result = compute_needs(db.session, region_page_code(current_user, code))
    parent = db.session.get(Region, code).parent_code if code != "ID" else None
    return render_template("planning/needs.html", needs=result, parent=parent)


def _table(result: Needs) -> tuple[list[str], list[list]]:
    """The needs as a table: one row per part of the region, then the total and the PSU reserve."""
    codes = [item.code for item in result.items]
    header = [_("Code"), _("Name"), "TPS", "DPT", *codes]
    rows = [[c.code, c.name, c.tps, c.dpt, *(c.items.get(code, 0) for code in codes)] for c in result.children]
    total = result.total
    rows.append([total.code, _("Total"), total.tps, total.dpt, *(total.items.get(code, 0) for code in codes)])
    rows.append(["", _("PSU reserve"), "", "", *(result.psu.get(code, "") for code in codes)])
    return header, rows


@bp.route("/needs/<code>.csv")
@roles_required()
def needs_csv(code: str):
    return csv_response(f"kebutuhan-{code}", *_table(compute_needs(db.session, region_page_code(current_user, code))))


@bp.route("/needs/<code>.xlsx")
@roles_required()
def needs_xlsx(code: str):
    return xlsx_response(
        f"kebutuhan-{code}",
        _("Needs"),
        *_table(compute_needs(db.session, region_page_code(current_user, code))),
        freeze="C2",
    )


# --- stock at the warehouses --------------------------------------------------------------------


@bp.route("/stock")
@roles_required()
def stock_home():
    """The warehouses in the user's area; one of them goes straight to its stock."""
    warehouses = db.session.scalars(
        select(Site)
        .where(Site.kind.in_([kind.value for kind in WAREHOUSES]), site_clause(current_user))
        .order_by(Site.code)
    ).all()
    if len(warehouses) == 1 and current_user.scope_site is not None:
        return redirect(url_for("planning.stock", code=warehouses[0].code))
    return render_template("planning/stock_home.html", warehouses=warehouses, region=home_region_code(current_user))


def _warehouse(code: str) -> Site:
    site = require_site(current_user, db.session.scalar(select(Site).where(Site.code == code.upper())))
    if SiteKind(site.kind) not in WAREHOUSES:
        abort(404)
    return site


def _stock(code: str) -> tuple[str, str, list[StockRow], Site | None]:
    """A warehouse's stock (a site code), or a region's over all its warehouses (a region code, ID for
    the country): (title, code for file names, rows, the warehouse or None)."""
    if code.upper().startswith("KPU-"):
        site = _warehouse(code)
        return _("Stock at %(name)s", name=site.name), site.code, warehouse_stock(db.session, site), site
    region = region_page_code(current_user, code)
    name = db.session.get(Region, region).name if region else "Indonesia"
    return _("Stock in %(name)s, all warehouses", name=name), region or "ID", region_stock(db.session, region), None


@bp.route("/stock/<code>")
@roles_required()
def stock(code: str):
    """Stock per item and dapil, against what the TPS need: shortages stand out."""
    title, key, rows, site = _stock(code)
    return render_template(
        "planning/stock.html", title=title, code=key, site=site, rows=rows, short=sum(1 for r in rows if r.shortage)
    )


def _stock_table(rows: list[StockRow]) -> tuple[list[str], list[list]]:
    header = [
        _("Item"),
        _("Dapil"),
        _("Need"),
        _("At the printer"),
        _("On the way"),
        _("Received"),
        _("Packed"),
        _("Damaged or lost"),
        _("On hand"),
        _("Shortage"),
    ]
    body = [
        [
            r.item.code,
            r.dapil.code if r.dapil else "",
            r.need,
            r.ordered,
            r.on_the_way,
            r.received,
            r.packed,
            r.damaged,
            r.on_hand,
            r.shortage,
        ]
        for r in rows
    ]
    return header, body


@bp.route("/stock/<code>.csv")
@roles_required()
def stock_csv(code: str):
    _title, key, rows, _site = _stock(code)
    return csv_response(f"stok-{key}", *_stock_table(rows))


@bp.route("/stock/<code>.xlsx")
@roles_required()
def stock_xlsx(code: str):
    _title, key, rows, _site = _stock(code)
    return xlsx_response(f"stok-{key}", _("Stock"), *_stock_table(rows), freeze="C2")


@bp.route("/norms")
@roles_required()
def norms():
    """The item norms every need is computed from, and their history."""
    items = db.session.scalars(select(ItemType).order_by(ItemType.id)).all()
    history = db.session.scalars(select(NormChange).order_by(NormChange.id.desc()).limit(50)).all()
    return render_template("planning/norms.html", items=items, history=history)


@bp.route("/norms/<code>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_norm(code: str):
    """Change one item's norm; the change, its author and its reason are kept."""
    item = db.session.scalar(select(ItemType).where(ItemType.code == code))
    if item is None:
        abort(404)
    if current_user.scope_region_code is not None or current_user.scope_site is not None:
        abort(403)  # norms are national: only a national admin changes them
    form = NormForm(obj=item)
    if form.validate_on_submit():
        changes = in_transaction(
            lambda: change_norm(
                db.session,
                item,
                actor=current_user,
                reason=form.reason.data,
                quantity=form.quantity.data,
                reserve_pct=form.reserve_pct.data,
            )
        )
        if changes:
            flash(_("Norm of %(item)s changed.", item=item.name), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for("planning.norms"))
    history = db.session.scalars(
        select(NormChange).where(NormChange.item_type_id == item.id).order_by(NormChange.id.desc())
    ).all()
    return render_template("planning/norm_edit.html", item=item, form=form, history=history)
