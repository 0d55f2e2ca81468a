"""Corrections through API v1 (what the scanner uses): the author asks by the scan's id with a reason, a
supervisor of the box's area decides; every answer matches the OpenAPI document, every refusal is in the
error envelope, in Indonesian, writes nothing and tells nothing of another area."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import func, select

from tests.conftest import login
from tests.custody.test_corrections import dispatched  # noqa: F401  (fixture)
from tests.factories import UserFactory
from webapp.boxes.models import BoxStatus
from webapp.custody.models import CorrectionRequest, CorrectionState, CustodyEvent

REASON = "Salah kurir: kotak masih di PPK"


@pytest.fixture
def schema(client):
    """Check an answer against a component of the live document."""
    doc = client.get("/api/v1/openapi.json").json
    registry = Registry().with_resource(
        "urn:jejak", Resource.from_contents(doc | {"$schema": "https://json-schema.org/draft/2020-12/schema"})
    )

    def check(name: str, instance) -> None:
        Draft202012Validator({"$ref": f"urn:jejak#/components/schemas/{name}"}, registry=registry).validate(instance)

    check.doc = doc
    return check


@pytest.fixture
def mistake(world, dispatched):  # noqa: F811  (the fixture imported above)
    """A box the PPK received and then, by mistake, handed to the courier: the box and that event (the
    PPK's latest scan of it)."""
    box, _before, wrong = dispatched
    return box, world.session.scalar(select(CustodyEvent).where(CustodyEvent.client_id == wrong.client_id))


def as_user(client, user):
    client.post("/logout")
    assert login(client, user.username).status_code == 200
    return client


def requests_count(session) -> int:
    return session.scalar(select(func.count()).select_from(CorrectionRequest))


def refused(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def test_asked_listed_approved_and_the_box_goes_back(client, world, mistake, schema):
    box, wrong = mistake
    as_user(client, world.ppk)
    asked = client.post("/api/v1/corrections", json={"client_id": wrong.client_id, "reason": REASON})
    assert asked.status_code == 201, asked.text
    schema("CorrectionRequest", asked.json)
    assert asked.json["state"] == "pending" and asked.json["client_id"] == wrong.client_id
    assert asked.json["event"] == {"id": wrong.id, "seq": wrong.box_seq, "kind": "dispatch", "hash": wrong.hash}
    request_id = asked.json["id"]

    mine = client.get("/api/v1/corrections")
    assert mine.status_code == 200
    schema("Corrections", mine.json)
    assert [r["id"] for r in mine.json["mine"]] == [request_id] and mine.json["to_decide"] == []
    world.session.refresh(box)
    assert box.status == BoxStatus.IN_TRANSIT  # nothing changes before a supervisor decides

    as_user(client, world.supervisor)
    listed = client.get("/api/v1/corrections").json
    schema("Corrections", listed)
    assert [r["id"] for r in listed["to_decide"]] == [request_id] and listed["mine"] == []
    decided = client.post(f"/api/v1/corrections/{request_id}/decision", json={"approve": True, "note": "Benar"})
    assert decided.status_code == 200, decided.text
    schema("CorrectionRequest", decided.json)
    assert decided.json["state"] == "approved" and decided.json["decided_by"] == world.supervisor.username
    assert client.get("/api/v1/corrections").json["to_decide"] == []

    world.session.expire_all()
    assert world.session.get(CorrectionRequest, request_id).state == CorrectionState.APPROVED
    assert box.status == BoxStatus.HELD and box.holder_site.code == "PPK-310101" and box.transit_user_id is None
    events = client.get(f"/api/v1/boxes/{box.sscc}/events").json["events"]
    assert [e["kind"] for e in events][-2:] == ["dispatch", "correct"]  # nothing deleted: both are there
    assert events[-1]["corrects"] == wrong.hash and events[-1]["id"] == decided.json["correction_event_id"]

    as_user(client, world.ppk)
    [own] = client.get("/api/v1/corrections").json["mine"]
    assert own["state"] == "approved" and own["decision_note"] == "Benar"


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("no reason", {"reason": None}),
        ("an empty reason", {"reason": ""}),
        ("a reason of spaces", {"reason": "   \u3000  "}),
        ("a reason too short", {"reason": " sa l a "}),
        ("a reason too long", {"reason": "x" * 1001}),
        ("a NUL in the reason", {"reason": "salah\x00 kurir"}),
        ("no scan id", {"client_id": None}),
        ("a scan id that is no UUID", {"client_id": "12345"}),
        ("a field the document does not know", {"approve": True}),
    ],
)
def test_a_bad_request_is_400_and_writes_nothing(client, world, mistake, schema, what, body):
    _box, wrong = mistake
    as_user(client, world.ppk)
    sent = {"client_id": wrong.client_id, "reason": REASON} | body
    sent = {key: value for key, value in sent.items() if value is not None}
    message = refused(client.post("/api/v1/corrections", json=sent), 400, "invalid_request")
    if what.startswith(("an empty", "a reason of", "a reason too short")):
        assert message == "Tulis alasan pemindaian ini harus dikoreksi (minimal 5 karakter).", what
    assert requests_count(world.session) == 0
    doc_body = schema.doc["components"]["schemas"]["CorrectionIn"]
    assert "pattern" in doc_body["properties"]["reason"] and doc_body["additionalProperties"] is False


def test_refusals_say_why_and_tell_nothing_of_another_area(client, world, mistake):
    box, wrong = mistake
    unknown = {"client_id": "00000000-0000-4000-8000-000000000000", "reason": REASON}
    as_user(client, world.other_kpps)  # another kecamatan: the box is not theirs to see
    outside = refused(client.post("/api/v1/corrections", json={**unknown, "client_id": wrong.client_id}), 404,
                      "not_found")  # fmt: skip
    assert outside == refused(client.post("/api/v1/corrections", json=unknown), 404, "not_found")
    assert box.sscc not in outside and "PPK" not in outside

    as_user(client, world.supervisor)  # in the area, but not the one who scanned
    not_mine = refused(client.post("/api/v1/corrections", json={**unknown, "client_id": wrong.client_id}), 403,
                       "forbidden")  # fmt: skip
    assert "Hanya orang yang memindai" in not_mine

    as_user(client, world.ppk)
    stray = world.scan(world.ppk, "receive", world.box(contest="DPR"), "PPK-310101")  # never sent to the PPK
    assert stray.verdict == "refused"
    not_accepted = refused(client.post("/api/v1/corrections", json={**unknown, "client_id": stray.client_id}), 400,
                           "invalid_request")  # fmt: skip
    assert "tidak diterima" in not_accepted
    earlier = world.session.scalar(
        select(CustodyEvent).where(CustodyEvent.box_id == box.id, CustodyEvent.kind == "receive")
    )
    not_latest = refused(client.post("/api/v1/corrections", json={**unknown, "client_id": earlier.client_id}), 409,
                         "conflict")  # fmt: skip
    assert "terbaru" in not_latest
    assert requests_count(world.session) == 0

    first = client.post("/api/v1/corrections", json={**unknown, "client_id": wrong.client_id})
    assert first.status_code == 201
    again = refused(client.post("/api/v1/corrections", json={**unknown, "client_id": wrong.client_id}), 409,
                    "conflict")  # fmt: skip
    assert "sudah menunggu" in again
    assert requests_count(world.session) == 1


def test_only_a_supervisor_of_the_area_who_did_not_ask_decides(client, world, mistake):
    box, wrong = mistake
    as_user(client, world.ppk)
    request_id = client.post("/api/v1/corrections", json={"client_id": wrong.client_id, "reason": REASON}).json["id"]
    url = f"/api/v1/corrections/{request_id}/decision"
    approve = {"approve": True}

    refused(client.post(url, json=approve), 403, "forbidden")  # an officer does not decide
    elsewhere = UserFactory(role="supervisor", scope_region_code="31.01.02")
    world.session.commit()
    as_user(client, elsewhere)
    assert client.get("/api/v1/corrections").json == {"to_decide": [], "mine": []}
    outside = refused(client.post(url, json=approve), 404, "not_found")
    for other in ("999999", "0", "abc", "2147483648", "9" * 40):
        assert refused(client.post(f"/api/v1/corrections/{other}/decision", json=approve), 404, "not_found") == outside

    as_user(client, world.supervisor)
    no_note = refused(client.post(url, json={"approve": False, "note": "  "}), 400, "invalid_request")
    assert no_note == "Tulis alasan permintaan ini ditolak."
    refused(client.post(url, json={"approve": "yes"}), 400, "invalid_request")
    world.session.expire_all()
    assert world.session.get(CorrectionRequest, request_id).state == CorrectionState.PENDING

    rejected = client.post(url, json={"approve": False, "note": "Kurir memang membawa kotak ini"})
    assert rejected.status_code == 200 and rejected.json["state"] == "rejected"
    assert rejected.json["correction_event_id"] is None
    world.session.refresh(box)
    assert box.status == BoxStatus.IN_TRANSIT and box.chain_length == 5
    assert "sudah diputuskan" in refused(client.post(url, json=approve), 409, "conflict")


def test_a_supervisors_own_request_is_decided_by_another(client, world, mistake):
    box, _wrong = mistake
    mistaken = world.scan(world.supervisor, "inspect", box, "PPK-310101", note="diperiksa")
    assert mistaken.verdict == "accepted"
    as_user(client, world.supervisor)
    own = client.post("/api/v1/corrections", json={"client_id": mistaken.client_id, "reason": REASON}).json
    listed = client.get("/api/v1/corrections").json
    assert listed["to_decide"] == [] and [r["id"] for r in listed["mine"]] == [own["id"]]
    message = refused(client.post(f"/api/v1/corrections/{own['id']}/decision", json={"approve": True}), 403,
                      "forbidden")  # fmt: skip
    assert "sendiri" in message
    colleague = UserFactory(role="supervisor", scope_region_code="31.01")
    world.session.commit()
    as_user(client, colleague)
    assert client.post(f"/api/v1/corrections/{own['id']}/decision", json={"approve": True}).status_code == 200


def test_an_observer_neither_asks_nor_lists(client, world, mistake):
    _box, wrong = mistake
    as_user(client, world.observer)
    refused(client.get("/api/v1/corrections"), 403, "forbidden")
    refused(client.post("/api/v1/corrections", json={"client_id": wrong.client_id, "reason": REASON}), 403,
            "forbidden")  # fmt: skip
    assert requests_count(world.session) == 0


def test_the_document_states_the_corrections_operations_and_their_errors(schema):
    paths = schema.doc["paths"]
    assert {"get", "post"} <= set(paths["/corrections"])
    assert {"201", "400", "401", "403", "404", "409", "413", "415"} <= set(paths["/corrections"]["post"]["responses"])
    decision = paths["/corrections/{request_id}/decision"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "413", "415"} <= set(decision["responses"])
    rules = schema.doc["components"]["schemas"]["DecisionIn"]["allOf"]
    assert rules[0]["then"]["required"] == ["note"]  # a rejection needs a note, as the server enforces
