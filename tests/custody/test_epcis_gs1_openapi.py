"""Jejak's EPCIS 2.0 REST binding answers as GS1's own OpenAPI document of that binding says
(`tests/data/epcis/EPCIS-REST-openapi.json`, GS1's file, with the one repair said in `repaired`): the
capture's 202 and its Location, the capture job and its errors, the event query and its Link paging, and the
error answers. For each answer: its status is one GS1 documents for the operation, its media type one GS1
documents for that status, the headers GS1 names for it are there, and schemathesis validates its body
against GS1's schema, formats checked."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import schemathesis

from tests.custody.test_epcis_capture import WAREHOUSE, document, event, kecamatan_boxes
from tests.custody.test_epcis_rest import send, token_for

SPEC = json.loads((Path(__file__).parent.parent / "data" / "epcis" / "EPCIS-REST-openapi.json").read_text())
# GS1 documents no 400 for GET /events, whose parameters can be wrong; the same query by event type does.
QUERY_WITH_400 = "/eventTypes/{eventType}/events"
VERSION_HEADERS = ("GS1-EPCIS-Version", "GS1-CBV-Version")


def repaired(spec: dict) -> dict:
    """GS1's CaptureJob is `oneOf` an `errors` list or an `errorFile`, but neither branch requires its
    property, so every job (GS1's own example too) matches both and fails: each branch requires its own."""
    spec = copy.deepcopy(spec)
    errors, error_file = spec["components"]["schemas"]["CaptureJob"]["allOf"][1]["oneOf"]
    errors["required"], error_file["required"] = ["errors"], ["errorFile"]
    return spec


GS1 = schemathesis.openapi.from_dict(repaired(SPEC))


def documented(path: str, method: str, status: int) -> dict:
    answer = SPEC["paths"][path][method.lower()]["responses"].get(str(status))
    assert answer is not None, f"GS1 documents no {status} for {method} {path}"
    if "$ref" in answer:
        answer = SPEC["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer


def conforms(path: str, method: str, response) -> None:
    answer = documented(path, method, response.status_code)
    if response.status_code != 202:  # GS1's 202 has no body
        assert response.mimetype in answer.get("content", {}), (response.mimetype, list(answer.get("content", {})))
    for name in answer.get("headers", {}):
        if name in (*VERSION_HEADERS, "Location"):
            assert response.headers.get(name), f"no {name} header"
    GS1[path][method].validate_response(response)


def test_gs1_s_own_capture_job_example_fails_its_schema_until_repaired():
    def valid(spec: dict) -> bool:
        schema = {**spec["components"]["schemas"]["CaptureJob"], "components": spec["components"]}
        example = spec["components"]["schemas"]["CaptureJob"]["example"]
        return jsonschema.Draft7Validator(schema).is_valid(example)

    assert not valid(SPEC)  # valid under both branches of its oneOf
    assert valid(repaired(SPEC))


def test_capture_job_and_query_answer_as_gs1_s_openapi_says(client, runner, world):
    boxes = kecamatan_boxes(world, "31.01.01", 3)
    headers = token_for(runner, world.gudang)
    events = [event("inspecting", b.sscc, WAREHOUSE) for b in boxes] + [{"type": "ObjectEvent"}]
    answer = send(client, headers, json.dumps(document(events)))
    assert answer.status_code == 202
    conforms("/capture", "POST", answer)
    job = client.get(answer.headers["Location"], headers=headers)
    conforms("/capture/{captureID}", "GET", job)
    assert job.json["success"] is False and job.json["running"] is False
    [error] = job.json["errors"]  # an RFC 7807 problem, with Jejak's own members
    assert (error["type"], error["index"], error["verdict"]) == ("epcisException:ValidationException", 3, "error")
    assert error["title"] and error["detail"] == error["message"]
    page = client.get("/api/v1/epcis/events?perPage=2", headers=headers)
    assert page.status_code == 200 and len(page.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2
    conforms("/events", "GET", page)
    jsonschema.validate(page.headers["Link"], SPEC["components"]["schemas"]["Link"])
    asked = client.get("/api/v1/epcis/events?perPage=2", headers={**headers, "Accept": "application/ld+json"})
    assert asked.mimetype == "application/ld+json" and asked.json == {
        **page.json,
        "creationDate": asked.json["creationDate"],
    }


@pytest.mark.parametrize(
    "path, method, call",
    [
        ("/capture", "POST", lambda c, h: send(c, h, "{not json")),
        ("/capture", "POST", lambda c, h: send(c, {}, "{}")),
        ("/capture", "POST", lambda c, h: send(c, h, "{}", extra={"Content-Type": "text/plain"})),
        ("/capture", "POST", lambda c, h: send(c, h, " " * (4 * 1024 * 1024 + 1))),
        ("/capture/{captureID}", "GET", lambda c, h: c.get("/api/v1/epcis/capture/" + "0" * 32, headers=h)),
        ("/capture/{captureID}", "GET", lambda c, h: c.get("/api/v1/epcis/capture/" + "0" * 32)),
        (QUERY_WITH_400, "GET", lambda c, h: c.get("/api/v1/epcis/events?GE_eventTime=yesterday", headers=h)),
        (QUERY_WITH_400, "GET", lambda c, h: c.get("/api/v1/epcis/events?colour=red", headers=h)),
    ],
    ids=["not-json", "no-token", "not-json-ld", "too-large", "no-such-job", "no-token-job", "bad-time", "unknown"],
)
def test_errors_are_the_binding_s_problems_in_the_caller_s_language(client, runner, world, path, method, call):
    response = call(client, token_for(runner, world.gudang))
    assert response.status_code >= 400 and response.mimetype == "application/problem+json"
    conforms(path, method, response)
    body = response.json
    assert body["status"] == response.status_code and body["type"].startswith("epcisException:")
    assert body["detail"] == body["error"]["message"] and body["detail"]  # Jejak's own member, kept
    assert all(response.headers.get(name) == "2.0.0" for name in VERSION_HEADERS)


def test_routing_errors_under_epcis_are_problems_too_and_the_rest_of_the_api_keeps_its_shape(client, runner, world):
    headers = token_for(runner, world.gudang)
    missing = client.get("/api/v1/epcis/capture/a%2Fb", headers=headers)  # no route matches: no endpoint
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.json["type"] == "epcisException:NoSuchNameException" and missing.json["error"]["code"]
    conforms("/capture/{captureID}", "GET", missing)
    method = client.delete("/api/v1/epcis/events", headers=headers)
    assert method.status_code == 405 and method.mimetype == "application/problem+json"
    assert (method.json["type"], method.json["title"]) == ("about:blank", "Method Not Allowed")
    assert "GET" in method.headers["Allow"] and method.headers["GS1-EPCIS-Version"] == "2.0.0"
    other = client.get("/api/v1/sites/NO-SUCH-SITE", headers=headers)  # not EPCIS: Jejak's own shape only
    assert other.status_code == 404 and other.mimetype == "application/json" and set(other.json) == {"error"}
    assert "GS1-EPCIS-Version" not in other.headers
