"""Vendor carton pages: a printer commissions an order's cartons and prints their labels; warehouses and
supervisors follow the orders coming to them."""

from __future__ import annotations

import io
import logging

from flask import Blueprint, abort, current_app, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from webapp.auth.access import box_clause, roles_required
from webapp.auth.models import Role
from webapp.boxes.cartons import (
    MAX_CARTONS_PER_ORDER,
    MAX_PER_CARTON,
    CartonOrder,
    OrderProblem,
    order_cartons,
    order_cartons_of,
)
from webapp.boxes.models import Box, BoxKind, ManifestLine
from webapp.boxes.packing import packed_from
from webapp.core.database import in_transaction
from webapp.extensions import db
from webapp.geo.models import Site, SiteKind
from webapp.labels.forms import paper_field
from webapp.labels.render import FORMATS, render_pdf
from webapp.labels.services import carton_label_specs, commission_print
from webapp.planning.models import ItemType

bp = Blueprint("cartons", __name__)
log = logging.getLogger(__name__)
VIEW_ROLES = (Role.WAREHOUSE, Role.SUPERVISOR, Role.OBSERVER, Role.ADMIN)


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else value


class CartonOrderForm(FlaskForm):
    printer = StringField(_l("Printer"), validators=[DataRequired(), Length(max=24)], filters=[_upper])
    warehouse = StringField(
        _l("Deliver to warehouse"),
        validators=[DataRequired(), Length(max=24)],
        description=_l("The KPU warehouse's code, such as KPU-3175."),
        filters=[_upper],
    )
    item = SelectField(_l("Item"), validators=[DataRequired()])
    dapil = StringField(
        _l("Dapil"),
        validators=[Optional(), Length(max=40)],
        description=_l("For ballots: the dapil's code, such as DPR-31-01. Leave empty for other items."),
        filters=[_upper],
    )
    per_carton = IntegerField(
        _l("Quantity per carton"),
        validators=[DataRequired(), NumberRange(min=1, max=MAX_PER_CARTON)],
    )
    count = IntegerField(
        _l("Number of cartons"), validators=[DataRequired(), NumberRange(min=1, max=MAX_CARTONS_PER_ORDER)]
    )
    order_ref = StringField(
        _l("Order reference"),
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(r"^[A-Z0-9][A-Z0-9./_-]*$", message=_l("Letters, digits and . / _ - only.")),
        ],
        description=_l("The purchase order (SPK) number the cartons are delivered against."),
        filters=[_upper],
    )


class CartonLabelsForm(FlaskForm):
    format = paper_field()


PROBLEMS = {
    "not_a_printer": _l("No printer with that code."),
    "forbidden": _l("You may only commission cartons at your own printer."),
    "not_a_warehouse": _l("No KPU warehouse with that code."),
    "unknown_item": _l("Unknown item."),
    "dapil_required": _l("Ballots are printed per dapil: give the dapil's code."),
    "dapil_not_of_item": _l("No dapil with that code for this ballot's contest."),
    "dapil_not_served": _l("This warehouse serves no TPS of that dapil."),
    "dapil_not_wanted": _l("This item is the same in every dapil: leave the dapil empty."),
    "out_of_range": _l("Out of range."),
    "bad_order_ref": _l("Letters, digits and . / _ - only."),
}


def _may_order() -> bool:
    site = current_user.scope_site
    return current_user.role == Role.ADMIN or (
        current_user.role == Role.WAREHOUSE and site is not None and site.kind == SiteKind.PRINTER
    )


@bp.route("/cartons", methods=["GET", "POST"])
@roles_required(*VIEW_ROLES)
def index():
    """The orders the user can see (from their printer, or to their warehouses); a printer commissions new ones."""
    form = CartonOrderForm() if _may_order() else None
    if form is not None:
        form.item.choices = [(i.code, i.name) for i in db.session.scalars(select(ItemType).order_by(ItemType.id))]
        if not form.is_submitted() and current_user.scope_site is not None:
            form.printer.data = current_user.scope_site.code
        if form.validate_on_submit():
            order = CartonOrder(
                printer=form.printer.data,
                warehouse=form.warehouse.data,
                item=form.item.data,
                dapil=form.dapil.data or None,
                per_carton=form.per_carton.data,
                count=form.count.data,
                order_ref=form.order_ref.data,
            )
            actor, config = current_user._get_current_object(), current_app.config
            try:
                cartons = in_transaction(
                    lambda: order_cartons(
                        db.session,
                        order,
                        actor=actor,
                        extension=config["GS1_EXTENSION_DIGIT"],
                        company_prefix=config["GS1_COMPANY_PREFIX"],
                    )
                )
            except OrderProblem as problem:
                getattr(form, problem.field).errors = [str(PROBLEMS[problem.code])]
            else:
                log.info("%s ordered %s cartons under %s", current_user.username, len(cartons), order.order_ref)
                return redirect(url_for("cartons.order", ref=cartons[0].order_ref))
    orders = db.session.execute(
        select(
            Box.order_ref,
            ManifestLine.item_type_id,
            func.count(Box.id),
            func.sum(ManifestLine.quantity),
            func.min(Box.created_at),
        )
        .join(ManifestLine, ManifestLine.box_id == Box.id)
        .where(Box.kind == BoxKind.VENDOR_CARTON, box_clause(current_user))
        .group_by(Box.order_ref, ManifestLine.item_type_id)
        .order_by(func.min(Box.created_at).desc())
        .limit(100)
    ).all()
    items = {i.id: i for i in db.session.scalars(select(ItemType))}
    return render_template("boxes/cartons.html", form=form, orders=orders, items=items)


def _order_cartons(ref: str) -> list[Box]:
    cartons = order_cartons_of(db.session, ref)
    visible = set(
        db.session.scalars(select(Box.id).where(Box.id.in_([c.id for c in cartons]), box_clause(current_user)))
    )
    cartons = [c for c in cartons if c.id in visible]
    if not cartons:
        abort(404)
    return cartons


@bp.route("/cartons/orders/<ref>")
@roles_required(*VIEW_ROLES)
def order(ref: str):
    """One order's cartons: what each holds, how much was counted out of it, where it is."""
    cartons = _order_cartons(ref)
    used = {c.id: packed_from(db.session, c) for c in cartons}
    form = CartonLabelsForm() if _may_order() else None
    return render_template("boxes/carton_order.html", ref=ref.upper(), cartons=cartons, used=used, form=form)


@bp.route("/cartons/orders/<ref>/labels", methods=["POST"])
@roles_required(Role.WAREHOUSE, Role.ADMIN)
def labels(ref: str):
    """Print the order's labels at the printer: commissions its cartons there (REPRINT n on a second print)."""
    if not _may_order():
        abort(403)
    form = CartonLabelsForm()
    if not form.validate_on_submit() or form.format.data not in FORMATS:
        abort(400)
    cartons = _order_cartons(ref)
    printer_code = current_user.scope_site.code if current_user.scope_site else None
    printer = db.session.scalar(select(Site).where(Site.code == printer_code)) if printer_code else None
    if printer is None:  # an admin prints where the cartons are, or at the first printer
        held = {c.holder_site_id for c in cartons if c.holder_site_id}
        printer = db.session.scalar(
            select(Site).where(Site.kind == SiteKind.PRINTER, *([Site.id.in_(held)] if held else [])).order_by(Site.id)
        )
    if printer is None:
        abort(404)
    specs = carton_label_specs(cartons, current_app.config["PUBLIC_BASE_URL"], printer)
    run = commission_print(db.session, specs, actor=current_user._get_current_object(), site=printer.code)
    if not run.printed:
        return render_template(
            "errors/generic.html",
            status=409,
            message=_("These cartons have left the printer: their labels cannot be printed there any more."),
        ), 409
    out = io.BytesIO()
    render_pdf(run.printed, out, form.format.data, processes=1)  # at most 1,000 labels: no worker pool in a web worker
    out.seek(0)
    return send_file(out, mimetype="application/pdf", as_attachment=True, download_name=f"karton-{ref.upper()}.pdf")
