"""POST /api/v1/ledger/cosignatures: a registered witness posts its cosignature of a checkpoint
(custody/witnesses.py). No login: the witness's signature is the authentication; rate-limited."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from webapp.api.views import bp
from webapp.core.database import writes
from webapp.core.errors import error_response
from webapp.custody import witnesses
from webapp.extensions import db, limiter

DEFAULT_RATE_LIMIT = "60 per minute"  # per address; a witness posts once per checkpoint


def _refusals() -> dict[str, tuple[int, str]]:
    """Each refusal of witnesses.store_cosignature: its status and its words."""
    return {
        "invalid_note": (
            422,
            _("This is not a checkpoint note: its text, a blank line, then one signature line per key."),
        ),
        "unknown_witness": (403, _("The note carries no cosignature of a registered, active witness.")),
        "several_witnesses": (422, _("Post the cosignature of one witness at a time.")),
        "bad_signature": (403, _("The witness's cosignature does not verify for this checkpoint.")),
        "clock_skew": (422, _("The cosignature is dated in the future: check the witness's clock.")),
        "unknown_checkpoint": (404, _("No checkpoint of this log has exactly this text.")),
    }


@bp.route("/ledger/cosignatures", methods=["POST"])
@limiter.limit(lambda: current_app.config.get("COSIGNATURE_RATE_LIMIT", DEFAULT_RATE_LIMIT))
@writes
def post_cosignature():
    """Keep a witness's cosignature of a stored checkpoint: 201 kept, 200 already kept (the first one stays)."""
    if request.mimetype != "text/plain":
        return error_response(415, message=_("Send the cosigned checkpoint note as text/plain."))
    if (request.content_length or 0) > witnesses.MAX_NOTE_BYTES:
        return error_response(413, message=_("The note is larger than a checkpoint note can be."))
    body = request.get_data(cache=False)
    if len(body) > witnesses.MAX_NOTE_BYTES:  # a chunked body has no Content-Length
        return error_response(413, message=_("The note is larger than a checkpoint note can be."))
    refusals = _refusals()
    try:
        stored = witnesses.store_cosignature(db.session, body.decode("utf-8"), datetime.now(UTC))
    except UnicodeDecodeError:
        status, message = refusals["invalid_note"]
        return error_response(status, "invalid_note", message, {"problem": "not UTF-8"})
    except witnesses.CosignatureRefused as exc:
        status, message = refusals[exc.code]
        details = {"problem": exc.detail} if exc.code == "invalid_note" else {}
        return error_response(status, exc.code, message, details)
    cosignature = stored.cosignature
    answer = {"witness": cosignature.witness.name, "size": stored.size, "timestamp": cosignature.timestamp}
    return jsonify(answer), 201 if stored.created else 200
