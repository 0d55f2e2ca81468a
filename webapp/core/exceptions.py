"""The one family of refusals the app raises on purpose.

A `JejakError` carries an HTTP status, a machine-readable code, a message for people and details; one
handler (core/errors.py) answers it: the JSON error envelope on the API, the error page elsewhere. The
request's transaction (core/database.py: `writes`) is rolled back first, so a refusal writes nothing.
Pure: no Flask, so services anywhere may raise these.
"""

from __future__ import annotations

# The status an error code stands for, where a class does not fix its own.
STATUS_OF_CODE = {
    "invalid_request": 400,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
}


class JejakError(Exception):
    """A refusal: `status` (HTTP), `code` (the envelope's), `message` (for people; empty: the status's own
    words) and `details` (what the person may know and act on)."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str = "", *, code: str | None = None, details: dict | None = None, status=None):
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.status = status or STATUS_OF_CODE.get(self.code, type(self).status)
        self.details = details or {}


class CodedError(JejakError):
    """A refusal raised as (code, message): handovers, alert actions."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)
