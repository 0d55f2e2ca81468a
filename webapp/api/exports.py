"""Export endpoints of API v1: the ledger as EPCIS 2.0 JSON-LD for a region and time range, the ledger
with its signed checkpoints for offline verification, and the readiness figures."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Response, current_app, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from webapp.api.views import bp, checked_region
from webapp.auth.access import home_region_code, roles_required
from webapp.auth.models import Role
from webapp.core.errors import error_response
from webapp.core.streaming import guarded, in_chunks, take_slot
from webapp.custody.checkpoints import signed_checkpoint, signing_key
from webapp.custody.export import MAX_DELAY, export_lines
from webapp.exports.epcis import stream_document
from webapp.extensions import db, limiter
from webapp.readiness.report import local_today, readiness_report

log = logging.getLogger(__name__)
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
RETRY_AFTER = 60  # seconds a client refused for want of an export slot waits before asking again


def _moment(name: str, default: datetime) -> datetime | None:
    text = request.args.get(name)
    if text is None:  # absent; an empty value is no time, and is refused
        return default
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _streamed(chunks, *, what: str, filename: str, mimetype: str):
    """A long download, if one of the machine's export slots is free (else 429 with Retry-After): sent in
    chunks; a failure part-way is logged and drops the connection, so the file never looks complete."""
    slot = take_slot(current_app.config["EXPORT_SLOTS_DIR"], current_app.config["EXPORT_CONCURRENCY"])
    if slot is None:
        log.info("%s by %s refused: every export slot is taken", what, current_user.username)
        return error_response(
            429,
            "exports_busy",
            _("Other downloads are running now. Try again in a minute."),
            headers={"Retry-After": str(RETRY_AFTER)},
        )
    what = f"{what} by {current_user.username}"
    log.info("%s: started in slot %d", what, slot.number)
    response = Response(
        stream_with_context(guarded(in_chunks(chunks), slot, what)),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    response.call_on_close(slot.release)  # also when the stream was never read
    return response


@bp.route("/export/epcis")
@roles_required(Role.SUPERVISOR, Role.OBSERVER, Role.ADMIN)
def export_epcis():
    """The region's events between `from` and `to` (RFC 3339) as one EPCIS 2.0 document, streamed; its last
    member, `jejak:complete`, tells a client the document is whole."""
    region, error = checked_region()
    if error:
        return error
    start, end = _moment("from", EARLIEST), _moment("to", datetime.now(UTC))
    if start is None or end is None or start >= end:
        return error_response(400, "invalid_request", "from and to must be RFC 3339 times, from before to")
    chunks = stream_document(
        db.session, region=region, start=start, end=end, base=current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    )
    name = region or "ID"
    return _streamed(
        chunks, what=f"EPCIS export of {name}", filename=f"jejak-epcis-{name}.jsonld", mimetype="application/ld+json"
    )


@bp.route("/export/ledger")
@roles_required(Role.SUPERVISOR, Role.OBSERVER, Role.ADMIN)
@limiter.limit(
    lambda: current_app.config["EXPORT_RATE_LIMIT"], deduct_when=lambda response: response.status_code == 200
)
def export_ledger_file():
    """Events and signed checkpoints as JSON Lines, for `flask ledger verify --from-export FILE`: the boxes
    of ?region= (default: the caller's area), each event with its inclusion proof in the newest signed
    checkpoint (and, with ?since=M, a consistency proof from the checkpoint of M events); streamed, and
    ending with the end line without which the file never verifies."""
    region, error = checked_region(home_region_code(current_user))
    if error:
        return error
    since = request.args.get("since")
    if since is not None:
        message = _("since must be the size of a checkpoint the log signed (GET /api/v1/ledger/checkpoints).")
        if not since.isdigit() or int(since) < 1:
            return error_response(400, "invalid_request", message)
        if signed_checkpoint(db.session, int(since)) is None:  # as the proof endpoints answer an unsigned size
            return error_response(404, "not_found", message)
        since = int(since)
    key = signing_key(current_app.config)
    max_delay = int(current_app.config.get("LEDGER_MAX_DELAY") or MAX_DELAY)
    # A region's file carries its own events with their proofs; the whole country's (region=ID) is better
    # taken with `flask ledger export` on the server than through a web worker; hence the rate limit.
    lines = (line for _kind, line in export_lines(db.session, key, region or None, max_delay=max_delay, since=since))
    name = region or "ID"
    return _streamed(
        lines, what=f"ledger export of {name}", filename=f"jejak-ledger-{name}.jsonl", mimetype="application/x-ndjson"
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
