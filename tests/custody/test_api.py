"""API v1 for scans: statuses, one error envelope, bad input changes nothing, CSRF, and the OpenAPI document."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.custody.conftest import OTHER_TPS, TPS
from webapp.custody.models import Alert, CustodyEvent, ScanReceipt


def payload(code: str, action: str, site: str, **extra) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "code": code,
        "action": action,
        "site": site,
        "scanned_at": datetime.now(timezone(timedelta(hours=7))).isoformat(),
        "device_id": "hp-1",
        "device_seq": 1,
    }
    body.update(extra)
    return body


def ledger_size(session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (CustodyEvent, ScanReceipt, Alert))


def test_single_scans_answer_201_200_422(client, world, openapi):
    box = world.box()
    login(client, world.gudang.username)
    body = payload(box.sscc, "commission", "KPU-3101", lat=-5.74, lon=106.61, accuracy=12)
    first = client.post("/api/v1/scans", json=body)
    assert first.status_code == 201 and first.json["verdict"] == "accepted" and first.json["message"] == "Diterima."
    openapi("ScanResult", first.json)
    again = client.post("/api/v1/scans", json=body)
    assert (
        again.status_code == 200 and again.json["verdict"] == "duplicate" and again.json["event"] == first.json["event"]
    )
    openapi("ScanResult", again.json)
    assert client.post("/api/v1/scans", json=payload(box.sscc, "seal", "KPU-3101", seals=["S-1"])).status_code == 201
    refused = client.post("/api/v1/scans", json=payload(box.sscc, "dispatch", "KPU-3101", to="PPK-310102"))
    assert refused.status_code == 422 and refused.json["reason"] == "wrong_destination"
    assert (
        "Kotak ini untuk TPS 001 Pulau Panggang" in refused.json["message"]
        and "JANGAN DITERIMA" in refused.json["message"]
    )
    openapi("ScanResult", refused.json)


def test_batch_answers_each_scan_in_order(client, world, openapi):
    box = world.box()
    login(client, world.gudang.username)
    scans = [
        payload(box.sscc, "seal", "KPU-3101", seals=["S-1"], device_seq=2),
        payload(box.sscc, "commission", "KPU-3101", device_seq=1),
        payload("hello", "inspect", "KPU-3101", device_seq=3),
    ]
    response = client.post("/api/v1/scans/batch", json={"scans": scans})
    assert response.status_code == 200
    openapi("BatchResult", response.json)
    assert [r["id"] for r in response.json["results"]] == [s["id"] for s in scans]
    assert [r["verdict"] for r in response.json["results"]] == ["accepted", "accepted", "refused"]
    events = client.get(f"/api/v1/boxes/{box.sscc}/events").json
    openapi("BoxEvents", events)
    assert [e["kind"] for e in events["events"]] == ["commission", "seal"]
    assert events["events"][1]["prev_hash"] == events["events"][0]["hash"]


def test_box_expected_alerts_and_checkpoints_match_the_document(client, world, openapi):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    world.scan(world.other_kpps, "receive", box, OTHER_TPS)
    login(client, world.ppk.username)
    detail = client.get(f"/api/v1/boxes/{box.sscc}").json
    openapi("Box", detail)
    assert (
        detail["route"] == ["KPU-31", "KPU-3101", "PPK-310101", "PPS-3101011001", TPS]
        and detail["in_transit_to"] == "PPK-310101"
    )
    expected = client.get("/api/v1/sites/PPK-310101/expected").json
    openapi("Expected", expected)
    assert [b["sscc"] for b in expected["boxes"]] == [box.sscc] and expected["boxes"][0]["expected"] is True
    client.post("/logout")
    login(client, world.supervisor.username)
    alerts = client.get("/api/v1/alerts?kind=wrong_destination&state=open").json
    openapi("Alerts", alerts)
    assert [a["site"] for a in alerts["alerts"]] == [OTHER_TPS]
    assert client.get("/api/v1/alerts?state=bogus").status_code == 400
    openapi("Checkpoints", client.get("/api/v1/ledger/checkpoints").json)


def test_the_document_lists_exactly_the_real_endpoints(app, client, world):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    real = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
            real |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == real
    scan_fields = set(doc["components"]["schemas"]["ScanIn"]["properties"])
    assert scan_fields == {
        "id",
        "code",
        "action",
        "site",
        "to",
        "seals",
        "condition",
        "note",
        "witness",
        "scanned_at",
        "device_id",
        "device_seq",
        "lat",
        "lon",
        "accuracy",
        "handover",
    }


BAD_BODIES = [
    ("not json", "{nope"),
    ("wrong type", {"device_seq": "7"}),
    ("unknown field", {"colour": "red"}),
    ("missing id", {"id": None}),
    ("bad uuid", {"id": "123"}),
    ("naive time", {"scanned_at": "2026-11-20T08:00:00"}),
    ("absurd past", {"scanned_at": "1999-01-01T00:00:00Z"}),
    ("absurd future", {"scanned_at": "2099-01-01T00:00:00Z"}),
    ("unknown action", {"action": "teleport"}),
    ("seal without seals", {"action": "seal"}),
    ("dispatch without to", {"action": "dispatch"}),
    ("to on receive", {"action": "receive", "to": "PPK-310101"}),
    ("lat without lon", {"lat": 1.0}),
    ("huge code", {"code": "9" * 600}),
    ("bad seal", {"action": "seal", "seals": ["<script>"]}),
    ("negative seq", {"device_seq": -1}),
]


@pytest.mark.parametrize(("label", "change"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_input_gets_400_and_changes_nothing(client, world, label, change):
    login(client, world.gudang.username)
    before = ledger_size(world.session)
    if isinstance(change, str):
        response = client.post("/api/v1/scans", data=change, content_type="application/json")
    else:
        body = {
            k: v for k, v in {**payload(world.box().sscc, "commission", "KPU-3101"), **change}.items() if v is not None
        }
        response = client.post("/api/v1/scans", json=body)
    assert response.status_code == 400, response.text
    assert set(response.json["error"]) == {"code", "message", "details"}
    assert ledger_size(world.session) == before


def test_oversize_batches_and_bodies_are_refused(client, world):
    login(client, world.gudang.username)
    scans = [payload(world.box().sscc, "inspect", "KPU-3101", device_seq=i) for i in range(1001)]
    response = client.post("/api/v1/scans/batch", json={"scans": scans})
    assert response.status_code in (400, 413) and "error" in response.json
    assert client.post("/api/v1/scans/batch", json={"scans": []}).status_code == 400
    assert ledger_size(world.session) == (0, 0, 0)


def test_foreign_and_garbled_codes_and_other_scopes_are_refused_not_errors(client, world):
    login(client, world.gudang.username)
    for code in ("https://example.com/01/09506000134352", "]C1\x1d00\x00\x01", "’’’", "(00)"):
        response = client.post("/api/v1/scans", json=payload(code, "commission", "KPU-3101"))
        assert response.status_code == 422 and response.json["reason"] == "malformed_code"
    response = client.post("/api/v1/scans", json=payload(world.box().sscc, "commission", "KPU-3175"))
    assert response.status_code == 403 and response.json["reason"] == "forbidden"
    assert world.session.scalar(select(func.count()).select_from(CustodyEvent)) == 0


def test_observers_cannot_post_scans(client, world):
    login(client, world.observer.username)
    response = client.post("/api/v1/scans", json=payload(world.box().sscc, "inspect", "KPU-3101"))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_cookie_sessions_need_csrf_and_bearer_tokens_do_not(app, client, runner, world):
    token = runner.invoke(args=["users", "token", world.gudang.username]).output.strip()
    login(client, world.gudang.username)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/api/v1/scans", json=payload(world.box().sscc, "commission", "KPU-3101"))
        assert response.status_code == 400 and response.json["error"]["code"] == "csrf_failed"
        other = app.test_client()
        response = other.post(
            "/api/v1/scans",
            json=payload(world.box().sscc, "commission", "KPU-3101"),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_no_request_gets_a_5xx(client, world):
    login(client, world.gudang.username)
    junk = [b"", b"null", b"[]", b"{}", b'{"scans": null}', json.dumps({"scans": [{}]}).encode(), b"\xff\xfe"]
    for body in junk:
        for path in ("/api/v1/scans", "/api/v1/scans/batch"):
            response = client.post(path, data=body, content_type="application/json")
            assert 400 <= response.status_code < 500, (path, body, response.status_code)


def test_a_position_a_hair_south_of_the_equator_still_verifies(client, world, runner):
    """-0.0000001 rounds to six decimals as zero: the hash must cover 0.000000, which is what is stored."""
    login(client, world.gudang.username)
    body = payload(world.box().sscc, "commission", "KPU-3101", lat=-0.0000001, lon=-0.0000004, accuracy=5)
    response = client.post("/api/v1/scans", json=body)
    assert response.status_code == 201
    events = client.get(f"/api/v1/boxes/{world.box().sscc}/events").json["events"]
    assert (events[-1]["lat"], events[-1]["lon"]) == ("0.000000", "0.000000")
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
