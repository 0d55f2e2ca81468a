"""Every endpoint of API v1 that takes a JSON body reads it one way (webapp/api/body.py): a body that is
too deep, too large, not UTF-8, not an object, holds NaN, or is not declared JSON gets a 4xx answer in the
error envelope, never a 500, and changes nothing."""

from __future__ import annotations

import base64
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from PIL import Image
from pydantic import BaseModel
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import login
from tests.custody.conftest import OTHER_TPS, TPS
from tests.memory import peak_growth_mb
from webapp.api.corrections import CorrectionIn, DecisionIn
from webapp.api.epcis import CAPTURE_MAX_BYTES
from webapp.api.schemas import BatchIn, BenchFloorIn, CloseIn, HandoverIn, NoteIn, PackIn, ScanIn, SignatureIn
from webapp.boxes.models import Packet
from webapp.boxes.packing import plan_packets
from webapp.custody.corrections import request_correction
from webapp.custody.models import Alert, Handover
from webapp.extensions import db
from webapp.geo.models import Site

PPK = "PPK-310101"


def signature() -> str:
    """A black stroke on white, as the phone sends a signature: a PNG data URL."""
    image = Image.new("RGB", (120, 40), "white")
    image.paste(Image.new("RGB", (80, 4), "black"), (20, 18))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@dataclass
class Endpoint:
    """One JSON endpoint, called as someone allowed to, with a body it would act on."""

    rule: str
    path: str
    client: object
    model: type[BaseModel]
    valid: dict

    def post(self, data: bytes, content_type: str | None = "application/json"):
        headers = {"Content-Type": content_type} if content_type else {}
        return self.client.post(self.path, data=data, headers=headers)


def scan(code: str, seq: int) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "code": code,
        "action": "inspect",
        "site": "KPU-3101",
        "scanned_at": datetime.now(timezone(timedelta(hours=7))).isoformat(),
        "device_id": "hp-1",
        "device_seq": seq,
    }


class CaptureBody:
    """The EPCIS capture's body: a JSON-LD document, read without a pydantic model, within the app's limit."""

    max_body = CAPTURE_MAX_BYTES


def capture_document(sscc: str, note: str) -> dict:
    """A document of one event: the box inspected at the warehouse (with a note of awkward characters)."""
    event = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": datetime.now(timezone(timedelta(hours=7))).isoformat(),
        "eventTimeZoneOffset": "+07:00",
        "epcList": [f"https://id.gs1.org/00/{sscc}"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "readPoint": {"id": "https://wms.example/sites/KPU-3101"},
        "example:note": note,
    }
    return {"type": "EPCISDocument", "schemaVersion": "2.0", "epcisBody": {"eventList": [event]}}


@pytest.fixture
def endpoints(app, world, monkeypatch) -> list[Endpoint]:
    """Every POST route under /api/v1 but the photo upload (its body is a JPEG), each with a body it would
    act on: a box to inspect, a packet to pack, a handover ready to close, open alerts in the area."""
    session = world.session
    monkeypatch.setitem(app.config, "BENCH_FLOOR_ENDPOINT", True)
    gudang, supervisor = app.test_client(), app.test_client()
    login(gudang, world.gudang.username)
    login(supervisor, world.supervisor.username)

    inspected = world.box(contest="DPD")
    world.scan(world.gudang, "commission", inspected, "KPU-3101")
    packed = world.box(contest="DPR")
    world.scan(world.gudang, "commission", packed, "KPU-3101")
    tps = session.scalar(select(Site).where(Site.code == TPS))
    plan_packets(session, tps.region_code, extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    session.commit()
    packet = session.scalar(select(Packet).where(Packet.tps_id == tps.id, Packet.contest == "DPR"))
    token = str(uuid.uuid4())
    assert gudang.post("/api/v1/handovers", json={"token": token, "site": "KPU-3101", "to": PPK}).status_code == 201
    handed = world.box()
    world.scan(world.gudang, "commission", handed, "KPU-3101")
    # sealed before it leaves (its packets are planned above, not counted: the shortage is noted)
    world.scan(world.gudang, "seal", handed, "KPU-3101", seals=["S-1"], note="test: packets not counted")
    world.scan(world.gudang, "dispatch", handed, "KPU-3101", to=PPK, handover=token)
    for role in ("sender", "receiver"):
        body = {"role": role, "name": "Budi Santoso", "image": signature()}
        assert gudang.post(f"/api/v1/handovers/{token}/signatures", json=body).status_code == 201
    # Corrections: the warehouse's latest scan of one box to ask about, and another's request to decide.
    asked = world.scan(world.gudang, "commission", world.box(contest="PRESIDEN"), "KPU-3101")
    mistaken = world.scan(world.gudang, "commission", world.box(tps=OTHER_TPS), "KPU-3101")
    pending = request_correction(session, actor=world.gudang, client_id=mistaken.client_id, reason="salah kotak")
    alerts = [
        Alert(kind="damaged", state="open", site_id=tps.id, details={}, created_at=datetime.now(UTC)) for _ in range(2)
    ]
    session.add_all(alerts)
    session.commit()

    # A note with brackets, quotes and backslashes inside its string: none of them is structure.
    note = 'Segel "[[[[{{" diganti \\"]]\\\\ oleh tim'
    recipes = {
        "/api/v1/scans": (gudang, {}, ScanIn, scan(inspected.sscc, 1)),
        "/api/v1/scans/batch": (gudang, {}, BatchIn, {"scans": [scan(inspected.sscc, 2), scan(inspected.sscc, 3)]}),
        "/api/v1/_bench/floor": (gudang, {}, BenchFloorIn, {"box_id": inspected.id, "seq": 10_000}),
        "/api/v1/packing": (
            gudang,
            {},
            PackIn,
            {"box": packed.sscc, "packet": packet.sscc, "site": "KPU-3101", "device_id": "meja-1", "device_seq": 1},
        ),
        "/api/v1/handovers": (gudang, {}, HandoverIn, {"token": str(uuid.uuid4()), "site": "KPU-3101", "to": PPK}),
        "/api/v1/handovers/<token>/signatures": (
            gudang,
            {"token": token},
            SignatureIn,
            {"role": "witness", "name": "Agus", "organisation": "Panwas", "image": signature()},
        ),
        "/api/v1/handovers/<token>/close": (gudang, {"token": token}, CloseIn, {}),
        "/api/v1/alerts/<alert_id>/acknowledge": (supervisor, {"alert_id": alerts[0].id}, NoteIn, {"note": note}),
        "/api/v1/alerts/<alert_id>/resolve": (supervisor, {"alert_id": alerts[1].id}, NoteIn, {"note": note}),
        "/api/v1/corrections": (gudang, {}, CorrectionIn, {"client_id": asked.client_id, "reason": note}),
        "/api/v1/epcis/capture": (gudang, {}, CaptureBody, capture_document(inspected.sscc, note)),
        "/api/v1/corrections/<request_id>/decision": (
            supervisor,
            {"request_id": pending.id},
            DecisionIn,
            {"approve": True, "note": note},
        ),
    }
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and "POST" in rule.methods
        # not JSON: a photo's bytes, and a witness's cosigned note as text (tests/custody/test_cosignatures.py)
        and rule.endpoint not in ("api.upload_photo", "api.post_cosignature")
    ]
    assert sorted(rule.rule for rule in rules) == sorted(recipes), "a new JSON endpoint: add it here"
    found = []
    for rule in sorted(rules, key=lambda r: list(recipes).index(r.rule)):  # signatures before closing
        client, args, model, valid = recipes[rule.rule]
        path = rule.rule
        for name, value in args.items():
            path = path.replace(f"<{name}>", str(value))
        found.append(Endpoint(rule.rule, path, client, model, valid))
    return found


def ledger_state(session) -> tuple:
    """The row count of every table, and the state of every handover and alert."""
    counts = tuple(session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables)
    handovers = tuple(session.scalars(select(Handover.status).order_by(Handover.id)))
    alerts = tuple(session.scalars(select(Alert.state).order_by(Alert.id)))
    return counts, handovers, alerts


def assert_refused(endpoint: Endpoint, response, statuses: tuple[int, ...], *problems: str) -> None:
    """A 4xx answer in the error envelope; a 400 names the problem with the body (one of `problems`)."""
    where = (endpoint.rule, response.status_code, response.get_data()[:300])
    assert response.status_code in statuses, where
    assert set(response.json["error"]) == {"code", "message", "details"}, where
    if response.status_code == 400 and problems:
        assert response.json["error"]["code"] == "invalid_request", where
        found = response.json["error"]["details"]["problems"][0]
        assert found["field"] == "(body)" and any(p in found["problem"] for p in problems), where


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_is_refused_before_it_is_parsed(endpoints, world, depth):
    # A hundred thousand levels are also too many arrays or strings: whichever limit is met first says so.
    deep = ("nested more than 32 levels deep",) if depth == 1_000 else ("more than",)
    bodies = [
        (b'{"x": ' + b"[" * depth + b"1" + b"]" * depth + b"}", deep),
        (b'{"x": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}", deep),
        (b'{"a": ' * depth, deep),  # never closed
        (b"[" * depth, ("must be a JSON object",)),
    ]
    before = ledger_state(world.session)
    for endpoint in endpoints:
        for body, problems in bodies:
            # Over an endpoint's own size limit the answer is 413, before the nesting is even looked at.
            statuses = (413,) if len(body) > endpoint.model.max_body else (400,)
            assert_refused(endpoint, endpoint.post(body), statuses, *problems)
    assert ledger_state(world.session) == before


def test_a_body_over_the_endpoints_own_limit_is_refused_with_413(endpoints, world):
    before = ledger_state(world.session)
    for endpoint in endpoints:
        valid = json.dumps(endpoint.valid).encode()
        for size in (endpoint.model.max_body + 1, 4 * 1024 * 1024 + 1):  # one byte over; over the app's 4 MB
            body = valid[:-1] + b" " * (size - len(valid)) + b"}"  # the same body, padded with spaces
            response = endpoint.post(body)
            assert_refused(endpoint, response, (413,))
            assert response.json["error"]["code"] == "too_large"
    assert ledger_state(world.session) == before


def test_text_that_is_not_utf8_is_refused(endpoints, world):
    before = ledger_state(world.session)
    for endpoint in endpoints:
        body = json.dumps({**endpoint.valid, "x": "Jalan Raya"}).encode().replace(b"Raya", b"R\xe4ya")  # Latin-1
        assert_refused(endpoint, endpoint.post(body), (400,), "not UTF-8")
    assert ledger_state(world.session) == before


def test_an_array_or_a_bare_value_instead_of_an_object_is_refused(endpoints, world):
    before = ledger_state(world.session)
    for endpoint in endpoints:
        for body in (json.dumps([endpoint.valid]), "null", '"text"', "12"):
            assert_refused(endpoint, endpoint.post(body.encode()), (400,), "must be a JSON object")
    assert ledger_state(world.session) == before


def test_nan_and_infinity_are_refused(endpoints, world):
    before = ledger_state(world.session)
    for endpoint in endpoints:
        for value in ("NaN", "Infinity", "-Infinity"):
            body = json.dumps({**endpoint.valid, "x": 1.5}).replace("1.5", value).encode()
            assert_refused(endpoint, endpoint.post(body), (400,), "NaN and Infinity")
    assert ledger_state(world.session) == before


def test_a_body_not_declared_json_is_refused_with_415_and_the_same_body_as_json_is_taken(endpoints, world):
    for endpoint in endpoints:
        valid = json.dumps(endpoint.valid).encode()
        before = ledger_state(world.session)
        for content_type in (
            "text/plain",
            "application/x-www-form-urlencoded",
            None,
            "application/json; charset=latin-1",
        ):
            response = endpoint.post(valid, content_type)
            assert_refused(endpoint, response, (415,))
            assert response.json["error"]["code"] == "unsupported_media_type"
        assert ledger_state(world.session) == before
        taken = endpoint.post(valid, "application/json; charset=UTF-8")
        assert taken.status_code in (200, 201, 202), (endpoint.rule, taken.status_code, taken.get_data()[:300])
        assert ledger_state(world.session) != before, endpoint.rule


def test_a_body_of_many_tiny_values_is_refused_at_the_cost_of_its_size(endpoints, world):
    """Two megabytes of `[],` or `1,` would cost a parser tens of megabytes (an object or an error each)."""
    batch = next(e for e in endpoints if e.rule == "/api/v1/scans/batch")
    before = ledger_state(world.session)
    for item in (b"[]", b"{}", b"1", b'""'):
        count = (BatchIn.max_body - 20) // (len(item) + 1)
        body = b'{"scans": [' + b",".join([item] * count) + b"]}"
        response, growth = peak_growth_mb(lambda body=body: batch.post(body))
        assert_refused(batch, response, (400,), "more than")
        assert growth < 10, f"{item!r}: the worker grew {growth:.0f} MB"
    assert ledger_state(world.session) == before
