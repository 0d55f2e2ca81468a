"""The ledger as EPCIS 2.0: the export validates against GS1's JSON Schema (a copy in tests/data, no
fetching), holds exactly the region's events in the time range, and packing is an AggregationEvent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import login
from webapp.boxes.models import Packet
from webapp.boxes.packing import pack_packet, plan_packets
from webapp.core.database import begin_write
from webapp.custody.models import CustodyEvent

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "epcis" / "EPCIS-JSON-Schema.json").read_text())


@pytest.fixture
def ledger_with_packing(world):
    world.to_tps(world.box(contest="DPR"))  # sealed before any packet is planned: it seals as it is
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    plan_packets(world.session, "31.01", extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    world.session.commit()
    packet = world.session.scalar(
        select(Packet).where(Packet.tps_id == box.destination_id, Packet.contest == box.contest)
    )
    begin_write(world.session)
    result = pack_packet(
        world.session,
        actor=world.gudang,
        site_code="KPU-3101",
        box_code=box.sscc,
        packet_code=packet.sscc,
        device_id="meja",
        device_seq=1,
    )
    world.session.commit()
    assert result.verdict == "accepted"
    return box, packet


def test_the_export_validates_against_the_epcis_2_schema(client, world, ledger_with_packing):
    box, packet = ledger_with_packing
    login(client, world.observer.username)
    response = client.get("/api/v1/export/epcis?region=31.01")
    assert response.status_code == 200 and response.is_streamed
    document = json.loads(response.get_data(as_text=True))
    errors = sorted(Draft7Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(document), key=str)
    assert errors == []
    events = document["epcisBody"]["eventList"]
    assert len(events) == world.session.scalar(select(func.count()).select_from(CustodyEvent))
    # Its last member says the document is whole (a cut-off download lacks it), under a declared prefix.
    assert list(document)[-1] == "jejak:complete" and document["jejak:complete"] == {"events": len(events)}
    assert {"jejak": "http://127.0.0.1:8000/ns/epcis#"} in document["@context"]
    aggregation = [e for e in events if e["type"] == "AggregationEvent"]
    assert len(aggregation) == 1 and aggregation[0]["parentID"].endswith(f"/00/{box.sscc}")
    assert aggregation[0]["childEPCs"][0].endswith(f"/00/{packet.sscc}") and aggregation[0]["bizStep"] == "packing"
    dispatch = next(e for e in events if e["bizStep"] == "shipping")
    assert dispatch["sourceList"][0]["type"] == "possessing_party" and dispatch["destinationList"]
    assert {e["action"] for e in events} == {"ADD", "OBSERVE"}


def test_the_time_range_and_region_select_the_events(client, world, ledger_with_packing):
    login(client, world.supervisor.username)
    later = datetime.now(UTC) + timedelta(hours=1)
    window = {"region": "31.01", "from": later.isoformat(), "to": (later + timedelta(days=1)).isoformat()}
    empty = json.loads(client.get("/api/v1/export/epcis", query_string=window).data)
    assert empty["epcisBody"]["eventList"] == []
    other = json.loads(client.get("/api/v1/export/epcis?region=31.01.02").data)  # the other kecamatan
    assert other["epcisBody"]["eventList"] == []


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("region=31.01&from=kemarin", 400),
        ("region=31.01&from=2026-02-01&to=2026-01-01", 400),
        ("region=99.99", 404),
        ("region=32", 403),
    ],
)
def test_bad_export_requests_get_clear_errors(client, world, query, status):
    login(client, world.supervisor.username)
    response = client.get(f"/api/v1/export/epcis?{query}")
    assert response.status_code == status and response.json["error"]["message"]
