"""Custody endpoints of API v1: scans (one or a batch), a box's chain, expected boxes, alerts (the ledger's
public endpoints are in api/ledger.py)."""

from __future__ import annotations

import logging
from decimal import Decimal

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import String, bindparam, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload

from webapp.alerts.services import ACTORS as ALERT_ACTORS
from webapp.alerts.services import STATE_FILTERS, act, alert_query, alerts_in_scope, parse_before
from webapp.api.body import json_body
from webapp.api.schemas import BatchIn, NoteIn, PackIn, ScanIn
from webapp.api.views import box_brief, bp, checked_region
from webapp.auth.access import box_clause, require_box, require_site, roles_required
from webapp.auth.models import Role, User
from webapp.boxes.models import Box, BoxStatus
from webapp.boxes.packing import pack_packet
from webapp.core.database import in_transaction, writes
from webapp.core.errors import error_response
from webapp.custody import event
from webapp.custody.arrivals import site_arrivals
from webapp.custody.checkpoints import CheckpointRefused, checkpoint_due, make_checkpoint, signing_key
from webapp.custody.event import utc_text
from webapp.custody.messages import message, warning_label
from webapp.custody.models import Alert, CustodyEvent, Verdict
from webapp.custody.outcome import Outcome
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import csrf, db
from webapp.geo.models import Site
from webapp.pwa.cache import BadCursor, offline_cache

log = logging.getLogger(__name__)
WRITE_ROLES = (Role.WAREHOUSE, Role.COURIER, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
STATUS_BY_VERDICT = {"accepted": 201, "duplicate": 200, "refused": 422}


def verdict_status(verdict: str, reason: str | None) -> int:
    """201 accepted, 200 duplicate, 403 a write outside the caller's role or area, 422 another refusal."""
    return 403 if verdict == Verdict.REFUSED and reason == "forbidden" else STATUS_BY_VERDICT[verdict]


@bp.before_request
def _csrf_for_cookie_sessions():
    """A browser session writing to the API must send its CSRF token; a bearer token needs none.

    Authentication comes first: an anonymous write is answered 401 by the view's roles_required, not
    400 csrf_failed (a CSRF token protects a session, and without one there is nothing to protect)."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if not current_user.is_authenticated:  # runs the loaders: a valid bearer token marks the request
        return
    if not g.get("authenticated_by_token"):
        csrf.protect()


def _coordinate(value: float | None) -> Decimal | None:
    """Six decimals, as stored; never -0.000000 (the database keeps 0, and the hash must match it)."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001")) + 0


def _to_input(scan: ScanIn) -> ScanInput:
    return ScanInput(
        client_id=str(scan.id),
        code=scan.code,
        action=scan.action,
        site=scan.site,
        to=scan.to,
        seals=scan.seals,
        condition=scan.condition,
        note=scan.note,
        witness=scan.witness,
        scanned_at=scan.scanned_at,
        device_id=scan.device_id,
        device_seq=scan.device_seq,
        lat=_coordinate(scan.lat),
        lon=_coordinate(scan.lon),
        accuracy=scan.accuracy,
        handover=str(scan.handover) if scan.handover else None,
    )


def result_json(result: Outcome) -> dict:
    """The answer to one scan as the phone reads it."""
    return {
        "id": result.client_id,
        "verdict": result.verdict,
        "reason": result.reason,
        "message": message(result),
        "warnings": [{"code": w, "message": warning_label(w)} for w in result.warnings],
        "details": result.details,
        "event": result.event,
        **({"original_verdict": result.original_verdict} if result.original_verdict else {}),
    }


def _record(scans: list[ScanInput]) -> list[Outcome]:
    """Run the scans in one write transaction, retrying when a concurrent writer got in the way."""
    actor = current_user._get_current_object()
    results = in_transaction(lambda: record_scans(db.session, actor=actor, scans=scans))
    ids = [r.event["id"] for r in results if r.verdict == Verdict.ACCEPTED and r.event]
    every = current_app.config["LEDGER_CHECKPOINT_EVERY"]
    if ids and max(ids) // every > (min(ids) - 1) // every:  # these events crossed a multiple of N
        _maybe_checkpoint()
    return results


def _maybe_checkpoint() -> None:
    """Every N events the ledger gets a signed checkpoint; a failure here never fails the scan."""
    try:
        if checkpoint_due(db.session, current_app.config["LEDGER_CHECKPOINT_EVERY"]):
            in_transaction(lambda: make_checkpoint(db.session, signing_key(current_app.config)), attempts=1)
    except (DBAPIError, CheckpointRefused):
        db.session.rollback()
        log.exception("automatic checkpoint failed; `flask ledger checkpoint` will catch up")


@bp.route("/scans", methods=["POST"])
@roles_required(*WRITE_ROLES)
def post_scan():
    """Record one scan: 201 accepted, 200 duplicate, 422 refused (with the reason and where the box belongs)."""
    scan = json_body(ScanIn)
    result = _record([_to_input(scan)])[0]
    return jsonify(result_json(result)), verdict_status(result.verdict, result.reason)


@bp.route("/scans/batch", methods=["POST"])
@roles_required(*WRITE_ROLES)
def post_scan_batch():
    """Record up to 1,000 scans in device order; one result each, in the order sent."""
    batch = json_body(BatchIn)
    results = _record([_to_input(scan) for scan in batch.scans])
    return jsonify({"results": [result_json(r) for r in results]}), 200


def _box(sscc: str) -> Box:
    """The box, with the three sites its scope check reads (one query)."""
    return require_box(
        current_user,
        db.session.scalar(
            select(Box)
            .where(Box.sscc == sscc)
            .options(joinedload(Box.destination), joinedload(Box.holder_site), joinedload(Box.current_site))
        ),
    )


_EVENT = CustodyEvent.__table__.c
# A box's chain as plain rows, in event.READ_COLUMNS order with names for ids: site codes and usernames come
# from index look-ups per event, a plan that stays fast whatever the planner believes about the tables' sizes.
_NAMED = {
    "box_id": bindparam("sscc", type_=String),
    "site_id": select(Site.code).where(Site.id == _EVENT.site_id).scalar_subquery(),
    "actor_id": select(User.username).where(User.id == _EVENT.actor_id).scalar_subquery(),
}
_CHAIN = (
    select(*(_NAMED.get(name, _EVENT[name]) for name in event.READ_COLUMNS))
    .where(_EVENT.box_id == bindparam("box_id"))
    .order_by(_EVENT.box_seq)
)


@bp.route("/boxes/<sscc>/events")
@roles_required()
def box_events(sscc: str):
    """The box's whole chain of custody events, oldest first, with their hashes."""
    box = _box(sscc)
    rows = db.session.execute(_CHAIN, {"box_id": box.id, "sscc": box.sscc}).tuples()
    return {"box": box.sscc, "events": [event.api_event(event.from_named_row(row)) for row in rows]}


@bp.route("/sites/<code>/expected")
@roles_required()
def expected(code: str):
    """Boxes in transit to or held at a site, with what a phone needs to judge a scan offline."""
    site = require_site(current_user, db.session.scalar(select(Site).where(Site.code == code.upper())))
    boxes = db.session.scalars(
        select(Box)
        .where(or_(Box.transit_site_id == site.id, Box.holder_site_id == site.id), Box.status != BoxStatus.VOIDED)
        .order_by(Box.sscc)
        .limit(20_000)
    ).all()
    return {
        "site": site.code,
        "boxes": [{**box_brief(box), "expected": box.transit_site_id == site.id} for box in boxes],
    }


@bp.route("/sites/<code>/arrivals")
@roles_required()
def arrivals(code: str):
    """The boxes on their way to a site and those that arrived there today, by final destination."""
    site = require_site(current_user, db.session.scalar(select(Site).where(Site.code == code.upper())))
    return site_arrivals(db.session, site, box_clause(current_user)).json()


@bp.route("/alerts")
@roles_required()
def alerts():
    """Alerts in the caller's scope, newest first; filter with ?kind=, ?state= (or unresolved) and ?region=;
    ?before=ID for the page of older ones."""
    state = request.args.get("state", "")
    if state and state not in STATE_FILTERS:
        return error_response(400, "invalid_request", "state must be open, acknowledged, resolved or unresolved")
    try:
        before = parse_before(request.args.get("before"))
    except ValueError as exc:
        return error_response(400, "invalid_request", str(exc))
    region = ""
    if request.args.get("region"):  # checked as the readiness API checks it: known, and in your area
        region, error = checked_region()
        if error:
            return error
    limit = request.args.get("limit", "100")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= 1000):
        return error_response(400, "invalid_request", "limit must be a whole number from 1 to 1000")
    query = alert_query(current_user, state=state, kind=request.args.get("kind", "")[:32], region=region, before=before)
    rows = db.session.scalars(query.limit(int(limit))).all()
    return {"alerts": [alert_json(a) for a in rows]}


def alert_json(alert: Alert) -> dict:
    """One alert as published."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "state": alert.state,
        "box": alert.box.sscc if alert.box else None,
        "site": alert.site.code if alert.site else None,
        "actor": alert.actor.username if alert.actor else None,
        "code": alert.code,
        "details": alert.details,
        "created_at": utc_text(alert.created_at),
        "resolved_at": utc_text(alert.resolved_at) if alert.resolved_at else None,
        "resolution_note": alert.resolution_note,
    }


@bp.route("/packing", methods=["POST"])
@roles_required(Role.WAREHOUSE)
@writes
def pack():
    """Put one packet into one box: 201 packed, 200 already in this box, 422 refused (and kept as an alert)."""
    body = json_body(PackIn)
    result = pack_packet(
        db.session,
        actor=current_user._get_current_object(),
        site_code=body.site,
        box_code=body.box,
        packet_code=body.packet,
        carton_code=body.carton,
        device_id=body.device_id,
        device_seq=body.device_seq,
    )
    answer = {
        "verdict": result.verdict,
        "reason": result.reason,
        "message": message(result, "pack"),
        "details": result.details,
        "missing": result.missing,
        "event_id": result.event_id,
    }
    return jsonify(answer), verdict_status(result.verdict, result.reason)


@bp.route("/sites/<code>/offline")
@roles_required()
def offline(code: str):
    """The boxes a phone at this site may meet, compact, to judge scans without a network (pwa/cache.py).

    Without `since`, the whole list (`full: true`). With `?since=CURSOR` (the `cursor` of an earlier
    answer), only the boxes changed since (`boxes`) and those that left the list (`gone`, SSCCs), with
    `full: false`; a cursor from the future or older than a week gets the whole list, `full: true` and
    `full_because` "future" or "too_old"; one that is not a cursor at all is refused 400. Each box is an
    array in the order of `fields`: sscc, destination (site code), contest, dapil (code), status,
    in_transit_to and held_at (this site's code or null), sealed (bool). `destinations` and `dapils` name
    the sites and dapils the boxes sent refer to; `count` is the size of the whole list, which a phone's
    merged copy must match (else it asks for the whole list). Keep the new `cursor` for the next call.
    """
    site = require_site(current_user, db.session.scalar(select(Site).where(Site.code == code.upper())))
    try:
        return offline_cache(db.session, site, since=request.args.get("since"))
    except BadCursor:
        return error_response(
            400, "invalid_request", _("since must be the cursor of an earlier answer of this list, or left out.")
        )


@bp.route("/alerts/<alert_id>/acknowledge", methods=["POST"], defaults={"action": "acknowledge"})
@bp.route("/alerts/<alert_id>/resolve", methods=["POST"], defaults={"action": "resolve"})
@roles_required(*ALERT_ACTORS)
@writes
def act_on_alert(alert_id: str, action: str):
    """Acknowledge or resolve an alert in scope (`{"note": "..."}`; a resolution needs one)."""
    if not alert_id.isdigit() or len(alert_id) > 18:
        return error_response(404, "not_found", "no alert with that id in your area")
    note = json_body(NoteIn).note
    alert = db.session.scalar(select(Alert).where(Alert.id == int(alert_id), alerts_in_scope(current_user)))
    if alert is None:
        return error_response(404, "not_found", "no alert with that id in your area")
    act(db.session, alert, actor=current_user._get_current_object(), action=action, note=note)
    return alert_json(alert)
