"""The ledger's public endpoints of API v1: anyone, without logging in, reads the log's key, its newest
signed checkpoint (a C2SP signed note with the witnesses' cosignatures), every checkpoint, and RFC 9162
inclusion and consistency proofs against any signed tree size, computed from the stored tree in O(log n).

All of them share one rate limit per client address (LEDGER_RATE_LIMIT, default 300 per minute).
"""

from __future__ import annotations

import base64

from flask import Response, current_app, request
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.api.views import bp
from webapp.core.errors import error_response
from webapp.custody.checkpoints import (
    ProofUnavailable,
    checkpoint_json,
    consistency,
    inclusion,
    latest_signed,
    log_verifier,
    published_note,
    signing_key,
)
from webapp.custody.models import LedgerCheckpoint
from webapp.extensions import db, limiter

MAX_COUNT = 2**63 - 1  # tree sizes and event ids are 64-bit
# Answers for an explicit size never change: a signed tree and its nodes are never rewritten.
FIXED = "public, max-age=86400"
CURRENT = "no-cache"

ledger_limit = limiter.shared_limit(
    lambda: current_app.config.get("LEDGER_RATE_LIMIT", "300 per minute"), scope="ledger-public"
)


class BadParameter(ValueError):
    pass


def _count(name: str, *, required: bool = False) -> int | None:
    """A query parameter that is a whole number from 0 to 2^63-1; None when absent and not required."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise BadParameter(_("The %(name)s parameter is required.", name=name))
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_COUNT):
        raise BadParameter(_("%(name)s must be a whole number, 0 or more.", name=name))
    return int(raw)


def _text(body: str, cache: str) -> Response:
    return Response(body, mimetype="text/plain", headers={"Cache-Control": cache})


def _unavailable(exc: ProofUnavailable):
    if exc.what == "event":
        message = _(
            "Event %(event)s is not covered by the checkpoint of size %(size)s.", event=exc.event, size=exc.size
        )
    elif exc.size is None:
        message = _("There is no signed checkpoint yet.")
    else:
        message = _("No signed checkpoint has tree size %(size)s.", size=exc.size)
    return error_response(404, "not_found", message)


@bp.route("/ledger/key")
@ledger_limit
def ledger_key():
    """Public: the log's verifier key (signed-note vkey: origin+key ID+base64(0x01 || Ed25519 key))."""
    return _text(log_verifier(current_app.config).vkey + "\n", CURRENT)


@bp.route("/ledger/checkpoint")
@ledger_limit
def ledger_checkpoint():
    """Public: the newest checkpoint as a signed note, with the stored cosignatures of active witnesses."""
    newest = latest_signed(db.session)
    if newest is None:
        return error_response(404, "not_found", _("There is no signed checkpoint yet."))
    return _text(published_note(db.session, newest), CURRENT)


@bp.route("/ledger/checkpoints")
@ledger_limit
def checkpoints():
    """Public: every checkpoint, oldest first (each with its note; none for one made before notes), and the
    key to check them with."""
    key = signing_key(current_app.config)
    rows = db.session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.upto_event_id, LedgerCheckpoint.id)
    ).all()
    return {
        "algorithm": "Ed25519",
        "public_key": key.public_text,
        "key_id": key.key_id,
        "vkey": log_verifier(current_app.config).vkey,
        "checkpoints": [checkpoint_json(c) for c in rows],
    }


@bp.route("/ledger/proof/inclusion")
@ledger_limit
def inclusion_proof():
    """Public: ?event=ID&size=N: the RFC 9162 inclusion proof of the event's leaf in the signed tree of size N
    (default: the newest)."""
    try:
        event, size = _count("event", required=True), _count("size")
    except BadParameter as exc:
        return error_response(400, "invalid_request", str(exc))
    try:
        proof = inclusion(db.session, event, size)
    except ProofUnavailable as exc:
        return _unavailable(exc)
    response = proof.json()
    return response, 200, {"Cache-Control": FIXED if size is not None else CURRENT}


@bp.route("/ledger/proof/consistency")
@ledger_limit
def consistency_proof():
    """Public: ?from=M&to=N: the RFC 9162 consistency proof between two signed tree sizes (M may be 0; N
    defaults to the newest)."""
    try:
        first, second = _count("from", required=True), _count("to")
    except BadParameter as exc:
        return error_response(400, "invalid_request", str(exc))
    if second is not None and first > second:
        return error_response(400, "invalid_request", _("from must not be larger than to."))
    try:
        first, second_size, proof = consistency(db.session, first, second)
    except ProofUnavailable as exc:
        return _unavailable(exc)
    except ValueError:  # the newest size is smaller than from
        return error_response(400, "invalid_request", _("from must not be larger than to."))
    body = {"from": first, "to": second_size, "proof": [base64.b64encode(p).decode() for p in proof]}
    return body, 200, {"Cache-Control": FIXED if second is not None else CURRENT}
