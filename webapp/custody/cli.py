"""`flask ledger ...`: verify, checkpoint and export the custody ledger."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from webapp.core.database import in_transaction
from webapp.custody.checkpoints import make_checkpoint, signing_key
from webapp.custody.export import export_ledger
from webapp.custody.verification import ExportUnreadable, verify_database, verify_export
from webapp.extensions import db

ledger_cli = click.Group("ledger", help="The custody ledger: verify it, checkpoint it, export it.")


def _report(report, started: float) -> None:
    elapsed = time.perf_counter() - started
    rate = report.events / elapsed if elapsed else 0
    if report.ok:
        click.echo(
            f"OK: {report.events} events in {report.boxes} box chains and {report.checkpoints} signed "
            f"checkpoints verify ({elapsed:.2f}s, {rate:,.0f} events/s)."
        )
        if report.key_from_file:
            click.echo(
                "Warning: the signatures were checked with the public key written in the file itself. A forger "
                "would write their own: compare it with the key KPU publishes (GET /api/v1/ledger/checkpoints), "
                "or pass it with --public-key."
            )
        if report.hash_only:
            click.echo(
                f"The export is scoped to a region: {report.hash_only} events of other boxes were given by hash "
                "only; they count in the checkpoints' roots, their contents were not shown."
            )
        return
    click.echo(str(report.problem), err=True)
    click.echo(f"Verified {report.events} events before that.", err=True)
    sys.exit(1)


@ledger_cli.command("verify")
@click.option(
    "--from-export", "export", type=click.Path(exists=True, dir_okay=False), help="Verify an export file offline."
)
@click.option("--public-key", help="Base64 Ed25519 public key to check signatures with (default: the server's).")
@with_appcontext
def verify_command(export: str | None, public_key: str | None) -> None:
    """Recompute every chain and checkpoint; exit 1 naming the first broken box and event, or a cut-off file."""
    started = time.perf_counter()
    if export:
        try:
            report = verify_export(Path(export), public_key)
        except ExportUnreadable as exc:  # nothing in the file is trusted, so no event is called verified
            click.echo(f"INCOMPLETE: {exc}", err=True)
            sys.exit(1)
        _report(report, started)
        return
    key = public_key or signing_key(current_app.config).public_text
    _report(verify_database(db.session, key), started)


@ledger_cli.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Sign a Merkle root over every event so far."""
    checkpoint = in_transaction(lambda: make_checkpoint(db.session, signing_key(current_app.config)))
    if checkpoint is None:
        click.echo("No new events since the last checkpoint.")
    else:
        click.echo(
            f"Checkpoint: {checkpoint.event_count} events up to event {checkpoint.upto_event_id}, root {checkpoint.root}."
        )


@ledger_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--region", help="Only this region's boxes in full; other events by their hash alone.")
@with_appcontext
def export_command(path: str, region: str | None) -> None:
    """Write every event, box head and checkpoint as JSON Lines, for `ledger verify --from-export`."""
    from webapp.geo.models import Region, dotted_code

    if region is not None:
        region = dotted_code(region)
        if region is None or db.session.get(Region, region) is None:
            raise click.ClickException("no region with that code (e.g. 31.75)")
    # newline="\n": the end line's SHA-256 covers the bytes exactly as written, on any system.
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        try:
            count = export_ledger(db.session, signing_key(current_app.config).public_text, out, region)
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"the export failed part-way ({type(exc).__name__}): {path} has no end line and will not verify"
            ) from exc
    click.echo(f"Exported {count} events in full to {path}.")
