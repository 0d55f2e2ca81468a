"""The OpenAPI 3.1 document of API v1, built from the same pydantic schemas the endpoints validate with."""

from __future__ import annotations

from flask import current_app

from webapp.api.schemas import BatchIn, HandoverIn, PackIn, ScanIn, SignatureIn
from webapp.api.views import bp

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
                "properties": {"outcome": {"enum": ["received", "missing", "unexpected"]}},
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
                "voided",
                "forbidden",
                "seal_mismatch",
                "incomplete",
            ],
        },
        "message": {"type": "string"},
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"enum": ["seal_mismatch", "clock_skew", "late_sync"]},
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
EVENT = {
    "type": "object",
    "required": ["id", "box", "seq", "kind", "actor", "client_id", "scanned_at", "recorded_at", "prev_hash", "hash"],
    "properties": {
        "id": {"type": "integer"},
        "box": {"type": "string"},
        "seq": {"type": "integer"},
        "kind": {"type": "string"},
        "from": {"type": ["string", "null"]},
        "to": {"type": ["string", "null"]},
        "site": {"type": ["string", "null"]},
        "actor": {"type": "string"},
        "client_id": {"type": "string"},
        "scanned_at": {"type": "string"},
        "recorded_at": {"type": "string"},
        "seals": {"type": "array", "items": {"type": "string"}},
        "prev_hash": {"type": "string"},
        "hash": {"type": "string"},
    },
}
CHECKPOINTS = {
    "type": "object",
    "required": ["algorithm", "public_key", "key_id", "checkpoints"],
    "properties": {
        "algorithm": {"const": "Ed25519"},
        "public_key": {"type": "string"},
        "key_id": {"type": "string"},
        "checkpoints": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["upto_event_id", "event_count", "root", "key_id", "signature", "created_at"],
                "properties": {
                    "upto_event_id": {"type": "integer"},
                    "event_count": {"type": "integer"},
                    "root": {"type": "string"},
                    "key_id": {"type": "string"},
                    "signature": {"type": "string"},
                    "created_at": {"type": "string"},
                },
            },
        },
    },
}


def _json(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


def _errors(*codes: int) -> dict:
    words = {400: "Malformed request", 401: "Not logged in", 403: "Outside your role or scope", 404: "Not found"}
    return {str(code): _json("Error", words[code]) for code in codes}


def _get(summary: str, schema: str, *params: str, public: bool = False) -> dict:
    op = {
        "summary": summary,
        "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params],
        "responses": {"200": _json(schema, "OK"), **({} if public else _errors(401, 403, 404))},
    }
    if public:
        op["security"] = []
    return {"get": op}


def _verdicts(schema: str, *, accepted: str, duplicate: str, refused: str) -> dict:
    """The answers of a write that gives a verdict: 201 accepted, 200 duplicate, 422 refused, 4xx errors."""
    return {
        "201": _json(schema, accepted),
        "200": _json(schema, duplicate),
        "422": _json(schema, refused),
        **_errors(400, 401, 403),
    }


def _body(name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    components = {
        "Error": ERROR,
        "ScanResult": SCAN_RESULT,
        "EventSummary": EVENT_SUMMARY,
        "Box": BOX,
        "Event": EVENT,
        "Checkpoints": CHECKPOINTS,
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
        "Alerts": {
            "type": "object",
            "required": ["alerts"],
            "properties": {"alerts": {"type": "array", "items": {"type": "object"}}},
        },
        "Me": {
            "type": "object",
            "required": ["username", "role", "scope"],
            "properties": {"username": {"type": "string"}, "role": {"type": "string"}, "scope": {"type": "string"}},
        },
        "Region": {"type": "object", "required": ["code", "name", "level", "children", "sites"]},
        "Site": {"type": "object", "required": ["code", "kind", "name"]},
        "OpenAPI": {"type": "object"},
        "PackResult": PACK_RESULT,
        "Handover": HANDOVER,
        "Offline": {"type": "object", "required": ["site", "fields", "boxes", "destinations", "dapils"]},
    }
    for model in (ScanIn, BatchIn, PackIn, HandoverIn, SignatureIn):
        schema = model.model_json_schema(ref_template=REF)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    scan_responses = _verdicts(
        "ScanResult",
        accepted="Accepted: the event is in the ledger",
        duplicate="Duplicate: this scan id was answered before; the first answer",
        refused="Refused, with the reason and where the box belongs",
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jejak API", "version": "1", "description": "Chain of custody for election logistics."},
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/scans": {
                "post": {"summary": "Record one scan", "requestBody": _body("ScanIn"), "responses": scan_responses}
            },
            "/packing": {
                "post": {
                    "summary": "Put one packet into one box (packing station)",
                    "requestBody": _body("PackIn"),
                    "responses": _verdicts(
                        "PackResult",
                        accepted="Packed: the packet is in the box, and the box has a pack event",
                        duplicate="The packet was already in this box",
                        refused="Refused: wrong dapil, wrong TPS, already packed, not from this carton...",
                    ),
                }
            },
            "/scans/batch": {
                "post": {
                    "summary": "Record up to 1,000 scans in device order",
                    "requestBody": _body("BatchIn"),
                    "responses": {"200": _json("BatchResult", "One result per scan"), **_errors(400, 401, 403)},
                }
            },
            "/me": _get("Who is calling", "Me"),
            "/regions/{code}": _get("A region, its sub-regions and sites", "Region", "code"),
            "/sites/{code}": _get("A site", "Site", "code"),
            "/sites/{code}/expected": _get("Boxes in transit to or held at a site", "Expected", "code"),
            "/sites/{code}/offline": _get(
                "The phone's offline cache of a site's area (compact rows)", "Offline", "code"
            ),
            "/handovers": {
                "post": {
                    "summary": "Open a handover (digital BAST); idempotent by token",
                    "requestBody": _body("HandoverIn"),
                    "responses": {
                        "201": _json("Handover", "Opened"),
                        "200": _json("Handover", "Already open with this token"),
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/handovers/{token}": _get(
                "A handover read from the ledger: received, missing, unexpected", "Handover", "token"
            ),
            "/handovers/{token}/signatures": {
                "post": {
                    "summary": "Add a signature drawn on screen",
                    "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "requestBody": _body("SignatureIn"),
                    "responses": {"201": _json("Handover", "Signed"), **_errors(400, 401, 403, 404)},
                }
            },
            "/handovers/{token}/close": {
                "post": {
                    "summary": "Close and number the BAST (both parties must have signed); PDF at /bast/NUMBER.pdf",
                    "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": _json("Handover", "Closed"), **_errors(400, 401, 403, 404)},
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
                        "201": {"description": "Kept", "content": {"application/json": {"schema": {"type": "object"}}}},
                        "200": {
                            "description": "Already kept",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(400, 401, 403),
                    },
                }
            },
            "/boxes/{sscc}": _get("A box: state, route, manifest, seals", "Box", "sscc"),
            "/boxes/{sscc}/events": _get("A box's chain of custody events", "BoxEvents", "sscc"),
            "/alerts": {
                "get": {
                    "summary": "Alerts in scope",
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "state",
                            "in": "query",
                            "schema": {"enum": ["open", "acknowledged", "resolved", "unresolved"]},
                        },
                        {"name": "region", "in": "query", "schema": {"type": "string"}},
                        {"name": "before", "in": "query", "schema": {"type": "integer"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    ],
                    "responses": {"200": _json("Alerts", "OK"), **_errors(400, 401)},
                }
            },
            **{
                f"/alerts/{{alert_id}}/{step}": {
                    "post": {
                        "summary": f"{step.capitalize()} an alert in scope (supervisors); body {{note}}, needed to resolve",
                        "parameters": [
                            {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "string"}}
                        ],
                        "requestBody": {
                            "required": True,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"note": {"type": "string", "maxLength": 1000}},
                                    }
                                }
                            },
                        },
                        "responses": {"200": _json("Alerts", "The alert"), **_errors(400, 401, 403, 404)},
                    }
                }
                for step in ("acknowledge", "resolve")
            },
            "/readiness": {
                "get": {
                    "summary": "The readiness dashboard's figures for a region and its parts, with milestones",
                    "parameters": [{"name": "region", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "Readiness",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/export/epcis": {
                "get": {
                    "summary": "The region's events as an EPCIS 2.0 JSON-LD document, streamed",
                    "parameters": [
                        {"name": "region", "in": "query", "required": True, "schema": {"type": "string"}},
                        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "EPCISDocument",
                            "content": {"application/ld+json": {"schema": {"type": "object"}}},
                        },
                        **_errors(400, 401, 403, 404),
                    },
                }
            },
            "/export/ledger": {
                "get": {
                    "summary": "Events and signed checkpoints as JSON Lines for `flask ledger verify --from-export`: "
                    "the region's boxes in full, other events by hash only; streamed",
                    "parameters": [{"name": "region", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "JSON Lines: header, events (or hashes), checkpoints",
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                        },
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/ledger/checkpoints": _get("Signed Merkle checkpoints and the public key", "Checkpoints", public=True),
            "/openapi.json": _get("This document", "OpenAPI", public=True),
            "/_bench/floor": {
                "post": {
                    "summary": "Benchmark floor (disabled unless configured; 404)",
                    "responses": {"404": _json("Error", "Disabled")},
                }
            },
        },
        "components": {
            "schemas": components,
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


@bp.route("/openapi.json")
def openapi():
    """Public: the OpenAPI 3.1 document."""
    return document()
