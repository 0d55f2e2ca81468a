"""Benchmark-only endpoints, kept out of the production API: the blueprint is registered only when
`BENCH_FLOOR_ENDPOINT` is configured (bench/scan_ingest.py sets it) and in the test suite, which checks
that it still answers 404 while not enabled."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from flask import Blueprint, Flask, current_app, jsonify
from flask_login import current_user

from webapp.api.body import json_body
from webapp.api.custody import WRITE_ROLES, _csrf_for_cookie_sessions
from webapp.api.schemas import BenchFloorIn
from webapp.auth.access import authorize_write, roles_required
from webapp.boxes.models import Box
from webapp.core.database import writes
from webapp.core.errors import error_response
from webapp.custody.writer import write_scans
from webapp.extensions import csrf, db

bp = Blueprint("bench", __name__)
csrf.exempt(bp)
bp.before_request(_csrf_for_cookie_sessions)


@bp.route("/floor", methods=["POST"])
@roles_required(*WRITE_ROLES)
@writes
def floor():
    """The raw write of one event and its box's new state, in the same transaction as a scan, with no rules.

    bench/scan_ingest.py compares POST /scans against this floor in the same app, same auth, same database.
    It writes events without a valid chain, so it answers 404 unless the configuration enables it.
    """
    if not current_app.config.get("BENCH_FLOOR_ENDPOINT"):
        return error_response(404)
    body = json_body(BenchFloorIn)
    box = db.session.get(Box, body.box_id)
    if box is None:
        return error_response(404)
    authorize_write(current_user, boxes=(box,))  # even the benchmark writes only boxes of the caller's area
    now = datetime.now(UTC)
    box.last_event_at = now
    event = {
        "client_id": str(uuid4()), "box_id": box.id, "box_seq": body.seq, "kind": "inspect", "from_holder": None,
        "to_holder": None, "site_id": None, "actor_id": current_user.id, "device_id": "bench", "device_seq": 0,
        "scanned_at": now, "recorded_at": now, "lat": None, "lon": None, "accuracy": None, "seals": [],
        "condition": None, "note": None, "witness": None, "handover": None, "prev_hash": "0" * 64, "hash": "0" * 64,
    }  # fmt: skip
    write_scans(db.session, boxes=[box], events=[event], receipts=[], alerts=[])
    return jsonify({"ok": True}), 201


def init_app(app: Flask) -> None:
    if app.config.get("BENCH_FLOOR_ENDPOINT") or app.testing:
        app.register_blueprint(bp, url_prefix="/api/v1/_bench")
