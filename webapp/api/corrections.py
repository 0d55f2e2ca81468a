"""Correction endpoints of API v1 (the scanner's "Ask for a correction"): the author of an accepted scan asks
to correct it by the scan's id, which the phone knows, with a reason; a supervisor of the box's area, never
the one who asked, approves or rejects it. The rules, and every refusal, are custody/corrections.py's."""

from __future__ import annotations

import re
from typing import ClassVar
from uuid import UUID

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.api.body import BodyError, json_body
from webapp.api.custody import WRITE_ROLES
from webapp.api.schemas import NO_NUL
from webapp.api.views import bp
from webapp.auth.access import box_clause, roles_required
from webapp.auth.models import Role
from webapp.boxes.models import Box
from webapp.core.database import writes
from webapp.custody.corrections import (
    REASON_MAX,
    REASON_MIN,
    decide,
    may_decide,
    not_found,
    pending_query,
    request_correction,
    request_json,
)
from webapp.custody.models import CorrectionRequest
from webapp.extensions import db

LIST_LIMIT = 200
MAX_ID = 2**31 - 1  # the requests' ids are 32-bit integers: a larger number names none
# What Python's str.split() takes for white space (the services trim and collapse it): a reason counts
# only its other characters. Written out so that the document's pattern (ECMA-262), the server's check
# (Python's re) and pydantic's (Rust's regex) read exactly the same characters as spaces.
SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
REASON = rf"^(?:[{SPACE}]*[^{SPACE}\u0000]){{{REASON_MIN}}}[^\u0000]*$"  # 5 characters besides spaces, no NUL
TEXT = rf"^[^\u0000]*[^{SPACE}\u0000][^\u0000]*$"  # something besides spaces, no NUL
REASON_SHORT = f"write at least {REASON_MIN} characters besides spaces"
NOTE_NEEDED = "a rejection needs a note"
# The rule between fields that DecisionIn._note_to_reject enforces, in JSON Schema.
DECISION_RULES = {
    "allOf": [
        {
            "if": {"required": ["approve"], "properties": {"approve": {"const": False}}},
            "then": {"required": ["note"], "properties": {"note": {"type": "string", "pattern": TEXT}}},
        }
    ]
}


class CorrectionIn(BaseModel):
    """Ask to correct one's own accepted scan."""

    model_config = ConfigDict(extra="forbid", strict=True)
    max_body: ClassVar[int] = 8 * 1024  # the reason's 1,000 characters, escaped, and the id

    client_id: UUID = Field(description="The id of the scan to correct, as the phone sent it (ScanIn.id).")
    reason: str = Field(
        max_length=REASON_MAX,
        pattern=NO_NUL,
        description=f"Why the scan was a mistake: at least {REASON_MIN} characters besides spaces.",
        json_schema_extra={"pattern": REASON},
    )

    @field_validator("reason")
    @classmethod
    def _said_why(cls, value: str) -> str:
        if not re.fullmatch(REASON, value):
            raise PydanticCustomError("reason_short", REASON_SHORT)
        return value


class DecisionIn(BaseModel):
    """A supervisor's decision on a pending request."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=DECISION_RULES)
    max_body: ClassVar[int] = 8 * 1024

    approve: bool = Field(description="true: the ledger gets the correction; false: rejected (a note is needed).")
    note: str | None = Field(
        default=None,
        max_length=REASON_MAX,
        pattern=NO_NUL,
        description="Why: required to reject (something besides spaces), optional to approve.",
    )

    @model_validator(mode="after")
    def _note_to_reject(self) -> DecisionIn:
        if not self.approve and not (self.note and re.fullmatch(TEXT, self.note)):
            raise ValueError(NOTE_NEEDED)
        return self


def _body(model: type[BaseModel]):
    """The body; a missing reason or rejection note is refused with the sentence the pages give."""
    try:
        return json_body(model)
    except BodyError as refusal:
        problems = refusal.details.get("problems", [])
        said = {problem["problem"] for problem in problems}
        if any(REASON_SHORT in text for text in said):
            refusal.message = _("Write why the scan must be corrected (at least 5 characters).")
        elif any(NOTE_NEEDED in text for text in said):
            refusal.message = _("Write why the request is rejected.")
        raise


def _listed(query) -> list[dict]:
    rows = db.session.scalars(
        query.limit(LIST_LIMIT).options(
            selectinload(CorrectionRequest.event),
            selectinload(CorrectionRequest.box),
            selectinload(CorrectionRequest.requested_by),
            selectinload(CorrectionRequest.decided_by),
        )
    ).all()
    return [request_json(row) for row in rows]


@bp.route("/corrections", methods=["POST"])
@roles_required(*WRITE_ROLES)
@writes
def ask_correction():
    """Ask to correct one's own accepted scan (the box's latest): 201 with the pending request."""
    body = _body(CorrectionIn)
    asked = request_correction(
        db.session, actor=current_user._get_current_object(), client_id=str(body.client_id), reason=body.reason
    )
    return jsonify(request_json(asked)), 201


@bp.route("/corrections")
@roles_required(*WRITE_ROLES)
def corrections():
    """The pending requests the caller may decide (a supervisor's, in their area, not their own), and the
    caller's own requests with their state, newest first."""
    user = current_user._get_current_object()
    to_decide = []
    if may_decide(user):
        to_decide = _listed(pending_query(user).where(CorrectionRequest.requested_by_id != user.id))
    mine = _listed(
        select(CorrectionRequest)
        .join(Box, Box.id == CorrectionRequest.box_id)
        .where(CorrectionRequest.requested_by_id == user.id, box_clause(user))
        .order_by(CorrectionRequest.id.desc())
    )
    return {"to_decide": to_decide, "mine": mine}


@bp.route("/corrections/<request_id>/decision", methods=["POST"])
@roles_required(Role.SUPERVISOR)
@writes
def decide_correction(request_id: str):
    """Approve (the ledger gets the correction, the box goes back) or reject, with a note: 200."""
    if not (len(request_id) <= 10 and request_id.isascii() and request_id.isdigit() and 0 < int(request_id) <= MAX_ID):
        raise not_found()
    body = _body(DecisionIn)
    decided = decide(
        db.session,
        actor=current_user._get_current_object(),
        request_id=int(request_id),
        approve=body.approve,
        note=body.note,
    )
    return request_json(decided)
