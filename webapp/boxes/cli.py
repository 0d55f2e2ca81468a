"""`flask cartons order`: a printer commissions an order's cartons and writes their labels."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.auth.models import User
from webapp.boxes.cartons import CartonOrder, OrderProblem, order_cartons
from webapp.extensions import db
from webapp.geo.models import Site
from webapp.labels.render import FORMATS, render_pdf
from webapp.labels.services import carton_label_specs, commission_print

cartons_cli = click.Group("cartons", help="Printer cartons: commissioned at the printer, followed to the warehouse.")


@cartons_cli.command("order")
@click.option("--printer", required=True, help="The printer's site code (PRN-1).")
@click.option("--warehouse", required=True, help="The KPU warehouse the cartons go to (KPU-3175).")
@click.option("--item", required=True, help="Item code from the catalogue (SURAT_SUARA_DPR).")
@click.option("--dapil", help="Dapil code, for ballots (DPR-31-01).")
@click.option("--per-carton", type=int, required=True, help="How many items each carton holds.")
@click.option("--cartons", "count", type=int, required=True, help="How many cartons.")
@click.option("--ref", "order_ref", required=True, help="The order reference (SPK number).")
@click.option("--by", "username", required=True, help="Username of the printer's staff (or an admin).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write the labels to this PDF.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="a4", show_default=True)
@with_appcontext
def order_command(printer, warehouse, item, dapil, per_carton, count, order_ref, username, out, fmt) -> None:
    """Create the cartons of an order; with --out, print their labels, which commissions them at the printer."""
    actor = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if actor is None or not actor.active:
        raise click.BadParameter(f"no active user {username}", param_hint="--by")
    order = CartonOrder(printer, warehouse, item.strip().upper(), dapil, per_carton, count, order_ref)
    try:
        cartons = order_cartons(
            db.session,
            order,
            actor=actor,
            extension=current_app.config["GS1_EXTENSION_DIGIT"],
            company_prefix=current_app.config["GS1_COMPANY_PREFIX"],
        )
    except OrderProblem as problem:
        db.session.rollback()
        raise click.BadParameter(
            problem.code.replace("_", " "), param_hint=f"--{problem.field.replace('_', '-')}"
        ) from None
    db.session.commit()
    click.echo(f"{len(cartons)} cartons created under {cartons[0].order_ref}: {cartons[0].sscc} ... {cartons[-1].sscc}")
    if not out:
        return
    site = db.session.scalar(select(Site).where(Site.code == printer.strip().upper()))
    specs = carton_label_specs(cartons, current_app.config["PUBLIC_BASE_URL"], site)
    run = commission_print(db.session, specs, actor=actor, site=site.code)
    db.session.rollback()
    if run.refused:
        click.echo(f"{len(run.refused)} cartons could not be commissioned: {run.refused[0]}", err=True)
        sys.exit(1)
    render_pdf(run.printed, out, fmt)
    click.echo(f"{len(run.printed)} carton labels ({fmt}) written to {out}; commissioned at {site.code}.")
