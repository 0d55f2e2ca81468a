"""`flask alerts scan`: the periodic sweep for stalled and overdue boxes."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.alerts.sweep import sweep
from webapp.core.database import in_transaction
from webapp.extensions import db

alerts_cli = click.Group("alerts", help="Alerts: the periodic sweep for stalled and overdue boxes.")


@alerts_cli.command("scan")
@with_appcontext
def scan_command() -> None:
    """Raise stalled and overdue alerts now (the job worker runs this every ALERTS_SWEEP_MINUTES)."""
    result = in_transaction(lambda: sweep(db.session, current_app.config))
    click.echo(f"stalled: {result.stalled} new, overdue: {result.overdue} new ({result.tps_behind} TPS newly behind)")
    for note in result.notes:
        click.echo(note)
