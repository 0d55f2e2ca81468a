"""One error envelope for JSON, friendly pages for people; no stack trace ever reaches a user."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.core.exceptions import JejakError
from webapp.core.security import is_api_request
from webapp.extensions import db

log = logging.getLogger(__name__)

# Machine-readable codes for the JSON envelope, by HTTP status.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
}


def error_response(status: int, code: str | None = None, message: str = "", details=None, headers=None):
    """Build `{"error": {"code", "message", "details"}}` with the given status (and headers, e.g. Allow)."""
    body = {
        "error": {
            "code": code or ERROR_CODES.get(status, "error"),
            "message": message,
            "details": details or {},
        }
    }
    return jsonify(body), status, headers or {}


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in first."),
        403: _("You do not have access to this page or data."),
        404: _("We could not find that page or item."),
        405: _("That action is not allowed here."),
        409: _("That conflicts with the current state; reload and try again."),
        413: _("The request is too large."),
        415: _("That kind of content is not accepted here."),
        422: _("The request was understood but cannot be carried out."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. Your data is safe; please try again."),
    }


def _headers(exc: HTTPException) -> list[tuple[str, str]]:
    """The exception's own headers (Allow on a 405, Retry-After on a 429), less the content type we replace."""
    return [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    message = _messages().get(status, exc.description or "")
    if is_api_request():
        return error_response(status, message=message, headers=_headers(exc))
    return render_template("errors/generic.html", status=status, message=message), status, _headers(exc)


def _handle_csrf(exc: CSRFError):
    message = _("The form expired. Please reload the page and try again.")
    if is_api_request():
        return error_response(400, "csrf_failed", message)
    return render_template("errors/generic.html", status=400, message=message), 400


def _handle_unexpected(exc: Exception):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return _handle_http(InternalServerError())


def _handle_refusal(exc: JejakError):
    """A refusal raised on purpose (core/exceptions.py), answered in one shape; nothing it began is kept."""
    db.session.rollback()
    message = exc.message or _messages().get(exc.status, "")
    if is_api_request():
        return error_response(exc.status, exc.code, message, exc.details)
    return render_template("errors/generic.html", status=exc.status, message=message), exc.status


def init_app(app: Flask) -> None:
    """Register the handlers app-wide."""
    app.register_error_handler(JejakError, _handle_refusal)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
