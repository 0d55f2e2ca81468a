"""`flask geo ...` imports and `flask seed ...` working sets."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.geo.models import RegionLevel, Site
from webapp.geo.services import ImportRejected, import_dapil, import_regions, import_tps, region_counts

geo_cli = click.Group("geo", help="Regions, dapil and TPS reference data.")
seed_cli = click.Group("seed", help="Realistic working sets for a demo or a test.")


def _run_import(func_, *args) -> None:
    started = time.perf_counter()
    try:
        result = func_(db.session, *args)
    except ImportRejected as exc:
        db.session.rollback()
        click.echo(f"Refused: {exc}", err=True)
        for problem in exc.problems[:200]:
            click.echo(f"  {problem}", err=True)
        if len(exc.problems) > 200:
            click.echo(f"  ... and {len(exc.problems) - 200} more", err=True)
        raise SystemExit(1) from None
    except OSError as exc:  # a file click found but cannot read (permissions)
        db.session.rollback()
        click.echo(f"Refused: cannot read {exc.filename}: {exc.strerror}", err=True)
        raise SystemExit(1) from None
    if result.tps_ids:  # new TPS get boxes; boxes not yet labelled follow DPT and dapil changes
        from webapp.boxes.services import plan_tps_boxes

        config = current_app.config
        created = plan_tps_boxes(
            db.session,
            sorted(result.tps_ids),
            extension=config["GS1_EXTENSION_DIGIT"],
            company_prefix=config["GS1_COMPANY_PREFIX"],
            election=config["ELECTION_TYPE"],
        )
        result.details["boxes_created"] = created
    db.session.commit()
    extra = "".join(f", {k}: {v}" for k, v in result.details.items())
    click.echo(
        f"Done in {time.perf_counter() - started:.1f}s: {result.inserted} new, {result.updated} updated, "
        f"{result.unchanged} unchanged{extra}."
    )


@geo_cli.command("import-regions")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_regions_command(path: str | None) -> None:
    """Load the region table (default: the shipped Kemendagri table, 91,599 rows)."""
    _run_import(import_regions, *([path] if path else []))
    counts = region_counts(db.session)
    click.echo(", ".join(f"{level.name.lower()}: {counts.get(level, 0)}" for level in RegionLevel))


@geo_cli.command("import-dapil")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_dapil_command(path: str) -> None:
    """Load a dapil table: contest,dapil_code,dapil_name,region_code."""
    _run_import(import_dapil, path)


@geo_cli.command("import-tps")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_tps_command(path: str) -> None:
    """Load KPU's TPS table: kode_tps,nama,dpt[,alamat,dapil_dpr,dapil_dpd,dapil_dprd_prov,dapil_dprd_kab]."""
    _run_import(import_tps, path)


def _seed(code: str, demo: bool) -> None:
    from webapp.auth.services import ensure_demo_users, first_kecamatan
    from webapp.boxes.cartons import seed_demo_deliveries
    from webapp.geo.demo_day import seed_demo_day
    from webapp.geo.models import SiteKind
    from webapp.geo.seed import seed_region
    from webapp.geo.services import site_code

    started = time.perf_counter()
    if demo and not current_app.config["DEMO_ACCOUNTS_ALLOWED"]:
        raise click.ClickException("the demo accounts have published passwords: not on a production database")
    try:
        report = seed_region(db.session, code, current_app.config)
    except LookupError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    except ImportRejected as exc:
        db.session.rollback()
        raise click.ClickException(
            f"the dapil this seed would add conflict with stored ones: {exc.problems[0]}"
        ) from None
    users = ensure_demo_users(db.session, code) if demo else []
    cartons = (
        seed_demo_deliveries(db.session, current_app.config, warehouse=site_code(SiteKind.WAREHOUSE_KAB, code))
        if demo
        else 0
    )
    day = (
        seed_demo_day(db.session, first_kecamatan(db.session, code), site_code(SiteKind.WAREHOUSE_KAB, code))
        if demo
        else 0
    )
    db.session.commit()
    click.echo(
        f"Seeded {code} in {time.perf_counter() - started:.1f}s: {report.regions} regions, "
        f"{report.dapil} dapil, {report.sites} sites ({report.tps} TPS), {report.boxes} boxes, {report.packets} packets and {cartons} printer cartons created."
        + (f" A day of work: {day} scans." if day else "")
    )
    if users:
        click.echo("Demo logins (username / password, role, scope):")
        for username, role, scope, password, created in users:
            click.echo(f"  {username:<11} {password:<17} {role:<10} {scope}{'' if created else '  (already there)'}")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has sites.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Seed KPU Kota Administrasi Jakarta Timur (31.75) and one demo account per role."""
    from webapp.geo.seed import DEMO_REGION

    if if_empty and db.session.scalar(select(func.count()).select_from(Site)):
        click.echo("The database already has data; demo seeding skipped.")
        return
    _seed(DEMO_REGION, demo=True)


@seed_cli.command("region")
@click.argument("code")
@with_appcontext
def seed_region_command(code: str) -> None:
    """Seed any kab/kota (31.75) or province (31) of the region table."""
    from webapp.geo.models import dotted_code

    _seed(dotted_code(code) or code, demo=False)
