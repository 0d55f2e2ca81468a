"""`flask ledger ...`: verify, checkpoint and export the custody ledger."""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from webapp.core.database import in_transaction
from webapp.custody.checkpoints import (
    CheckpointRefused,
    ledger_origin,
    make_checkpoint,
    signed_checkpoint,
    signing_key,
)
from webapp.custody.export import MAX_DELAY, export_ledger
from webapp.custody.verification import (
    ExportRefused,
    ExportUnreadable,
    log_verifier_from,
    verify_database,
    verify_export,
)
from webapp.custody.witness_cli import witness_command, witness_keygen_command, witnesses_cli
from webapp.extensions import db

ledger_cli = click.Group("ledger", help="The custody ledger: verify it, checkpoint it, export it.")
for _command in (witness_command, witness_keygen_command, witnesses_cli):  # custody/witness_cli.py
    ledger_cli.add_command(_command)


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
                "Warning: the signatures were checked with the public key written in the file itself "
                "(--trust-file-key). A forger would write their own: compare it with the key KPU publishes "
                "(GET /api/v1/ledger/key), or pass it with --public-key."
            )
        return
    click.echo(str(report.problem), err=True)
    click.echo(f"Verified {report.events} events before that.", err=True)
    sys.exit(1)


def configured_max_delay() -> int:
    """LEDGER_MAX_DELAY: seconds within which a signed checkpoint must cover every event."""
    return int(current_app.config.get("LEDGER_MAX_DELAY") or MAX_DELAY)


def _report_export(report, started: float) -> None:
    """The export's own findings, after the chains and the tree verified."""
    _report(report, started)
    click.echo(f"Newest signed checkpoint: {report.newest_size} events.")
    if report.region:
        click.echo(
            f"Region {report.region}: {report.proven} events proven in that checkpoint one by one (RFC 9162 "
            "inclusion proofs); the rest of the ledger is not in this file."
        )
    if report.trusted_size is not None:
        click.echo(f"Consistent with your trusted checkpoint of {report.trusted_size} events.")
    names = ", ".join(report.witnesses) or "none"
    click.echo(
        f"Witnesses: {len(report.witnesses)} cosignatures verified on the newest checkpoint ({names}); "
        f"{report.unverified_cosignatures} unverified (keys not given with --witness-key)."
    )
    if report.uncovered:
        age = (
            "" if report.oldest_uncovered_age is None else f"; the oldest recorded {report.oldest_uncovered_age:.0f} s"
        )
        click.echo(f"Not yet signed: {report.uncovered} events after the newest checkpoint{age} before the export.")


@ledger_cli.command("verify")
@click.option(
    "--from-export", "export", type=click.Path(exists=True, dir_okay=False), help="Verify an export file offline."
)
@click.option(
    "--public-key",
    help="The log's key: its vkey (NAME+ID+KEY, as GET /api/v1/ledger/key serves it) or raw base64 Ed25519 "
    "(default for the database: the server's).",
)
@click.option("--trust-file-key", is_flag=True, help="Check an export with the key written in it (a forger's own).")
@click.option(
    "--trusted-checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    help="A signed checkpoint note saved earlier (by you or a witness): the export must be consistent with it.",
)
@click.option("--witness-key", "witness_keys", multiple=True, help="A witness's vkey, to verify its cosignatures.")
@click.option("--max-delay", type=int, help="Seconds an event may wait for a signed checkpoint (LEDGER_MAX_DELAY).")
@with_appcontext
def verify_command(
    export: str | None,
    public_key: str | None,
    trust_file_key: bool,
    trusted_checkpoint: str | None,
    witness_keys: tuple[str, ...],
    max_delay: int | None,
) -> None:
    """Recompute every chain and checkpoint; exit 1 naming the first broken box and event, a cut-off file,
    or why an export cannot be verified."""
    started = time.perf_counter()
    if export:
        try:
            trusted = Path(trusted_checkpoint).read_text(encoding="utf-8") if trusted_checkpoint else None
            report = verify_export(
                Path(export),
                public_key,
                trust_file_key=trust_file_key,
                trusted_checkpoint=trusted,
                witness_keys=witness_keys,
                max_delay=max_delay if max_delay is not None else configured_max_delay(),
            )
        except ExportUnreadable as exc:  # nothing in the file is trusted, so no event is called verified
            click.echo(f"INCOMPLETE: {exc}", err=True)
            sys.exit(1)
        except ExportRefused as exc:
            click.echo(f"REFUSED: {exc}", err=True)
            sys.exit(1)
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"REFUSED: the file or the trusted checkpoint cannot be read ({exc})", err=True)
            sys.exit(1)
        _report_export(report, started)
        return
    key, origin = signing_key(current_app.config).public_text, ledger_origin(current_app.config)
    if public_key:
        try:
            log = log_verifier_from(public_key, {"origin": origin}, False)
        except ExportRefused as exc:
            raise click.ClickException(str(exc)) from None
        key, origin = base64.b64encode(log.public).decode(), log.name
    _report(verify_database(db.session, key, origin=origin), started)


@ledger_cli.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Sign a Merkle root over every event so far."""
    try:
        checkpoint = in_transaction(lambda: make_checkpoint(db.session, signing_key(current_app.config)))
    except CheckpointRefused as exc:  # the stored tree no longer gives the last signed root: nothing is signed
        click.echo(f"REFUSED: {exc}", err=True)
        raise SystemExit(1) from None
    if checkpoint is None:
        click.echo("No new events since the last checkpoint.")
    else:
        click.echo(
            f"Checkpoint: {checkpoint.event_count} events up to event {checkpoint.upto_event_id}, root {checkpoint.root}."
        )


@ledger_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--region", help="Only this region's boxes, each event with its proof in the newest checkpoint.")
@click.option(
    "--since",
    type=click.IntRange(min=1),
    help="With --region: the size of a checkpoint you trust; the file proves it a prefix of the newest.",
)
@with_appcontext
def export_command(path: str, region: str | None, since: int | None) -> None:
    """Write every event, box head and checkpoint as JSON Lines, for `ledger verify --from-export`."""
    from webapp.geo.models import Region, dotted_code

    if region is not None:
        region = dotted_code(region)
        if region is None or db.session.get(Region, region) is None:
            raise click.ClickException("no region with that code (e.g. 31.75)")
    if since is not None and region is None:
        raise click.ClickException("--since goes with --region: the whole ledger's file proves every checkpoint")
    if since is not None and signed_checkpoint(db.session, since) is None:
        raise click.ClickException(f"the log signed no checkpoint of {since} events (flask ledger verify lists them)")
    # newline="\n": the end line's SHA-256 covers the bytes exactly as written, on any system.
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        try:
            count = export_ledger(
                db.session, signing_key(current_app.config), out, region, max_delay=configured_max_delay(), since=since
            )
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"the export failed part-way ({type(exc).__name__}): {path} has no end line and will not verify"
            ) from exc
    click.echo(f"Exported {count} events in full to {path}.")
