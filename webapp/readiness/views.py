"""The readiness dashboard of a region and its parts (CSV and XLSX too)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.alerts.services import (
    open_by_kind,
)
from webapp.auth.access import home_region_code, region_page_code, roles_required
from webapp.core.exports import csv_response, xlsx_response
from webapp.core.names import readiness_level_label, readiness_stage_label
from webapp.custody.checkpoints import signing_key
from webapp.extensions import db
from webapp.geo.models import Region
from webapp.readiness.report import ALL_STAGES, BACK_STAGES, STAGES, local_today, readiness_report

bp = Blueprint("readiness", __name__)


@bp.route("/dashboard")
@roles_required()
def dashboard_home():
    return redirect(url_for("readiness.dashboard", code=home_region_code(current_user)))


@bp.route("/dashboard/<code>")
@roles_required()
def dashboard(code: str):
    """Readiness of a region and its parts, refreshed every minute."""
    region = region_page_code(current_user, code)
    data = readiness_report(db.session, region, current_app.config, local_today(current_app.config))
    parent = db.session.get(Region, region).parent_code if region else None
    return render_template(
        "readiness/dashboard.html",
        data=data,
        parent=parent,
        region=region,
        stages=STAGES,
        back_stages=BACK_STAGES,
        alert_counts=open_by_kind(db.session, current_user, region),
        public_key=signing_key(current_app.config).public_text,
    )


def _readiness_table(code: str) -> tuple[str, list[str], list[list]]:
    region = region_page_code(current_user, code)
    data = readiness_report(db.session, region, current_app.config, local_today(current_app.config))
    header = [_("Code"), _("Name"), _("Boxes")]
    header += [readiness_stage_label(stage) for stage in ALL_STAGES]
    header += [_("%% at the %(level)s", level=readiness_level_label(level)) for level in ("ppk", "tps")]
    header += [_("%% back at the %(level)s", level=readiness_level_label(level)) for level in ("ppk", "warehouse")]
    rows = []
    for row in [data["total"], *data["parts"]]:
        rows.append(
            [row["code"], row["name"], row["boxes"]]
            + [row["stages"][stage] for stage in ALL_STAGES]
            + [row["percent"]["ppk"], row["percent"]["tps"]]
            + [row["returned_percent"]["ppk"], row["returned_percent"]["warehouse"]]
        )
    return f"kesiapan-{data['region']}", header, rows


@bp.route("/dashboard/<code>.csv")
@roles_required()
def dashboard_csv(code: str):
    name, header, rows = _readiness_table(code)
    return csv_response(name, header, rows)


@bp.route("/dashboard/<code>.xlsx")
@roles_required()
def dashboard_xlsx(code: str):
    name, header, rows = _readiness_table(code)
    return xlsx_response(name, _("Readiness"), header, rows, freeze="C2")
