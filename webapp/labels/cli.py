"""`flask labels pdf`: box labels for a region as one PDF, for A4 sheets or a 100 x 150 mm thermal printer."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.auth.models import User
from webapp.extensions import db
from webapp.geo.models import Site
from webapp.labels.render import FORMATS, render_pdf
from webapp.labels.services import JobNotRunnable, commission_print, label_specs, packet_label_specs, run_job

labels_cli = click.Group("labels", help="Box labels: QR (GS1 Digital Link) and GS1-128, as vector PDF.")


@labels_cli.command("pdf")
@click.option("--region", required=True, help="Region code (31.75, 31.75.01, 31.75.01.1001) or a TPS site code.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="PDF file to write.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="a4", show_default=True)
@click.option("--packets", is_flag=True, help="Print the packets' labels (ballots, forms...) instead of the boxes'.")
@click.option("--at", "site", required=True, help="Site code where the labels are printed (a printer or warehouse).")
@click.option("--by", "username", required=True, help="Username of the person printing (warehouse or admin).")
@click.option("--processes", type=click.IntRange(1, 64), help="Worker processes (default: one per core).")
@with_appcontext
def pdf_command(
    region: str, out: str, fmt: str, packets: bool, site: str, username: str, processes: int | None
) -> None:
    """Write the labels of every box bound for a TPS in the region.

    Printing commissions each box in the ledger at SITE by USERNAME; a box printed before gets
    REPRINT n on its label and in its event, and a box the rules refuse (held elsewhere) gets no label.
    """
    started = time.perf_counter()
    actor = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if actor is None or not actor.active:
        raise click.BadParameter(f"no active user {username}", param_hint="--by")
    if packets:  # packets are not in the ledger: their labels are simply drawn
        specs = packet_label_specs(db.session, region.strip(), current_app.config["PUBLIC_BASE_URL"])
        sender = db.session.scalar(select(Site.name).where(Site.code == site.strip().upper()))
        specs = [replace(spec, sender=sender) for spec in specs] if sender else specs  # the labels' from-block
        db.session.rollback()
        if not specs:
            click.echo(f"No packets for a TPS in {region}: nothing written.", err=True)
            sys.exit(1)
        count = render_pdf(specs, out, fmt, processes)
        click.echo(f"{count} packet labels ({fmt}) written to {out} in {time.perf_counter() - started:.1f}s.")
        return
    specs = label_specs(db.session, region.strip(), current_app.config["PUBLIC_BASE_URL"])
    if not specs:
        click.echo(f"No boxes bound for a TPS in {region}: nothing written.", err=True)
        sys.exit(1)
    run = commission_print(db.session, specs, actor=actor, site=site.strip().upper())
    db.session.rollback()  # nothing more to read: no transaction stays open while the PDF is drawn
    for sscc, reason in run.refused[:20]:
        click.echo(f"not printed: {sscc} ({reason})", err=True)
    if len(run.refused) > 20:
        click.echo(f"... and {len(run.refused) - 20} more not printed", err=True)
    if not run.printed:
        click.echo("No label could be commissioned: nothing written.", err=True)
        sys.exit(1)
    drawing = time.perf_counter()
    count = render_pdf(run.printed, out, fmt, processes)
    done = time.perf_counter()
    click.echo(
        f"{count} labels ({fmt}) written to {out} in {done - started:.1f}s ({count / (done - started):,.0f} labels/s; "
        f"ledger {drawing - started:.1f}s, PDF {done - drawing:.1f}s = {count / (done - drawing):,.0f} labels/s)."
    )
    if run.refused:
        sys.exit(1)


@labels_cli.command("run-job")
@click.argument("job_id", type=int)
@with_appcontext
def run_job_command(job_id: int) -> None:
    """Run a queued label job here and now, without the job queue (its worker normally runs it)."""
    try:
        job = run_job(db.session, job_id, base_url=current_app.config["PUBLIC_BASE_URL"])
    except JobNotRunnable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"label job {job.id}: {job.state}, {job.done} of {job.total} labels, {job.refused} refused")
    if job.state != "done":
        sys.exit(1)
