"""The OpenAPI document and the server agree: what the document allows the server takes, what it forbids the
server refuses with 400, and every error a caller can meet is documented, with its envelope (audit point 12)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import select

from tests.factories import UserFactory
from webapp.auth.services import issue_token
from webapp.boxes.models import Box
from webapp.geo.models import Site

DRAFT = "https://json-schema.org/draft/2020-12/schema"


@pytest.fixture
def doc(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def document_allows(doc: dict, schema: dict, instance) -> bool:
    """Whether a client validating against the document would send this (formats aside)."""
    probe = doc | {"$schema": DRAFT, "x-probe": schema}  # inside the document, so its own $refs resolve
    registry = Registry().with_resource("urn:jejak", Resource.from_contents(probe))
    return Draft202012Validator({"$ref": "urn:jejak#/x-probe"}, registry=registry).is_valid(instance)


def body_schema(doc: dict, path: str) -> dict:
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


def query_schema(doc: dict, path: str, name: str) -> dict:
    return next(p["schema"] for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)


def bearer(session, **user) -> dict:
    token = issue_token(session, UserFactory(**user))
    session.commit()
    return {"Authorization": f"Bearer {token}"}


# Writes that need no login: a witness's cosignature is authenticated by its signature (api/cosignatures.py).
PUBLIC_WRITES = {"/api/v1/ledger/cosignatures"}


def api_writes(app) -> list[str]:
    return sorted(
        rule.rule.replace("<alert_id>", "1").replace("<token>", str(uuid.uuid4()))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "POST" in rule.methods and rule.rule not in PUBLIC_WRITES
    )


def test_anonymous_writes_get_401_before_any_csrf_check(app, client, session):
    """Authentication comes first: an anonymous write is told to log in, not that its form expired."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for path in api_writes(app):
            response = client.post(path, json={})
            assert response.status_code == 401, (path, response.status_code, response.text)
            assert response.json["error"]["code"] == "unauthorized", path
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_405_says_which_methods_the_path_takes(client, session):
    headers = bearer(session, role="supervisor")
    response = client.get("/api/v1/scans", headers=headers)
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 405 and {"GET", "HEAD"} <= set(response.headers["Allow"].split(", "))
    assert client.put("/logout").headers.get("Allow")  # pages too


def test_every_error_a_caller_can_meet_is_documented_with_the_envelope(doc):
    responses = doc["components"]["responses"]
    public = {"/openapi.json"} | {path for path in doc["paths"] if path.startswith("/ledger/")}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            expected = {"405", "414"} | ({"400", "401"} if path not in public else set())
            if method == "post":
                expected |= {"413"}
            assert expected <= statuses, (method, path, expected - statuses)
            for status, answer in operation["responses"].items():
                if status >= "400" and status not in ("403", "414") and "$ref" in answer:
                    name = answer["$ref"].rsplit("/", 1)[1]
                    schema = responses[name]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert responses["MethodNotAllowed"]["headers"]["Allow"]["required"] is True
    assert "4,094 bytes" in responses["UriTooLong"]["description"]  # gunicorn's request line limit
    assert "415" in doc["paths"]["/photos"]["post"]["responses"]
    assert "429" in doc["paths"]["/export/ledger"]["get"]["responses"]
    for path in ("/scans", "/scans/batch", "/packing", "/handovers"):
        assert "415" in doc["paths"][path]["post"]["responses"], path


def test_a_scan_outside_the_callers_area_is_documented_as_a_403_verdict(doc):
    answers = doc["paths"]["/scans"]["post"]["responses"]
    assert answers["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScanResult"}
    schema = answers["403"]["content"]["application/json"]["schema"]
    refused = {
        "id": str(uuid.uuid4()),
        "verdict": "refused",
        "reason": "forbidden",
        "message": "Di luar wilayah Anda.",
        "warnings": [],
        "details": {},
        "event": None,
    }
    assert document_allows(doc, schema, refused)
    assert not document_allows(doc, schema, refused | {"reason": "wrong_destination"})
    assert document_allows(doc, schema, {"error": {"code": "forbidden", "message": "", "details": {}}})


@pytest.fixture
def scanner(seeded):
    """A warehouse account at KPU-3101, its token, and a planned box it may commission there."""
    user = UserFactory(role="warehouse", scope_site=seeded.scalar(select(Site).where(Site.code == "KPU-3101")))
    token = issue_token(seeded, user)
    seeded.commit()
    box = seeded.scalar(select(Box).order_by(Box.id))
    return {"Authorization": f"Bearer {token}"}, box.sscc


def scan(sscc: str, **change) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "code": sscc,
        "action": "inspect",
        "site": "KPU-3101",
        "scanned_at": datetime.now(UTC).isoformat(),
        "device_id": "hp-1",
        "device_seq": 1,
    }
    return {key: value for key, value in (body | change).items() if value is not None}


SCAN_BODIES = [
    # (what, change, allowed by the document and taken by the server)
    ("a plain scan", {}, True),
    ("an integer written 1915.0", {"device_seq": 1915.0}, True),
    ("accuracy written 12.0", {"accuracy": 12.0, "lat": -5.74, "lon": 106.61}, True),
    ("an integer with a fraction", {"device_seq": 1.5}, False),
    ("an integer as text", {"device_seq": "7"}, False),
    ("a NUL in the site", {"site": "KPU-3101\x00"}, False),
    ("a NUL in the device id", {"device_id": "hp\x001"}, False),
    ("a NUL in the note", {"note": "basah\x00"}, False),
    ("a seal without seals", {"action": "seal"}, False),
    ("a seal with no seal", {"action": "seal", "seals": []}, False),
    ("a dispatch without its receiver", {"action": "dispatch"}, False),
    ("a receiver on an inspection", {"to": "PPK-310101"}, False),
    ("lat without lon", {"lat": -5.74}, False),
    ("lon without lat", {"lon": 106.61}, False),
    ("a site of blanks", {"site": "   "}, True),  # taken as sent: the server refuses it as not yours (422)
]


def test_scan_bodies_are_refused_exactly_when_the_document_forbids_them(client, doc, scanner):
    headers, sscc = scanner
    for what, change, allowed in SCAN_BODIES:
        body = scan(sscc, **change)
        assert document_allows(doc, body_schema(doc, "/scans"), body) is allowed, what
        response = client.post("/api/v1/scans", json=body, headers=headers)
        if allowed:
            assert response.status_code in (200, 201, 403, 422), (what, response.status_code, response.text)
        else:
            assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request", what


def test_the_scan_time_window_is_stated_and_enforced(client, doc, scanner):
    headers, sscc = scanner
    rule = doc["components"]["schemas"]["ScanIn"]["properties"]["scanned_at"]
    assert rule["format"] == "date-time" and rule["x-earliest"] == "2020-01-01T00:00:00Z"
    assert "one day" in rule["x-latest"]
    for moment, taken in (
        ("2019-12-31T23:59:59Z", False),
        ("2020-01-01T00:00:00Z", True),
        ("2099-01-01T00:00:00Z", False),
    ):
        response = client.post("/api/v1/scans", json=scan(sscc, scanned_at=moment), headers=headers)
        if taken:  # judged (refused here: the box is not held at KPU-3101 yet), not refused as malformed
            assert response.status_code == 422 and response.json["verdict"] == "refused", (moment, response.text)
        else:
            assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request", moment


QUERIES = [
    # (path, parameter, value, allowed by the document and taken by the server)
    ("/alerts", "before", "1", True),
    ("/alerts", "before", "0", False),
    ("/alerts", "before", "-3", False),
    ("/alerts", "limit", "1000", True),
    ("/alerts", "limit", "0", False),
    ("/alerts", "limit", "1001", False),
    ("/alerts", "limit", "many", False),
    ("/alerts", "kind", "stalled\x00", False),
    ("/export/epcis", "to", "2026-01-01T00:00:00Z", True),
]


def as_sent(value: str):
    """A query value as a client that validates against the document would hold it."""
    return int(value) if value.lstrip("-").isdigit() else value


def test_query_parameters_are_refused_exactly_when_the_document_forbids_them(client, doc, session):
    headers = bearer(session, role="supervisor")
    for path, name, value, allowed in QUERIES:
        assert document_allows(doc, query_schema(doc, path, name), as_sent(value)) is allowed, (path, name, value)
        response = client.get(f"/api/v1{path}", query_string={name: value}, headers=headers)
        assert response.status_code == (200 if allowed else 400), (path, name, value, response.text)


def test_an_epcis_export_needs_no_region_but_its_times_must_be_times(client, doc, session):
    headers = bearer(session, role="supervisor")
    region = next(p for p in doc["paths"]["/export/epcis"]["get"]["parameters"] if p["name"] == "region")
    assert not region.get("required", False)
    response = client.get("/api/v1/export/epcis", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    assert query_schema(doc, "/export/epcis", "to")["format"] == "date-time"  # and "" is no date-time
    assert client.get("/api/v1/export/epcis?to=", headers=headers).status_code == 400


def test_a_nul_in_the_url_is_refused_as_documented(client, doc, session):
    headers = bearer(session, role="supervisor")
    for path in ("/boxes/{sscc}", "/sites/{code}", "/handovers/{token}"):
        parameter = doc["paths"][path]["get"]["parameters"][0]
        assert not document_allows(doc, parameter["schema"], "A\x00"), path
        response = client.get("/api/v1" + path.split("{")[0] + "A%00", headers=headers)
        assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request", path
