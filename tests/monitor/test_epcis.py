"""The ledger as EPCIS 2.0: the export validates against GS1's JSON Schema (a copy in tests/data, no
fetching) with its formats checked, uses only CBV 2.0 words, names places by GLN and never a person, writes
local times, computes each eventID with the EPCIS event hash algorithm (checked against the published
examples), holds exactly the region's events in the time range, and packing is an AggregationEvent."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import login
from tests.custody.conftest import TPS
from webapp.auth.models import User
from webapp.boxes.models import Packet
from webapp.boxes.packing import pack_packet, plan_packets
from webapp.core.database import begin_write
from webapp.custody.corrections import decide, request_correction
from webapp.custody.models import CustodyEvent
from webapp.exports.epcis import epcis_event
from webapp.exports.event_hash import event_hash_id, hash_time, prehash
from webapp.geo.models import Site

DATA = Path(__file__).parent.parent / "data" / "epcis"
SCHEMA = json.loads((DATA / "EPCIS-JSON-Schema.json").read_text())
BASE = "http://127.0.0.1:8000"
# CBV 2.0's business steps and dispositions (GS1 Core Business Vocabulary 2.0, sections 7.2 and 7.3)
CBV_BIZ_STEPS = frozenset(
    [
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    ]
)
CBV_DISPOSITIONS = frozenset(
    [
        "active",
        "available",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    ]
)


def _validator():
    checker = FormatChecker()
    # the formats are really checked (jsonschema passes them unchecked without rfc3986-validator and
    # rfc3339-validator, requirements-dev.txt)
    assert not checker.conforms("not a uri", "uri") and not checker.conforms("2026-02-14 08:00", "date-time")
    return Draft7Validator(SCHEMA, format_checker=checker)


# --- the event hash, against the reference implementation's published examples -------------------------


def _examples():
    """(file, index, event, context, expected pre-hash, expected ID) of the examples' events made of what
    this implementation covers (no quantities, ILMD or transformation IDs)."""
    for path in sorted((DATA / "hash-examples").glob("*.jsonld")):
        document = json.loads(path.read_text())
        prehashes = [line for line in path.with_suffix(".prehashes").read_text().splitlines() if line.strip()]
        hashes = [line for line in path.with_suffix(".hashes").read_text().splitlines() if line.strip()]
        for index, event in enumerate(document["epcisBody"]["eventList"]):
            if not {"quantityList", "childQuantityList", "ilmd", "transformationID"} & set(event):
                yield path.name, index, event, document["@context"], prehashes[index], hashes[index]


def in_cbv_order(reference_prehash: str) -> str:
    """A reference pre-hash string with sourceList before destinationList, as CBV 2.0's canonical property
    order (21, 22) and epcis2.js have them; the reference implementation's examples write destinationList
    first (in them, sourceList is the last part of the string)."""
    destination, source = reference_prehash.find("destinationList"), reference_prehash.find("sourceList")
    if destination < 0 or source < destination:
        return reference_prehash
    assert "{" not in reference_prehash[source:]  # nothing after the sourceList part in these examples
    return reference_prehash[:destination] + reference_prehash[source:] + reference_prehash[destination:source]


def test_event_hash_ids_equal_the_published_examples():
    examples = list(_examples())
    assert len(examples) >= 11  # sgtin, sscc, sgln, pgln, geo, bizTransactions, sources, extensions
    reordered = 0
    for name, index, event, context, expected_prehash, expected_id in examples:
        expected = in_cbv_order(expected_prehash)
        assert prehash(event, context) == expected, (name, index)
        if expected == expected_prehash:
            assert event_hash_id(event, context) == expected_id, (name, index)
        else:  # the same fields in CBV order: the hash of that string
            reordered += 1
            digest = hashlib.sha256(expected.encode()).hexdigest()
            assert event_hash_id(event, context) == f"ni:///sha-256;{digest}?ver=CBV2.0"
    assert 0 < reordered < len(examples) - 5  # most examples are checked against their published hash


def test_hash_times_are_utc_milliseconds_rounded_on_the_fourth_decimal():
    assert hash_time("2023-01-18T11:04:03.1415Z") == "2023-01-18T11:04:03.142Z"
    assert hash_time("2023-01-18T11:04:03.1414+07:00") == "2023-01-18T04:04:03.141Z"
    assert hash_time("2023-12-31T23:59:59.9999Z") == "2024-01-01T00:00:00.000Z"
    assert hash_time("2022-02-16T20:33:31-06:00") == "2022-02-17T02:33:31.000Z"


# --- the export --------------------------------------------------------------------------------


def _ask_and_approve(world, actor, client_id):
    begin_write(world.session)
    request = request_correction(world.session, actor=actor, client_id=client_id, reason="Salah tujuan kirim")
    world.session.commit()
    begin_write(world.session)
    decide(world.session, actor=world.supervisor, request_id=request.id, approve=True, note="Benar")
    world.session.commit()


@pytest.fixture
def full_ledger(app, world):
    """A ledger with every kind of event the export writes: first prints and a reprint, a packet packed
    into an unfinished box, seals, handovers between sites and through a courier, receipts, a damage
    report, and a corrected dispatch with its correction."""
    delivered = world.box(contest="DPR")
    world.to_tps(delivered)  # commission, seal, site and courier handovers, receipts
    assert world.scan(world.kpps, "damage", delivered, TPS, note="basah").verdict == "accepted"
    corrected = world.box(contest="DPD")
    for action, extra in (("commission", {}), ("seal", {"seals": ["S-9"]})):
        assert world.scan(world.gudang, action, corrected, "KPU-3101", **extra).verdict == "accepted"
    wrong = world.scan(world.gudang, "dispatch", corrected, "KPU-3101", to="PPK-310101")
    assert wrong.verdict == "accepted"
    with app.test_request_context():
        _ask_and_approve(world, world.gudang, wrong.client_id)
    packed = world.box()
    world.scan(world.gudang, "commission", packed, "KPU-3101")
    assert world.scan(world.gudang, "commission", packed, "KPU-3101").verdict == "accepted"  # a reprint
    plan_packets(world.session, "31.01", extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    world.session.commit()
    packet = world.session.scalar(
        select(Packet).where(Packet.tps_id == packed.destination_id, Packet.contest == packed.contest)
    )
    begin_write(world.session)
    result = pack_packet(
        world.session,
        actor=world.gudang,
        site_code="KPU-3101",
        box_code=packed.sscc,
        packet_code=packet.sscc,
        device_id="meja",
        device_seq=1,
    )
    world.session.commit()
    assert result.verdict == "accepted"
    return delivered, packed, packet, corrected


def _export(client, world) -> tuple[str, dict]:
    login(client, world.observer.username)
    response = client.get("/api/v1/export/epcis?region=31.01")
    assert response.status_code == 200 and response.is_streamed
    text = response.get_data(as_text=True)
    return text, json.loads(text)


def test_the_export_validates_with_formats_checked_and_speaks_cbv_2(client, world, full_ledger):
    delivered, packed, packet, corrected = full_ledger
    _, document = _export(client, world)
    errors = sorted(_validator().iter_errors(document), key=str)
    assert [e.message for e in errors] == []
    events = document["epcisBody"]["eventList"]
    ledger = world.session.scalars(select(CustodyEvent).order_by(CustodyEvent.id)).all()
    assert len(events) == len(ledger)
    # Its last member says the document is whole (a cut-off download lacks it), under a declared prefix.
    assert list(document)[-1] == "jejak:complete" and document["jejak:complete"] == {"events": len(events)}
    assert {"jejak": "http://127.0.0.1:8000/ns/epcis#"} in document["@context"]
    assert {e["bizStep"] for e in events} <= CBV_BIZ_STEPS
    assert {e["disposition"] for e in events} <= CBV_DISPOSITIONS
    # each eventID is the event hash of the event as exported; the ledger's hash rides along in order
    for event, line in zip(events, ledger, strict=True):
        assert event["eventID"] == event_hash_id(event, document["@context"])
        assert event["jejak:chainHash"] == line.hash
    assert len({e["eventID"] for e in events}) == len(events)

    def of(sscc):
        return [e for e in events if e.get("epcList", [e.get("parentID")])[0].endswith(f"/00/{sscc}")]

    # a box is commissioned once; its label reprint is an observation
    printed = [e for e in of(packed.sscc) if e["bizStep"] in ("commissioning", "encoding")]
    assert [(e["action"], e["bizStep"]) for e in printed] == [("ADD", "commissioning"), ("OBSERVE", "encoding")]
    # a packet put into a box not yet complete leaves it in progress; the seal closes a box
    (aggregation,) = [e for e in events if e["type"] == "AggregationEvent"]
    assert aggregation["childEPCs"][0].endswith(f"/00/{packet.sscc}") and aggregation["action"] == "ADD"
    assert (aggregation["bizStep"], aggregation["disposition"]) == ("packing", "in_progress")
    seals = [e for e in of(delivered.sscc) if e["bizStep"] == "packing"]
    assert [e["disposition"] for e in seals] == ["container_closed"]
    damage = [e for e in of(delivered.sscc) if e["disposition"] == "damaged"]
    assert len(damage) == 1 and damage[0]["bizStep"] == "inspecting"
    # the corrected dispatch declares its error, naming the correction's eventID
    dispatches = [e for e in of(corrected.sscc) if e["bizStep"] == "shipping"]
    (declared,) = [e for e in dispatches if "errorDeclaration" in e]
    correction = world.session.scalar(select(CustodyEvent).where(CustodyEvent.kind == "correct"))
    (correction_event,) = [e for e in events if e["jejak:chainHash"] == correction.hash]
    assert declared["errorDeclaration"]["reason"] == "incorrect_data"
    assert declared["errorDeclaration"]["correctiveEventIDs"] == [correction_event["eventID"]]


def test_places_are_glns_in_local_time_and_no_person_is_named(client, world, full_ledger):
    delivered, *_ = full_ledger
    text, document = _export(client, world)
    events = document["epcisBody"]["eventList"]
    glns = dict(world.session.execute(select(Site.code, Site.gln)).tuples().all())

    def place(code):
        return f"https://id.gs1.org/414/{glns[code]}"

    journey = [e for e in events if e.get("epcList") and e["epcList"][0].endswith(f"/00/{delivered.sscc}")]
    ledger = world.session.scalars(
        select(CustodyEvent).where(CustodyEvent.box_id == delivered.id).order_by(CustodyEvent.box_seq)
    ).all()
    for event, line in zip(journey, ledger, strict=True):
        site = world.session.get(Site, line.site_id)
        assert event["readPoint"] == {"id": place(site.code)}
        # Jakarta keeps WIB: the local time and its offset name the ledger's moment
        assert event["eventTimeZoneOffset"] == "+07:00" and event["eventTime"].endswith("+07:00")
        scanned = line.scanned_at if line.scanned_at.tzinfo else line.scanned_at.replace(tzinfo=UTC)
        assert datetime.fromisoformat(event["eventTime"]) == scanned.replace(
            microsecond=scanned.microsecond // 1000 * 1000
        )
    first_dispatch = next(e for e in journey if e["bizStep"] == "shipping")  # KPU-3101 to PPK-310101
    assert "bizLocation" not in first_dispatch and first_dispatch["disposition"] == "in_transit"
    assert first_dispatch["sourceList"] == [
        {"type": "location", "source": place("KPU-3101")},
        {"type": "possessing_party", "source": f"https://id.gs1.org/417/{glns['KPU-3101']}"},
    ]
    assert {"type": "location", "destination": place("PPK-310101")} in first_dispatch["destinationList"]
    receipt = next(e for e in journey if e["bizStep"] == "receiving")
    assert receipt["bizLocation"] == {"id": place("PPK-310101")}
    # handed to the courier: the PPK is named, the courier side is left out
    to_courier = [e for e in journey if e["bizStep"] == "shipping"][1]
    assert "sourceList" in to_courier and "destinationList" not in to_courier
    # no username and no person's name, of anyone, anywhere in the document
    lowered = text.lower()
    for username, name in world.session.execute(select(User.username, User.full_name)):
        assert username.lower() not in lowered
        assert not name or name.lower() not in lowered
    assert "/people/" not in text and "courier" not in lowered


@pytest.mark.parametrize(
    ("region", "offset", "local"),
    [("31.75.04", "+07:00", "2026-02-14T08:00:00.250+07:00"), ("73.71.01", "+08:00", "2026-02-14T09:00:00.250+08:00"),
     ("94.71.01", "+09:00", "2026-02-14T10:00:00.250+09:00")],
)  # fmt: skip
def test_event_times_are_local_to_the_site(region, offset, local):
    row = {
        "kind": "receive",
        "box": "106141410000000018",
        "scanned_at": datetime(2026, 2, 14, 1, 0, 0, 250000, tzinfo=UTC),
        "recorded_at": datetime(2026, 2, 14, 1, 0, 5, tzinfo=UTC),
        "site": "PPK-000000",
        "site_gln": "0614141000012",
        "site_region": region,
        "to_gln": "0614141000012",
        "from_gln": None,
        "hash": "ab" * 32,
    }
    event = epcis_event(row, BASE)
    assert (event["eventTime"], event["eventTimeZoneOffset"]) == (local, offset)
    assert event["eventID"] == event_hash_id(event, [{"jejak": f"{BASE}/ns/epcis#"}])
    assert "eventTime=2026-02-14T01:00:00.250Z" in prehash(event, [{"jejak": f"{BASE}/ns/epcis#"}])


def test_the_time_range_and_region_select_the_events(client, world, full_ledger):
    login(client, world.supervisor.username)
    later = datetime.now(UTC) + timedelta(hours=1)
    window = {"region": "31.01", "from": later.isoformat(), "to": (later + timedelta(days=1)).isoformat()}
    empty = json.loads(client.get("/api/v1/export/epcis", query_string=window).data)
    assert empty["epcisBody"]["eventList"] == []
    other = json.loads(client.get("/api/v1/export/epcis?region=31.01.02").data)  # the other kecamatan
    assert other["epcisBody"]["eventList"] == []
    assert world.session.scalar(select(func.count()).select_from(CustodyEvent)) > 0


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
