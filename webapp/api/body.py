"""The one way API v1 reads a JSON request body.

Before anything is parsed, the body must be declared JSON (415 otherwise), fit the endpoint's size (413),
be UTF-8, and keep within a fixed shape: at most MAX_DEPTH levels of nesting, MAX_CONTAINERS arrays and
objects, and MAX_VALUES strings or items. That shape is found by a flat scan of the bytes (C-speed string
operations, no recursion, no object per token), so neither a deep `[[[[...` nor a body of a million tiny
values costs more than a few copies of its bytes. Then the body must be one JSON object without NaN or Infinity (400),
and it is parsed once, by the endpoint's pydantic model (400 with the problems found).

Each request model says how large its body may be (`max_body`, in bytes). An empty body reads as `{}`,
so an endpoint whose every field is optional (closing a BAST) may be called without one.
"""

from __future__ import annotations

import re
from typing import TypeVar

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError

from webapp.api.schemas import MAX_BATCH
from webapp.core.exceptions import JejakError

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 32  # the deepest body we take (a batch: object, scans, scan, seals) is 4 levels
MAX_CONTAINERS = 4 * MAX_BATCH  # a full batch has 2 + 2 per scan (the scan and its seals)
MAX_VALUES = 64 * MAX_BATCH  # strings, and items (commas), each: a full batch has fewer than 50 a scan
JSON_TYPES = ("application/json",)

# After escapes are dropped no quote is escaped: a string is a quote, anything but a quote, a quote
# (or the end, for a string cut short: the parser says so later).
_STRING = re.compile(rb'"[^"]*(?:"|\Z)')
# Past the strings, only these bytes matter: structure, and the capitals of NaN and Infinity (JSON's own
# words, true, false and null, have none).
_NOT_SHAPE = bytes(range(256)).translate(None, b'"[]{},NI')


class BodyError(JejakError):
    """A request body refused before the view used it; answered with the error envelope."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message, code=code, details=details, status=status)


def _invalid(problem: str) -> BodyError:
    return BodyError(
        400,
        "invalid_request",
        _("The request is not valid JSON."),
        {"problems": [{"field": "(body)", "problem": problem}]},
    )


def read_body(max_bytes: int) -> bytes:
    """The request's body, read no further than `max_bytes` (413 beyond)."""

    def too_large() -> BodyError:
        message = _("The request is too large: at most %(kb)s kB here.", kb=max_bytes // 1000)
        return BodyError(413, "too_large", message, {"max_bytes": max_bytes})

    if (request.content_length or 0) > max_bytes:
        raise too_large()
    chunks, size = [], 0
    while size <= max_bytes:  # a stream may return less than asked: read until the end or one byte too many
        chunk = request.stream.read(max_bytes + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > max_bytes:
        raise too_large()
    return b"".join(chunks)


def check_shape(data: bytes, *, max_values: int = MAX_VALUES, max_containers: int = MAX_CONTAINERS) -> None:
    """Refuse JSON text that is not UTF-8, not an object, too deep, of too many values (`max_values`) or arrays
    and objects (`max_containers`), or holds NaN or Infinity, without parsing it: linear C-speed scans that
    allocate a few copies of the body at most."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("the body is not UTF-8 text") from None
    # A run of backslashes pairs up from its left, as JSON reads it; an odd one left escapes a quote.
    text = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    if text.count(b'"') > 2 * max_values:
        raise _invalid(f"more than {max_values} strings")
    shape = _STRING.sub(b"", text.translate(None, _NOT_SHAPE))  # outside strings, only what matters
    if b"N" in shape or b"I" in shape:
        raise _invalid("NaN and Infinity are not JSON numbers")
    if not shape.startswith(b"{"):
        raise _invalid("the body must be a JSON object")
    if shape.count(b",") > max_values:
        raise _invalid(f"more than {max_values} items")
    if shape.count(b"[") + shape.count(b"{") > max_containers:
        raise _invalid(f"more than {max_containers} arrays and objects")
    depth = 0
    for byte in shape.translate(None, b","):
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_DEPTH:
            raise _invalid(f"nested more than {MAX_DEPTH} levels deep")
        if depth < 0:  # unbalanced: the parser says where; stopping here bounds the loop by the openings
            break


def schema_error(exc: ValidationError) -> BodyError:
    """A body that is not valid JSON, or does not match the model, with the problems found (50 at most)."""
    errors = exc.errors(include_url=False, include_input=False)[:50]
    problems = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]} for err in errors]
    if errors and errors[0]["type"] == "json_invalid":
        message = _("The request is not valid JSON.")
    else:
        message = _("The request does not match the schema.")
    return BodyError(400, "invalid_request", message, {"problems": problems})


def json_body(model: type[M]) -> M:
    """The request's JSON body as `model`, or a BodyError (413, 415 or 400) that the API answers with."""
    data = read_body(model.max_body)
    if not data:
        data = b"{}"
    elif request.mimetype not in JSON_TYPES or request.mimetype_params.get("charset", "utf-8").lower() != "utf-8":
        raise BodyError(415, "unsupported_media_type", _("Send the request as JSON (Content-Type: application/json)."))
    check_shape(data)
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise schema_error(exc) from None
