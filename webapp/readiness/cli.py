"""`flask readiness check` (the counters against a recount) and `flask readiness rebuild`."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import delete, text
from sqlalchemy.engine import Engine

from webapp.core.database import in_transaction
from webapp.extensions import db
from webapp.readiness.models import ReadinessCount, ReadinessRollup
from webapp.readiness.report import counter_differences, counters, recount

readiness_cli = click.Group("readiness", help="Readiness counters.")


@readiness_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Compare the readiness counters with a recount of the boxes; exit 1 on any difference."""
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):  # both reads in one snapshot
        db.session.rollback()
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    wrong = counter_differences(db.session)
    for level, region, stage, kept, boxes in wrong[:50]:
        click.echo(f"{level} {region} {stage}: counter {kept}, boxes {boxes}")
    if wrong:
        click.echo(f"{len(wrong)} counters differ from the boxes; `flask readiness rebuild` sets them again.", err=True)
        sys.exit(1)
    kept = counters(db.session)
    click.echo(f"OK: {len(kept)} desa counters, {sum(kept.values())} boxes, equal to a recount (and per kecamatan).")


@readiness_cli.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Set every counter from a recount of the boxes (after a site's kind or region was corrected)."""

    def rebuild() -> None:
        if db.session.get_bind().dialect.name == "postgresql":  # no box may move while the counters are reset
            db.session.execute(text("LOCK TABLE box IN SHARE MODE"))
        db.session.execute(delete(ReadinessCount))  # the rollup follows by its triggers
        db.session.execute(delete(ReadinessRollup))
        counts = recount(db.session).items()
        db.session.add_all(ReadinessCount(region_code=r, stage=s, boxes=n) for (r, s), n in counts)

    in_transaction(rebuild)
    click.echo("Readiness counters rebuilt from the boxes.")
