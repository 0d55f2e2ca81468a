"""Export endpoints of API v1: the ledger as EPCIS 2.0 JSON-LD for a region and time range, the ledger
with its signed checkpoints for offline verification, and the readiness figures."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, request, stream_with_context
from flask_login import current_user

from webapp.api.views import bp, checked_region
from webapp.auth.access import home_region_code, roles_required
from webapp.auth.models import Role
from webapp.core.errors import error_response
from webapp.custody.integrity import export_lines, signing_key
from webapp.extensions import db, limiter
from webapp.monitor.epcis import stream_document
from webapp.monitor.readiness import local_today, readiness_report

EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)


def _moment(name: str, default: datetime) -> datetime | None:
    text = request.args.get(name)
    if text is None:  # absent; an empty value is no time, and is refused
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@bp.route("/export/epcis")
@roles_required(Role.SUPERVISOR, Role.OBSERVER, Role.ADMIN)
def export_epcis():
    """The region's events between `from` and `to` (RFC 3339) as one EPCIS 2.0 document, streamed."""
    region, error = checked_region()
    if error:
        return error
    start, end = _moment("from", EARLIEST), _moment("to", datetime.now(UTC))
    if start is None or end is None or start >= end:
        return error_response(400, "invalid_request", "from and to must be RFC 3339 times, from before to")
    chunks = stream_document(
        db.session, region=region, start=start, end=end, base=current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    )
    name = f"jejak-epcis-{region or 'ID'}.jsonld"
    return Response(
        stream_with_context(chunks),
        mimetype="application/ld+json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/export/ledger")
@roles_required(Role.SUPERVISOR, Role.OBSERVER, Role.ADMIN)
@limiter.limit(lambda: current_app.config["EXPORT_RATE_LIMIT"])
def export_ledger_file():
    """Events and signed checkpoints as JSON Lines, for `flask ledger verify --from-export FILE`: the boxes
    of ?region= (default: the caller's area) in full, every other event by its hash alone; streamed."""
    region, error = checked_region(home_region_code(current_user))
    if error:
        return error
    key = signing_key(current_app.config).public_text
    # Every event is in the file (other regions' by hash): a whole-country ledger is better taken with
    # `flask ledger export` on the server than through a web worker; hence the rate limit.
    lines = (line for _kind, line in export_lines(db.session, key, region or None))
    return Response(
        stream_with_context(lines),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="jejak-ledger-{region or "ID"}.jsonl"'},
    )


@bp.route("/readiness")
@roles_required()
def readiness_api():
    """The readiness dashboard's figures for a region (?region=CODE, ID for the country; default: the
    caller's own area)."""
    region, error = checked_region(home_region_code(current_user))
    if error:
        return error
    return readiness_report(db.session, region, current_app.config, local_today(current_app.config))
