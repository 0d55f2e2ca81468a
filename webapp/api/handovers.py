"""Handover endpoints of API v1 (open a BAST, read it back from the ledger, sign it, close it) and
incident photos."""

from __future__ import annotations

import base64
import binascii

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.api.body import json_body
from webapp.api.schemas import CloseIn, HandoverIn, SignatureIn
from webapp.api.views import bp
from webapp.auth.access import roles_required
from webapp.auth.models import Role
from webapp.core.database import writes
from webapp.core.errors import error_response
from webapp.custody.handovers import (
    HANDOVER_ROLES,
    add_signature,
    close_handover,
    handover_json,
    handover_parties,
    may_act,
    may_see,
    start_handover,
)
from webapp.custody.models import Handover
from webapp.custody.photos import store_photo
from webapp.extensions import db


def _no_handover():
    return error_response(404, "not_found", _("No handover with that token in your area."))


def _handover(token: str, *, act: bool = False) -> Handover | None:
    """The handover if the caller may see it (and, with `act`, sign and close it: the parties only)."""
    handover = db.session.scalar(select(Handover).where(Handover.token == token))
    if handover is None or not may_see(current_user, handover):
        return None
    if act and not may_act(current_user, handover):
        return None
    return handover


@bp.route("/handovers", methods=["POST"])
@roles_required(*HANDOVER_ROLES)
@writes
def open_handover():
    """Open a handover from the sender's site: 201 (or 200 for the same token again)."""
    body = json_body(HandoverIn)
    existed = db.session.scalar(select(Handover.id).where(Handover.token == str(body.token))) is not None
    handover = start_handover(
        db.session, actor=current_user._get_current_object(), token=str(body.token), site_code=body.site, to=body.to
    )
    return jsonify(handover_json(db.session, handover)), 200 if existed else 201


@bp.route("/handovers/parties")
@roles_required(*HANDOVER_ROLES)
def handover_parties_of_caller():
    """Who the caller hands over from and to whom they may: the phone fills both in, nobody types a code."""
    return handover_parties(db.session, current_user._get_current_object())


@bp.route("/handovers/<token>")
@roles_required()
def get_handover(token: str):
    """A handover as the ledger has it: expected, received, missing and unexpected boxes, signers."""
    handover = _handover(token)
    if handover is None:
        return _no_handover()
    return handover_json(db.session, handover)


@bp.route("/handovers/<token>/signatures", methods=["POST"])
@roles_required(*HANDOVER_ROLES)
@writes
def sign_handover(token: str):
    """Add a signature drawn on the screen (a party signing again replaces its own)."""
    handover = _handover(token, act=True)
    if handover is None:
        return _no_handover()
    body = json_body(SignatureIn)
    try:
        image = base64.b64decode(body.image.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return error_response(400, "invalid_request", "the signature is not valid base64")
    add_signature(
        db.session,
        handover,
        actor=current_user._get_current_object(),
        role=body.role,
        name=body.name,
        organisation=body.organisation,
        image=image,
    )
    return jsonify(handover_json(db.session, handover)), 201


@bp.route("/handovers/<token>/close", methods=["POST"])
@roles_required(*HANDOVER_ROLES)
@writes
def close(token: str):
    """Close and number the BAST; its PDF is at /bast/NUMBER.pdf."""
    handover = _handover(token, act=True)
    if handover is None:
        return _no_handover()
    json_body(CloseIn)  # nothing to read, but a body sent must still be a JSON object
    close_handover(
        db.session, handover, actor=current_user._get_current_object(), base_url=current_app.config["PUBLIC_BASE_URL"]
    )
    return handover_json(db.session, handover)


@bp.route("/photos", methods=["POST"])
@roles_required(*HANDOVER_ROLES, Role.SUPERVISOR)
@writes
def upload_photo():
    """An incident photo (the request body is the JPEG): 201 kept, 200 already kept; name it in the
    damage or loss scan's note as `foto sha256:HEX`."""
    if request.mimetype != "image/jpeg":
        return error_response(415, "unsupported_media_type", "send the photo as image/jpeg")
    photo, created = store_photo(db.session, request.get_data(), actor=current_user._get_current_object())
    return jsonify({"sha256": photo.sha256}), 201 if created else 200
