"""The OpenAPI 3.1 document of API v1, built from the same pydantic schemas the endpoints validate with."""

from __future__ import annotations

from flask import current_app

from webapp.api.corrections import CorrectionIn, DecisionIn
from webapp.api.schemas import BatchIn, HandoverIn, PackIn, ScanIn, SignatureIn
from webapp.api.views import bp
from webapp.custody import event

REF = "#/components/schemas/{model}"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
        }
    },
}
EVENT_SUMMARY = {
    "type": ["object", "null"],
    "required": ["id", "box", "seq", "kind", "site", "from", "to", "hash", "recorded_at"],
    "properties": {
        "id": {"type": "integer"},
        "box": {"type": "string"},
        "seq": {"type": "integer"},
        "kind": {"type": "string"},
        "site": {"type": ["string", "null"]},
        "from": {"type": ["string", "null"]},
        "to": {"type": ["string", "null"]},
        "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "recorded_at": {"type": "string", "format": "date-time"},
    },
}
PACK_RESULT = {
    "type": "object",
    "required": ["verdict", "reason", "message", "details", "missing", "event_id"],
    "properties": {
        "verdict": {"enum": ["accepted", "duplicate", "refused"]},
        "reason": {
            "enum": [
                None,
                "malformed_code",
                "unknown_code",
                "wrong_dapil",
                "wrong_tps",
                "already_packed",
                "box_sealed",
                "is_carton",
                "not_a_carton",
                "carton_not_open",
                "wrong_item",
                "carton_short",
                "not_held_by_you",
                "voided",
                "forbidden",
            ]
        },
        "message": {"type": "string"},
        "details": {"type": "object"},
        "missing": {
            "type": "array",
            "items": {"type": "object", "required": ["sscc", "item", "name", "quantity", "dapil"]},
        },
        "event_id": {"type": ["integer", "null"]},
    },
}
HANDOVER = {
    "type": "object",
    "required": ["token", "number", "status", "sender", "receiver", "items", "counts", "signatures"],
    "properties": {
        "token": {"type": "string", "format": "uuid"},
        "number": {"type": ["string", "null"]},
        "status": {"enum": ["open", "closed"]},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sscc", "destination", "seals", "outcome"],
                "properties": {
                    "outcome": {"enum": ["received", "missing", "unexpected", "refused"]},
                    "witness": {"type": ["string", "null"], "description": "Who witnessed a change of seals"},
                    "reason": {"type": ["string", "null"], "description": "Why a refused box was refused"},
                    "message": {"type": ["string", "null"], "description": "That refusal in words"},
                },
            },
        },
        "counts": {"type": "object"},
        "signatures": {"type": "array", "items": {"type": "object", "required": ["role", "name"]}},
    },
}
SCAN_RESULT = {
    "type": "object",
    "required": ["id", "verdict", "reason", "message", "warnings", "details", "event"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "verdict": {"enum": ["accepted", "duplicate", "refused"]},
        "reason": {
            "enum": [
                None,
                "malformed_code",
                "unknown_code",
                "wrong_destination",
                "wrong_dapil",
                "not_held_by_you",
                "not_in_transit_to_you",
                "already_held",
                "voided",
                "forbidden",
                "seal_mismatch",
                "incomplete",
                "not_sealed",
                "box_sealed",
            ],
        },
        "message": {"type": "string"},
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"enum": ["seal_mismatch", "clock_skew", "late_sync", "not_on_handover"]},
                    "message": {"type": "string"},
                },
            },
        },
        "details": {"type": "object"},
        "event": {"$ref": "#/components/schemas/EventSummary"},
        "original_verdict": {"enum": ["accepted", "refused"]},
    },
    "additionalProperties": False,
}
BOX = {
    "type": "object",
    "required": ["sscc", "kind", "contest", "destination", "route", "status", "seals", "holder"],
    "properties": {
        "sscc": {"type": "string", "pattern": "^[0-9]{18}$"},
        "kind": {"type": "string"},
        "contest": {"type": ["string", "null"]},
        "dapil": {"type": ["string", "null"]},
        "destination": {"type": "string"},
        "route": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string"},
        "seals": {"type": "array", "items": {"type": "string"}},
        "holder": {"type": ["string", "null"]},
        "in_transit_to": {"type": ["string", "null"]},
    },
}
ARRIVAL_BOX = {
    "type": "object",
    "required": ["sscc", "kind", "contest", "set", "status", "from", "at"],
    "properties": {
        "sscc": {"type": "string", "pattern": "^[0-9]{18}$"},
        "kind": {"type": "string"},
        "contest": {"type": ["string", "null"]},
        "contest_name": {"type": ["string", "null"], "description": "The contest as on its ballot, in words"},
        "dapil": {"type": ["string", "null"], "description": "The dapil by name"},
        "item": {"type": ["string", "null"], "description": "A printer's carton: the item it holds, in words"},
        "set": {"type": "object", "required": ["index", "size"]},
        "status": {"type": "string"},
        "from": {"type": ["string", "null"], "description": "On the way: the sending site"},
        "at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "On the way: when it was sent; arrived: when it was received here",
        },
    },
}
ARRIVAL_PART = {
    "type": "object",
    "required": ["count", "destinations"],
    "properties": {
        "count": {"type": "integer", "minimum": 0},
        "destinations": {
            "type": "array",
            "description": "One entry per final destination (the TPS or PPS the boxes are for), by code",
            "items": {
                "type": "object",
                "required": ["code", "name", "kind", "count", "boxes"],
                "properties": {
                    "code": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "count": {"type": "integer", "minimum": 1},
                    "boxes": {"type": "array", "items": ARRIVAL_BOX},
                },
            },
        },
    },
}
ARRIVALS = {
    "type": "object",
    "required": ["site", "name", "zone", "day", "in_transit", "arrived_today"],
    "properties": {
        "site": {"type": "string"},
        "name": {"type": "string"},
        "zone": {"enum": ["WIB", "WITA", "WIT"], "description": "The site's time zone, from its province"},
        "day": {"type": "string", "format": "date", "description": "Today at the site (its local day)"},
        "in_transit": {**ARRIVAL_PART, "description": "Sent to this site and not yet received"},
        "arrived_today": {**ARRIVAL_PART, "description": "Received at this site today (local day)"},
    },
}
EVENT = event.api_schema()  # derived from the event declaration (custody/event.py)
CHECKPOINTS = {
    "type": "object",
    "required": ["algorithm", "public_key", "key_id", "vkey", "checkpoints"],
    "properties": {
        "algorithm": {"const": "Ed25519"},
        "public_key": {"type": "string", "description": "Base64 of the raw Ed25519 public key"},
        "key_id": {"type": "string", "description": "The first 16 hex digits of SHA-256(public key)"},
        "vkey": {"type": "string", "description": "The log's signed-note verifier key, as GET /ledger/key"},
        "checkpoints": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "upto_event_id",
                    "event_count",
                    "size",
                    "root",
                    "key_id",
                    "signature",
                    "created_at",
                    "note",
                ],
                "properties": {
                    "upto_event_id": {"type": "integer"},
                    "event_count": {"type": "integer"},
                    "size": {"type": "integer", "description": "The tree size (= event_count)"},
                    "root": {"type": "string", "description": "The root hash, hex"},
                    "key_id": {"type": "string"},
                    "signature": {"type": "string", "description": "Base64 Ed25519 over the JSON checkpoint message"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "note": {
                        "type": ["string", "null"],
                        "description": "The checkpoint as a C2SP signed note with the log's signature only; "
                        "null for a checkpoint made before notes",
                    },
                },
            },
        },
    },
}
BASE64_HASH = {"type": "string", "contentEncoding": "base64", "description": "32 bytes, base64"}
INCLUSION = {
    "type": "object",
    "required": ["event", "leaf_index", "tree_size", "leaf_hash", "proof"],
    "properties": {
        "event": {"type": "integer"},
        "leaf_index": {"type": "integer", "minimum": 0, "description": "The event's position in id order"},
        "tree_size": {"type": "integer", "minimum": 1},
        "leaf_hash": {**BASE64_HASH, "description": "SHA-256(0x00 || the event hash's 32 bytes), base64"},
        "proof": {"type": "array", "items": BASE64_HASH, "description": "RFC 9162 PATH, deepest first"},
    },
    "additionalProperties": False,
}
CONSISTENCY = {
    "type": "object",
    "required": ["from", "to", "proof"],
    "properties": {
        "from": {"type": "integer", "minimum": 0},
        "to": {"type": "integer", "minimum": 0},
        "proof": {"type": "array", "items": BASE64_HASH, "description": "RFC 9162 PROOF"},
    },
    "additionalProperties": False,
}
TREE_SIZE = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}


ALERT = {
    "type": "object",
    "required": ["id", "kind", "state", "box", "site", "actor", "code", "details", "created_at", "resolved_at"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "state": {"enum": ["open", "acknowledged", "resolved"]},
        "box": {"type": ["string", "null"]},
        "site": {"type": ["string", "null"]},
        "actor": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]},
        "details": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
        "resolved_at": {"type": ["string", "null"], "format": "date-time"},
        "resolution_note": {"type": ["string", "null"]},
    },
}
CORRECTION_REQUEST = {
    "type": "object",
    "required": [
        "id", "state", "box", "event", "client_id", "reason", "requested_by", "requested_at", "decided_by",
        "decided_at", "decision_note", "correction_event_id",
    ],
    "properties": {
        "id": {"type": "integer"},
        "state": {"enum": ["pending", "approved", "rejected"]},
        "box": {"type": "string", "pattern": "^[0-9]{18}$"},
        "event": {
            "type": "object",
            "description": "The scan to correct, as the ledger has it",
            "required": ["id", "seq", "kind", "hash"],
            "properties": {
                "id": {"type": "integer"},
                "seq": {"type": "integer"},
                "kind": {"type": "string"},
                "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
        },
        "client_id": {"type": "string", "description": "That scan's id, as the phone sent it"},
        "reason": {"type": "string"},
        "requested_by": {"type": "string"},
        "requested_at": {"type": "string", "format": "date-time"},
        "decided_by": {"type": ["string", "null"]},
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "decision_note": {"type": ["string", "null"]},
        "correction_event_id": {
            "type": ["integer", "null"],
            "description": "Approved: the ledger's correction event (kind `correct`, `corrects` names the scan's hash)",
        },
    },
    "additionalProperties": False,
}  # fmt: skip
# A refused scan answered 403: the box or the site is outside the caller's area.
FORBIDDEN_SCAN = {
    "allOf": [
        {"$ref": "#/components/schemas/ScanResult"},
        {"properties": {"verdict": {"const": "refused"}, "reason": {"const": "forbidden"}}},
    ]
}
# A refused packing answered 403: the box or the site is outside the caller's area.
FORBIDDEN_PACK = {
    "allOf": [
        {"$ref": "#/components/schemas/PackResult"},
        {"properties": {"verdict": {"const": "refused"}, "reason": {"const": "forbidden"}}},
    ]
}
# gunicorn refuses a request line (method, URL, protocol) longer than this before the app sees it.
CAPTURE_RESULT = {
    "type": "object",
    "description": "An RFC 7807 problem, as the binding's capture job lists errors, with Jejak's own members",
    "required": ["type", "title", "detail", "index", "eventID", "epc", "verdict", "reason", "message"],
    "properties": {
        "type": {"enum": ["epcisException:ValidationException", "epcisException:SecurityException"]},
        "title": {"type": "string"},
        "detail": {"type": "string", "description": "The message"},
        "index": {"type": "integer", "minimum": 0, "description": "The event's place in the document's eventList"},
        "eventID": {"type": ["string", "null"], "description": "Its eventID (or a digest of the event without one)"},
        "epc": {"type": ["string", "null"], "description": "The box, as the event named it (null: unreadable event)"},
        "verdict": {
            "enum": ["refused", "error"],
            "description": "refused by the rules, or unreadable (nothing written)",
        },
        "reason": {"type": "string"},
        "message": {"type": "string", "description": "In the caller's language (Indonesian by default)"},
        "original_verdict": {"type": "string"},
    },
}
CAPTURE_JOB = {
    "type": "object",
    "description": "The EPCIS 2.0 REST binding's capture job, with Jejak's progress and counts",
    "required": ["captureID", "url", "createdAt", "finishedAt", "running", "success", "captureErrorBehaviour",
                 "state", "events", "done", "counts", "errors", "error"],
    "properties": {
        "captureID": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "url": {"type": "string"},
        "createdAt": {"type": "string", "format": "date-time"},
        "finishedAt": {"type": ["string", "null"], "format": "date-time"},
        "running": {"type": "boolean"},
        "success": {"type": "boolean", "description": "Done, and every event recorded (or already)"},
        "captureErrorBehaviour": {"const": "proceed"},
        "state": {"enum": ["queued", "running", "done", "failed"]},
        "events": {"type": "integer", "minimum": 0},
        "done": {"type": "integer", "minimum": 0, "description": "Events taken so far"},
        "counts": {
            "type": "object",
            "description": "Boxes by verdict",
            "required": ["accepted", "duplicate", "refused", "error"],
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/CaptureResult"}},
        "error": {"type": ["string", "null"], "description": "Why a failed job stopped, and what to do"},
    },
}  # fmt: skip
ALLOW = {"Allow": {"required": True, "description": "The methods this path takes", "schema": {"type": "string"}}}
PROBLEM = {
    "description": "An error of the EPCIS REST binding: an RFC 7807 problem (its type one of the binding's "
    "epcisException names) that also keeps Jejak's `error` member",
    "allOf": [
        {"$ref": "#/components/schemas/Error"},
        {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {
                    "type": "string",
                    "pattern": "^(epcisException:[A-Za-z]+|about:blank)$",
                    "description": "The binding's exception; about:blank where it names none (405)",
                },
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string", "description": "error.message"},
            },
        },
    ],
}
EPCIS_DOCUMENT_IN = {
    "type": "object",
    "description": "An EPCIS 2.0 JSON-LD document. Each ObjectEvent (OBSERVE; bizStep shipping or departing, "
    "receiving, accepting or arriving, inspecting) is one scan per box of its epcList (GS1 Digital Link "
    "https://id.gs1.org/00/SSCC or urn:epc:id:sscc) at its readPoint (GLN Digital Link /414/, SGLN URN); a "
    "shipment names its destination (destinationList, type location); `jejak:seals` may carry the seal numbers seen.",
    "required": ["type", "epcisBody"],
    "properties": {
        "type": {"const": "EPCISDocument"},
        "epcisBody": {
            "type": "object",
            "required": ["eventList"],
            "properties": {"eventList": {"type": "array", "maxItems": 10000}},
        },
    },
}
REQUEST_LINE_LIMIT = 4094
NO_NUL = {"type": "string", "pattern": r"^[^\u0000]*$"}
# The error answers, each with the envelope; 405 also names the allowed methods in Allow.
ERRORS = {
    400: (
        "BadRequest",
        "Malformed: the body or a parameter breaks this document, a NUL in the URL included "
        "(`invalid_request`), or a browser session's write lacks its CSRF token (`csrf_failed`)",
    ),
    401: (
        "Unauthorized",
        "Not logged in: send a valid bearer token (or a session cookie); checked before anything else, CSRF included",
    ),
    403: ("Forbidden", "Outside your role, or outside your area"),
    404: ("NotFound", "No such thing in your area"),
    405: ("MethodNotAllowed", "This path does not take that method; Allow lists the ones it takes"),
    409: ("Conflict", "Conflicts with the current state (already closed, already acted on...)"),
    413: ("TooLarge", "The body is larger than the server takes (MAX_CONTENT_LENGTH)"),
    415: ("UnsupportedMediaType", "The body is not of this operation's media type"),
    429: ("TooManyRequests", "This operation's rate limit was reached; try again later"),
}


# Both exports share a few slots per server (EXPORT_CONCURRENCY).
EXPORT_SLOTS = "When other exports hold every slot of the server, 429 with Retry-After (seconds)."


def _json(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def _responses() -> dict:
    """The shared error answers, by name (components/responses)."""
    responses = {name: _json("Error", text) for name, text in ERRORS.values()}
    responses["TooLarge"]["description"] = f"The body is larger than {current_app.config['MAX_CONTENT_LENGTH']:,} bytes"
    responses["MethodNotAllowed"]["headers"] = ALLOW
    responses["UriTooLong"] = {
        "description": f"The request line is longer than {REQUEST_LINE_LIMIT:,} bytes: gunicorn refuses it "
        "with an HTML page before the application sees it",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    return responses


def _errors(*codes: int, method: str = "get", public: bool = False) -> dict:
    """The error answers an operation can give: `codes`; 400 and 401 unless public (a NUL in the URL, a
    missing login); 413 on every write; 405 and 414 everywhere."""
    codes = {*codes, 405}
    if not public:
        codes |= {400, 401}
    if method == "post":
        codes.add(413)
    answers = {str(code): {"$ref": f"#/components/responses/{ERRORS[code][0]}"} for code in sorted(codes)}
    return answers | {"414": {"$ref": "#/components/responses/UriTooLong"}}


def _problems(answers: dict) -> dict:
    """An EPCIS operation's error answers as the binding's RFC 7807 problems (application/problem+json);
    414 (refused by gunicorn before the application) stays as it is everywhere."""
    problems = {}
    for code, answer in answers.items():
        if code == "414" or not code.startswith(("4", "5")):
            problems[code] = answer
            continue
        name = answer["$ref"].rsplit("/", 1)[1]
        description = next(text for ref, text in ERRORS.values() if ref == name)
        problems[code] = {
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if code == "405":
            problems[code]["headers"] = ALLOW
    return problems


def _problem_answers(item: dict) -> dict:
    """A path item whose operations answer errors as the binding's problems."""
    for operation in item.values():
        operation["responses"] = _problems(operation["responses"])
    return item


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": NO_NUL}


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "schema": schema, **({"description": description} if description else {})}


def _get(summary: str, schema: str, *errors: int, params: tuple = (), public: bool = False) -> dict:
    op = {
        "summary": summary,
        "parameters": list(params),
        "responses": {"200": _json(schema, "OK"), **_errors(*errors, public=public)},
    }
    if public:
        op["security"] = []
    return {"get": op}


def _verdicts(schema: str, *, accepted: str, duplicate: str, refused: str) -> dict:
    """The answers of a write that gives a verdict: 201 accepted, 200 duplicate, 422 refused."""
    return {"201": _json(schema, accepted), "200": _json(schema, duplicate), "422": _json(schema, refused)}


def _body(name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _public(summary: str, description: str, ok: dict, *errors: int, params: tuple = ()) -> dict:
    """A public read of the ledger: no login, the shared ledger rate limit (429)."""
    op = {
        "summary": summary,
        "description": description + LEDGER_LIMIT,
        "security": [],
        "parameters": list(params),
        "responses": {"200": ok, **_errors(*errors, 429, public=True)},
    }
    return {"get": op}


def _plain(description: str) -> dict:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


LEDGER_LIMIT = (
    " No login. All the ledger's public endpoints share one rate limit per client address "
    "(LEDGER_RATE_LIMIT, by default 300 a minute)."
)
LEDGER_PATHS = {
    "/ledger/key": _public(
        "The log's verifier key (C2SP signed-note vkey)",
        "`<origin>+<key ID, 8 hex>+base64(0x01 || Ed25519 public key)` and a newline, text/plain.",
        _plain("The vkey"),
    ),
    "/ledger/checkpoint": _public(
        "The newest checkpoint as a C2SP signed note (tlog-checkpoint)",
        "The checkpoint text (origin, tree size, base64 root hash), a blank line, the log's signature line, "
        "then one tlog-cosignature/v1 line per stored cosignature of an active registered witness. 404 "
        "before the first signed checkpoint.",
        _plain("The signed note"),
        404,
    ),
    "/ledger/checkpoints": _public(
        "Every checkpoint, oldest first, with its signed note, and the public key",
        "Checkpoints made before signed notes have `note: null`.",
        _json("Checkpoints", "OK"),
    ),
    "/ledger/proof/inclusion": _public(
        "RFC 9162 inclusion proof of an event's leaf in a signed tree",
        "400 for a missing or malformed parameter; 404 when no signed checkpoint has that size, or the "
        "event is not covered by it.",
        _json("InclusionProof", "The proof"),
        400,
        404,
        params=(
            {**_query("event", TREE_SIZE, "The event id"), "required": True},
            _query("size", TREE_SIZE, "A signed checkpoint's tree size (default: the newest)"),
        ),
    ),
    "/ledger/proof/consistency": _public(
        "RFC 9162 consistency proof between two signed trees",
        "400 for a missing or malformed parameter or from > to; 404 when a size is not a signed "
        "checkpoint's (from may be 0: the proof is then empty).",
        _json("ConsistencyProof", "The proof"),
        400,
        404,
        params=(
            {**_query("from", TREE_SIZE, "The older tree size (0, or a signed checkpoint's)"), "required": True},
            _query("to", TREE_SIZE, "The newer signed tree size (default: the newest)"),
        ),
    ),
}


# POST /ledger/cosignatures (webapp/api/cosignatures.py): a witness's cosignature, its signature the authentication.
COSIGNED = {
    "type": "object",
    "required": ["witness", "size", "timestamp"],
    "properties": {
        "witness": {"type": "string", "description": "The witness's key name"},
        "size": {"type": "integer", "minimum": 0, "description": "The cosigned checkpoint's tree size"},
        "timestamp": {"type": "integer", "minimum": 0, "description": "The kept cosignature's time, POSIX seconds"},
    },
}
COSIGNATURES = {
    "post": {
        "summary": "A registered witness posts its cosignature (c2sp.org/tlog-cosignature) of a checkpoint; no login",
        "description": "The body is the checkpoint's note (its text byte for byte as the log signed it, a blank "
        "line, signature lines) carrying one cosignature line of a registered, active witness; other signature "
        "lines are ignored. The first cosignature of a witness for a checkpoint is kept and served with it. "
        "Each address may post 60 times a minute.",
        "security": [],
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string", "maxLength": 4096}}},
        },
        "responses": {
            "201": {"description": "Kept", "content": {"application/json": {"schema": COSIGNED}}},
            "200": {
                "description": "This witness's cosignature of that checkpoint was kept before: the kept one",
                "content": {"application/json": {"schema": COSIGNED}},
            },
            "422": {
                "description": "Not a checkpoint note (`invalid_note`), the cosignatures of several witnesses "
                "(`several_witnesses`), or dated more than 10 minutes ahead (`clock_skew`)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "403": {
                "description": "No cosignature of a registered, active witness (`unknown_witness`), or one that does "
                "not verify (`bad_signature`)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "404": {
                "description": "No checkpoint of this log has exactly this text (`unknown_checkpoint`)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            **_errors(415, 429, method="post", public=True),
        },
    }
}


def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    components = {
        "Error": ERROR,
        "ScanResult": SCAN_RESULT,
        "CaptureJob": CAPTURE_JOB,
        "CaptureResult": CAPTURE_RESULT,
        "Problem": PROBLEM,
        "EPCISDocumentIn": EPCIS_DOCUMENT_IN,
        "EventSummary": EVENT_SUMMARY,
        "Box": BOX,
        "Event": EVENT,
        "Checkpoints": CHECKPOINTS,
        "InclusionProof": INCLUSION,
        "ConsistencyProof": CONSISTENCY,
        "BoxEvents": {
            "type": "object",
            "required": ["box", "events"],
            "properties": {
                "box": {"type": "string"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            },
        },
        "BatchResult": {
            "type": "object",
            "required": ["results"],
            "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/ScanResult"}}},
        },
        "Expected": {
            "type": "object",
            "required": ["site", "boxes"],
            "properties": {
                "site": {"type": "string"},
                "boxes": {"type": "array", "items": {"$ref": "#/components/schemas/Box"}},
            },
        },
        "Arrivals": ARRIVALS,
        "Alert": ALERT,
        "Alerts": {
            "type": "object",
            "required": ["alerts"],
            "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}},
        },
        "AlertNote": {
            "type": "object",
            "properties": {"note": {**NO_NUL, "maxLength": 1000}},
            "additionalProperties": False,
            "description": "A resolution needs a note; an acknowledgement may have one",
        },
        "Me": {
            "type": "object",
            "required": ["username", "name", "role", "role_label", "scope", "site", "csrf_token"],
            "properties": {
                "username": {"type": "string"},
                "name": {"type": "string"},
                "role": {"type": "string"},
                "role_label": {"type": "string"},
                "scope": {"type": "string"},
                "site": {"type": ["string", "null"]},
                "csrf_token": {"type": ["string", "null"], "description": "null for a bearer token"},
            },
        },
        "Region": {"type": "object", "required": ["code", "name", "level", "children", "sites"]},
        "Site": {"type": "object", "required": ["code", "kind", "name"]},
        "OpenAPI": {"type": "object", "required": ["openapi", "info", "paths"]},
        "PackResult": PACK_RESULT,
        "Handover": HANDOVER,
        "HandoverParties": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {
                "from": {"type": ["object", "null"], "description": "The caller's site, or the courier themself"},
                "to": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "text", "kind"],
                        "properties": {
                            "value": {"type": "string"},
                            "text": {"type": "string"},
                            "kind": {"enum": ["site", "courier"]},
                        },
                    },
                },
            },
        },
        "Offline": {
            "type": "object",
            "description": "Each box is an array in the order of `fields` (sscc, destination, contest, dapil, "
            "status, in_transit_to, held_at, sealed); in_transit_to and held_at are this site's code or null. "
            "`destinations` (site code: name, desa, kecamatan, dapils by contest) and `dapils` (code: name) "
            "cover the boxes sent. A phone keeps `cursor` for `?since=`, applies `boxes` and removes `gone` "
            "from its copy, and fetches the whole list again if its copy's size is not `count`.",
            "required": ["site", "cursor", "full", "count", "fields", "boxes", "gone", "destinations", "dapils"],
            "properties": {
                "cursor": {"type": "string", "description": "Give it as `since` next time"},
                "since": {"type": ["string", "null"], "description": "The cursor this delta starts from"},
                "full": {"type": "boolean", "description": "The whole list (else only what changed)"},
                "full_because": {"type": "string", "enum": ["future", "too_old"]},
                "count": {"type": "integer", "description": "Boxes in the whole list now"},
                "fields": {"type": "array", "items": {"type": "string"}},
                "boxes": {"type": "array", "items": {"type": "array"}},
                "gone": {"type": "array", "items": {"type": "string"}, "description": "SSCCs no longer listed"},
                "destinations": {"type": "object"},
                "dapils": {"type": "object"},
            },
        },
        "Readiness": {"type": "object"},
        "CorrectionRequest": CORRECTION_REQUEST,
        "Corrections": {
            "type": "object",
            "required": ["to_decide", "mine"],
            "properties": {
                "to_decide": {
                    "type": "array",
                    "description": "A supervisor's: the pending requests of their area that another person asked, "
                    "oldest first (at most 200); empty for other roles",
                    "items": {"$ref": "#/components/schemas/CorrectionRequest"},
                },
                "mine": {
                    "type": "array",
                    "description": "The caller's own requests in their area, newest first (at most 200)",
                    "items": {"$ref": "#/components/schemas/CorrectionRequest"},
                },
            },
        },
        "Photo": {
            "type": "object",
            "required": ["sha256"],
            "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        },
    }
    for model in (ScanIn, BatchIn, PackIn, HandoverIn, SignatureIn, CorrectionIn, DecisionIn):
        schema = model.model_json_schema(ref_template=REF)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    region = _query("region", NO_NUL, "A region code (31.71, or 3171), or ID for the country")
    moment = {"type": "string", "format": "date-time"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jejak API",
            "version": "1",
            "description": "Chain of custody for election logistics. Every error is answered with the envelope "
            "`Error`; an anonymous call to any operation but the public two is answered 401.",
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/scans": {
                "post": {
                    "summary": "Record one scan",
                    "requestBody": _body("ScanIn"),
                    "responses": {
                        **_verdicts(
                            "ScanResult",
                            accepted="Accepted: the event is in the ledger",
                            duplicate="Duplicate: this scan id was answered before; the first answer",
                            refused="Refused, with the reason and where the box belongs",
                        ),
                        "403": {
                            "description": "The box or the site is outside your area (a refused verdict, reason "
                            "`forbidden`), or your role does not scan (the error envelope)",
                            "content": {
                                "application/json": {
                                    "schema": {"anyOf": [FORBIDDEN_SCAN, {"$ref": "#/components/schemas/Error"}]}
                                }
                            },
                        },
                        **_errors(415, method="post"),
                    },
                }
            },
            "/packing": {
                "post": {
                    "summary": "Put one packet into one box (packing station)",
                    "requestBody": _body("PackIn"),
                    "responses": {
                        **_verdicts(
                            "PackResult",
                            accepted="Packed: the packet is in the box, and the box has a pack event",
                            duplicate="The packet was already in this box",
                            refused="Refused: wrong dapil, wrong TPS, already packed, not from this carton...",
                        ),
                        "403": {
                            "description": "The box or the site is outside your area (a refused verdict, reason "
                            "`forbidden`), or your role does not pack (the error envelope)",
                            "content": {
                                "application/json": {
                                    "schema": {"anyOf": [FORBIDDEN_PACK, {"$ref": "#/components/schemas/Error"}]}
                                }
                            },
                        },
                        **_errors(415, method="post"),
                    },
                }
            },
            "/scans/batch": {
                "post": {
                    "summary": "Record up to 1,000 scans in device order",
                    "requestBody": _body("BatchIn"),
                    "responses": {
                        "200": _json("BatchResult", "One result per scan"),
                        **_errors(403, 415, method="post"),
                    },
                }
            },
            "/me": _get("Who is calling", "Me"),
            "/regions/{code}": _get("A region, its sub-regions and sites", "Region", 403, 404, params=(_path("code"),)),
            "/sites/{code}": _get("A site", "Site", 403, 404, params=(_path("code"),)),
            "/sites/{code}/expected": _get(
                "Boxes in transit to or held at a site", "Expected", 403, 404, params=(_path("code"),)
            ),
            "/sites/{code}/arrivals": _get(
                "Boxes on their way to a site and not yet arrived, and those arrived there today (the site's "
                "local day), grouped by final destination",
                "Arrivals",
                403,
                404,
                params=(_path("code"),),
            ),
            "/sites/{code}/offline": _get(
                "The phone's offline cache of a site's area (compact rows), whole or as a delta since a cursor",
                "Offline",
                400,
                403,
                404,
                params=(
                    _path("code"),
                    _query(
                        "since",
                        {"type": "string", "pattern": "^[0-9]{1,18}\\.[0-9]{1,11}$"},
                        "The `cursor` of an earlier answer: only the boxes changed since, and those gone. "
                        "Not a cursor: 400. From the future or older than a week: the whole list "
                        "(`full_because`).",
                    ),
                ),
            ),
            "/handovers": {
                "post": {
                    "summary": "Open a handover (digital BAST); idempotent by token",
                    "requestBody": _body("HandoverIn"),
                    "responses": {
                        "201": _json("Handover", "Opened"),
                        "200": _json("Handover", "Already open with this token"),
                        **_errors(403, 404, 409, 415, method="post"),
                    },
                }
            },
            "/handovers/parties": _get(
                "Who the caller hands over from, and the receivers they may choose (from role and scope)",
                "HandoverParties",
                403,
            ),
            "/handovers/{token}": _get(
                "A handover read from the ledger: received, missing, unexpected",
                "Handover",
                404,
                params=(_path("token"),),
            ),
            "/handovers/{token}/signatures": {
                "post": {
                    "summary": "Add a signature drawn on screen",
                    "parameters": [_path("token")],
                    "requestBody": _body("SignatureIn"),
                    "responses": {"201": _json("Handover", "Signed"), **_errors(403, 404, 409, 415, method="post")},
                }
            },
            "/handovers/{token}/close": {
                "post": {
                    "summary": "Close and number the BAST (both parties must have signed); PDF at /bast/NUMBER.pdf",
                    "parameters": [_path("token")],
                    "responses": {"200": _json("Handover", "Closed"), **_errors(403, 404, 409, method="post")},
                }
            },
            "/photos": {
                "post": {
                    "summary": "Upload an incident photo (body: the JPEG); name it in the scan's note as foto sha256:HEX",
                    "requestBody": {
                        "required": True,
                        "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    "responses": {
                        "201": _json("Photo", "Kept"),
                        "200": _json("Photo", "Already kept"),
                        **_errors(403, 415, method="post"),
                    },
                }
            },
            "/corrections": {
                **_get(
                    "The pending corrections the caller may decide (supervisors, in their area) and the caller's own "
                    "requests with their state",
                    "Corrections",
                    403,
                ),
                "post": {
                    "summary": "Ask to correct one's own accepted scan (by its id) with a reason; only the box's latest "
                    "scan, and one request at a time",
                    "description": "404: no such scan in your area; 403: the scan is another person's; 400: no reason, "
                    "or the scan was not accepted (nothing to correct); 409: not the box's latest scan, or a "
                    "request for it already waits.",
                    "requestBody": _body("CorrectionIn"),
                    "responses": {
                        "201": _json("CorrectionRequest", "Asked: pending until a supervisor decides"),
                        **_errors(403, 404, 409, 415, method="post"),
                    },
                },
            },
            "/corrections/{request_id}/decision": {
                "post": {
                    "summary": "Approve or reject a pending correction (a supervisor of the box's area, not the one "
                    "who asked); approving adds the correction to the ledger and puts the box back as it was",
                    "description": "404: no such pending request in your area; 403: your own request; 409: already "
                    "decided, or the scan is no longer the box's latest; 400: a rejection without a note.",
                    "parameters": [_path("request_id")],
                    "requestBody": _body("DecisionIn"),
                    "responses": {
                        "200": _json("CorrectionRequest", "Decided"),
                        **_errors(403, 404, 409, 415, method="post"),
                    },
                }
            },
            "/boxes/{sscc}": _get("A box: state, route, manifest, seals", "Box", 403, 404, params=(_path("sscc"),)),
            "/boxes/{sscc}/events": _get(
                "A box's chain of custody events", "BoxEvents", 403, 404, params=(_path("sscc"),)
            ),
            "/alerts": _get(
                "Alerts in scope, newest first",
                "Alerts",
                403,
                404,
                params=(
                    _query("kind", NO_NUL, "Only alerts of this kind (the first 32 characters count)"),
                    _query("state", {"enum": ["open", "acknowledged", "resolved", "unresolved"]}),
                    region,
                    _query(
                        "before",
                        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                        "An alert id: the page of alerts older than it",
                    ),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                ),
            ),
            **{
                f"/alerts/{{alert_id}}/{step}": {
                    "post": {
                        "summary": f"{step.capitalize()} an alert in scope (supervisors); body {{note}}, needed to resolve",
                        "parameters": [_path("alert_id")],
                        "requestBody": _body("AlertNote"),
                        "responses": {"200": _json("Alert", "The alert"), **_errors(403, 404, 409, 415, method="post")},
                    }
                }
                for step in ("acknowledge", "resolve")
            },
            "/readiness": _get(
                "The readiness dashboard's figures for a region and its parts, with milestones",
                "Readiness",
                403,
                404,
                params=(region,),
            ),
            "/epcis/capture": {
                "post": {
                    "summary": "Capture an EPCIS 2.0 document (EPCIS 2.0 REST binding): its events become the "
                    "caller's scans, by the rules a phone's scan meets",
                    "description": "202 with the capture job (Location: its address); a job of the queue records the "
                    "events a part at a time, once each by eventID (a document sent again records nothing new). "
                    "Refused events are kept as the phone's refusals are (receipt, alert); unreadable ones write "
                    "nothing; both are listed in the job's errors. 400: not an EPCIS document, more than 10,000 "
                    "events or 20,000 boxes, or a capture error behaviour other than proceed; 413: over 4 MB; 429: ten "
                    "of the caller's documents are still waiting or being captured (Retry-After).",
                    "parameters": [
                        {
                            "name": "GS1-Capture-Error-Behaviour",
                            "in": "header",
                            "schema": {"enum": ["proceed"]},
                            "description": "Jejak always proceeds past a refused or unreadable event (a refusal's "
                            "alert must stay), also when this header is absent, where the binding's default is "
                            "rollback; rollback is refused (400)",
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            media: {"schema": {"$ref": "#/components/schemas/EPCISDocumentIn"}}
                            for media in ("application/ld+json", "application/json")
                        },
                    },
                    "responses": {
                        "202": {
                            **_json("CaptureJob", "Taken: the capture job"),
                            "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                        },
                        **_problems(_errors(403, 415, 429, method="post")),
                    },
                }
            },
            "/epcis/capture/{capture_id}": _problem_answers(
                _get(
                    "One of the caller's capture jobs: its state, and each refused or unreadable event. A finished job is "
                    "kept CAPTURE_JOB_KEEP_DAYS days (30), then 404; its events stay in the ledger",
                    "CaptureJob",
                    403,
                    404,
                    params=(_path("capture_id"),),
                )
            ),
            "/epcis/events": {
                "get": {
                    "summary": "EPCIS 2.0 simple event query (REST binding) over the events of boxes in the caller's "
                    "area, oldest first, as an EPCISQueryDocument",
                    "description": "Lists are comma-separated. A value naming nothing Jejak knows matches nothing. "
                    "The next page's address is in the Link header (rel=next); a page may hold fewer than perPage "
                    "events when EQ_bizStep asks for commissioning or encoding. 400: an unknown parameter, or a time or number "
                    "that cannot be read; 429: more than EPCIS_QUERY_RATE_LIMIT queries (120 a minute) from one address.",
                    "parameters": [
                        _query("eventType", NO_NUL, "ObjectEvent, AggregationEvent"),
                        _query("GE_eventTime", moment, "Events at or after this time"),
                        _query("LT_eventTime", moment, "Events before this time"),
                        _query("GE_recordTime", moment, "Recorded at or after this time"),
                        _query("LT_recordTime", moment, "Recorded before this time"),
                        _query("EQ_bizStep", NO_NUL, "CBV 2.0 business steps, short or URI form"),
                        _query("EQ_readPoint", NO_NUL, "Places: GLN Digital Link (/414/) or SGLN URN"),
                        _query("MATCH_epc", NO_NUL, "Boxes: Digital Link /00/SSCC, SSCC URN or the 18 digits"),
                        _query("MATCH_anyEPC", NO_NUL, "Boxes or packets, in epcList, parentID or childEPCs"),
                        _query("perPage", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                        _query(
                            "nextPageToken",
                            {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                            "From the previous page's Link header",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "EPCISQueryDocument (queryName SimpleEventQuery)",
                            "content": {
                                media: {"schema": {"type": "object"}}
                                for media in ("application/json", "application/ld+json")  # by Accept
                            },
                            "headers": {"Link": {"schema": {"type": "string"}, "description": "rel=next"}},
                        },
                        **_problems(_errors(403, 429)),
                    },
                }
            },
            "/export/epcis": {
                "get": {
                    "summary": "The region's events (default: the whole country) as an EPCIS 2.0 JSON-LD document, "
                    "streamed",
                    "description": "CBV 2.0 business steps and dispositions; places as sites' GLNs "
                    "(readPoint and bizLocation https://id.gs1.org/414/GLN; handover sides as location and "
                    "possessing_party; a person is never named); eventTime in the site's zone with its "
                    "eventTimeZoneOffset; eventID is the EPCIS event hash ID (CBV 2.0 section 8.9), the "
                    "ledger's own hash is jejak:chainHash. " + EXPORT_SLOTS,
                    "parameters": [
                        region,
                        _query("from", moment, "From this time (default: 2020-01-01T00:00:00Z); before `to`"),
                        _query("to", moment, "Up to this time (default: now)"),
                    ],
                    "responses": {
                        "200": {
                            "description": "EPCISDocument; its last member, jejak:complete {events: N}, is written "
                            "after the last event (a document without it was cut off)",
                            "content": {"application/ld+json": {"schema": {"type": "object"}}},
                        },
                        **_errors(403, 404, 429),
                    },
                }
            },
            "/export/ledger": {
                "get": {
                    "summary": "Events and signed checkpoints as JSON Lines for `flask ledger verify --from-export`: "
                    "the region's boxes (default: the caller's area), each event with its inclusion proof in the "
                    "newest signed checkpoint; streamed",
                    "description": EXPORT_SLOTS + " Each caller may also download it 10 times an hour.",
                    "parameters": [
                        region,
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "description": "The size of a signed checkpoint the reader trusts: the file adds the "
                            "consistency proof from it to the newest (docs/ledger.md, section 1)",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "JSON Lines: header, events each followed by its inclusion line, heads, "
                            "the checkpoint, the consistency line (with since), and last the end line "
                            "{type: end, lines, sha256} (a file without it was cut off)",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 403, 404, 429),
                    },
                }
            },
            **LEDGER_PATHS,
            "/ledger/cosignatures": COSIGNATURES,
            "/openapi.json": _get("This document", "OpenAPI", public=True),
        },
        "components": {
            "schemas": components,
            "responses": _responses(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "flask users token USERNAME"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "Browser session; writes need the X-CSRFToken header",
                },
            },
        },
    }


BENCH_FLOOR = {
    "post": {
        "summary": "Benchmark floor (disabled unless configured: 404)",
        "responses": {
            "201": {
                "description": "Written (benchmarks only)",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_errors(403, 404, method="post"),
        },
    }
}


@bp.route("/openapi.json")
def openapi():
    """Public: the OpenAPI 3.1 document (with the benchmark floor only where it is registered)."""
    doc = document()
    if "bench.floor" in current_app.view_functions:
        doc["paths"]["/_bench/floor"] = BENCH_FLOOR
    return doc
