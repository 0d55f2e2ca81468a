"""EPCIS 2.0 in (issue 17, part 4, first half): another system's ObjectEvents recorded as the scans they
describe, by the phone's rules, once each; unreadable events refused one by one with nothing written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from webapp.boxes.models import Box
from webapp.custody.epcis_capture import DocumentProblem, box_code, capture, short_name
from webapp.custody.models import Alert, CustodyEvent
from webapp.geo.models import Site

BASE = "http://127.0.0.1:8000"
WIB = timezone(timedelta(hours=7))
# When the carrier's events happened: this morning, in Jakarta (a scan's time is from 2020 up to a day ahead).
RECENT = (datetime.now(WIB) - timedelta(hours=2)).replace(microsecond=0)
PPK, OTHER_PPK, WAREHOUSE = "PPK-310101", "PPK-310102", "KPU-3101"


def place(code: str) -> dict:
    return {"id": f"{BASE}/sites/{code}"}


def document(events: list[dict]) -> dict:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(WIB).isoformat(timespec="seconds"),
        "epcisBody": {"eventList": events},
    }


def event(step: str, sscc: str, site: str, to: str | None = None, **more) -> dict:
    found = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": RECENT.isoformat(),
        "eventTimeZoneOffset": "+07:00",
        "epcList": [f"https://id.gs1.org/00/{sscc}"],
        "action": "OBSERVE",
        "bizStep": step,
        "readPoint": place(site),
    }
    if to:
        found["destinationList"] = [{"type": "location", "destination": f"{BASE}/sites/{to}"}]
    found.update(more)
    return found


def kecamatan_boxes(world, prefix: str, n: int) -> list[Box]:
    """`n` boxes bound for the TPS of kecamatan `prefix`, commissioned and sealed at the warehouse."""
    session = world.session
    boxes = session.scalars(
        select(Box)
        .join(Site, Site.id == Box.destination_id)
        .where(Site.region_code.like(prefix + ".%"), Box.status == "planned")
        .order_by(Box.id)
        .limit(n)
    ).all()
    assert len(boxes) == n
    for box in boxes:
        assert world.scan(world.gudang, "commission", box, WAREHOUSE).verdict == "accepted"
        assert world.scan(world.gudang, "seal", box, WAREHOUSE, seals=[f"S-{box.id}"]).verdict == "accepted"
    return boxes


def events_now(session) -> int:
    return session.scalar(select(func.count()).select_from(CustodyEvent))


def test_a_carrier_s_50_shipments_are_recorded_as_scans_and_the_2_to_the_wrong_ppk_refused(world):
    session = world.session
    boxes = kecamatan_boxes(world, "31.01.01", 50)
    wrong = {boxes[7].sscc, boxes[31].sscc}  # bound for kecamatan 31.01.01, shipped to 31.01.02's PPK
    shipping = document([event("shipping", b.sscc, WAREHOUSE, OTHER_PPK if b.sscc in wrong else PPK) for b in boxes])
    before = events_now(session)
    results = capture(session, actor=world.gudang, document=shipping, device="epcis:wms-1")
    session.commit()
    assert [r.verdict for r in results].count("accepted") == 48
    refused = [r for r in results if r.verdict == "refused"]
    assert {r.epc.rsplit("/", 1)[1] for r in refused} == wrong
    assert {r.reason for r in refused} == {"wrong_destination"} and all(
        "PPK" in r.message or "TPS" in r.message for r in refused
    )
    assert events_now(session) == before + 48
    # Exactly as the phone's dispatch: the box is on its way to the PPK, the event names who and where.
    sent = session.scalar(select(Box).where(Box.sscc == boxes[0].sscc))
    assert sent.status == "in_transit" and sent.transit_site.code == PPK
    dispatch = session.scalar(
        select(CustodyEvent).where(CustodyEvent.box_id == sent.id).order_by(CustodyEvent.id.desc())
    )
    assert (dispatch.kind, dispatch.site.code, dispatch.actor_id) == ("dispatch", WAREHOUSE, world.gudang.id)
    at = dispatch.scanned_at  # SQLite gives it without its zone, in UTC
    assert (at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)) == RECENT.astimezone(UTC)
    # The supervisor sees each refusal, as for a phone's.
    assert session.scalar(select(func.count()).select_from(Alert)) >= 2

    again = capture(session, actor=world.gudang, document=shipping, device="epcis:wms-1")  # sent twice
    session.commit()
    assert events_now(session) == before + 48
    assert [r.verdict for r in again] == ["duplicate"] * 50
    assert sorted(r.original for r in again) == sorted(r.verdict for r in results)

    receiving = document([event("receiving", b.sscc, PPK) for b in boxes if b.sscc not in wrong])
    received = capture(session, actor=world.ppk, document=receiving, device="epcis:ppk-1")
    session.commit()
    assert [r.verdict for r in received] == ["accepted"] * 48
    assert session.scalar(select(Box).where(Box.sscc == boxes[0].sscc)).holder_site.code == PPK


def test_unreadable_events_are_refused_one_by_one_and_nothing_of_them_is_written(world):
    session = world.session
    [box, other] = kecamatan_boxes(world, "31.01.01", 2)
    good = event("shipping", box.sscc, WAREHOUSE, PPK)
    bad = [
        {**event("shipping", other.sscc, WAREHOUSE, PPK), "type": "AggregationEvent"},
        {**event("shipping", other.sscc, WAREHOUSE, PPK), "action": "ADD"},
        {**event("shipping", other.sscc, WAREHOUSE, PPK), "eventTime": "kemarin"},
        {**event("shipping", other.sscc, WAREHOUSE, PPK), "eventTime": "2029-02-01T09:30:00"},  # no offset
        event("destroying", other.sscc, WAREHOUSE),
        event("shipping", other.sscc, "NOWHERE-1", PPK),
        event("shipping", other.sscc, WAREHOUSE),  # no destination
        {**event("shipping", other.sscc, WAREHOUSE, PPK), "epcList": []},
    ]
    before = events_now(session)
    results = capture(session, actor=world.gudang, document=document([*bad, good]), device="epcis:t")
    session.commit()
    assert [r.reason for r in results] == [
        "not_object_event", "not_observe", "bad_time", "bad_time", "unknown_step", "unknown_place",
        "unknown_destination", "no_epc", "",
    ]  # fmt: skip
    assert [r.verdict for r in results] == ["error"] * 8 + ["accepted"]
    assert all(r.message for r in results[:8])
    assert events_now(session) == before + 1
    assert session.scalar(select(Box).where(Box.sscc == other.sscc)).status != "in_transit"


def test_a_box_code_that_is_no_label_is_refused_as_the_scanner_refuses_it(world):
    session = world.session
    results = capture(
        session,
        actor=world.gudang,
        document=document([event("shipping", "123456789012345678", WAREHOUSE, PPK)]),
        device="epcis:t",
    )
    assert results[0].verdict == "refused" and results[0].reason == "malformed_code"


@pytest.mark.parametrize(
    "not_a_document",
    [[], {"type": "EPCISQueryDocument"}, {"type": "EPCISDocument"}, {"type": "EPCISDocument", "epcisBody": []}],
)
def test_a_file_that_is_no_epcis_document_is_refused_whole(world, not_a_document):
    with pytest.raises(DocumentProblem):
        capture(world.session, actor=world.gudang, document=not_a_document, device="epcis:t")


def test_places_by_their_gln_as_digital_link_or_sgln_urn(world):
    """What Jejak's own export writes (GLN Digital Links) and the URN form other systems use."""
    session = world.session
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    gln = {c: session.scalar(select(Site.gln).where(Site.code == c)) for c in (WAREHOUSE, PPK)}
    shipped = event("shipping", box.sscc, WAREHOUSE, PPK, readPoint={"id": f"https://id.gs1.org/414/{gln[WAREHOUSE]}"})
    shipped["destinationList"] = [
        {"type": "urn:epcglobal:cbv:sdt:location", "destination": f"urn:epc:id:sgln:{gln[PPK][:7]}.{gln[PPK][7:12]}.0"}
    ]
    [result] = capture(session, actor=world.gudang, document=document([shipped]), device="epcis:t")
    assert result.verdict == "accepted", result
    session.commit()
    assert session.scalar(select(Box).where(Box.sscc == box.sscc)).transit_site.code == PPK


def test_identifiers_in_their_cbv_and_urn_forms():
    assert short_name("urn:epcglobal:cbv:bizstep:shipping") == "shipping"
    assert short_name("https://ref.gs1.org/cbv/BizStep-receiving") == "receiving"
    assert short_name("urn:epcglobal:cbv:sdt:location") == "location"
    # urn:epc:id:sscc:<company prefix>.<extension digit + serial reference>: the SSCC with its check digit.
    assert box_code("urn:epc:id:sscc:0614141.1234567890") == "106141412345678908"
    assert box_code("https://id.gs1.org/00/106141412345678908") == "https://id.gs1.org/00/106141412345678908"


def test_flask_epcis_capture_records_a_file_and_says_what_was_refused(world, runner, tmp_path):
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    path = tmp_path / "kiriman.jsonld"
    path.write_text(json.dumps(document([event("shipping", box.sscc, WAREHOUSE, PPK), event("x", box.sscc, PPK)])))
    result = runner.invoke(args=["epcis", "capture", str(path), "--as", world.gudang.username])
    assert result.exit_code == 1, result.output
    assert "1 accepted, 1 error" in result.output and "event 1" in result.output
    again = runner.invoke(args=["epcis", "capture", str(path), "--as", world.gudang.username])
    assert "1 duplicate, 1 error" in again.output
    path.write_text("{}")
    assert runner.invoke(args=["epcis", "capture", str(path), "--as", world.gudang.username]).exit_code == 1
    assert runner.invoke(args=["epcis", "capture", str(path), "--as", "nobody"]).exit_code == 2


def test_flask_epcis_export_writes_the_document_the_api_serves(world, runner, tmp_path):
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    path = tmp_path / "ekspor.jsonld"
    result = runner.invoke(args=["epcis", "export", str(path), "--region", "3101"])
    assert result.exit_code == 0, result.output
    exported = json.loads(path.read_text())
    events = exported["epcisBody"]["eventList"]
    assert exported["type"] == "EPCISDocument" and exported["jejak:complete"] == {"events": len(events)}
    assert [e["bizStep"] for e in events if e.get("epcList") == [f"http://127.0.0.1:8000/00/{box.sscc}"]] == [
        "commissioning",
        "packing",
    ]
    assert runner.invoke(args=["epcis", "export", str(path), "--region", "99.99"]).exit_code == 1


def test_what_the_phone_would_refuse_as_malformed_is_an_error_of_its_own_event(world):
    """Times out of a scan's range, seal lists the phone refuses, fields of the wrong shape, text that is no
    Unicode: each such event is an error with nothing of it written, and the good event beside it goes in."""
    session = world.session
    [box, other] = kecamatan_boxes(world, "31.01.01", 2)
    shipped = event("shipping", other.sscc, WAREHOUSE, PPK)
    checked = event("inspecting", other.sscc, WAREHOUSE)
    no_id = {k: v for k, v in checked.items() if k != "eventID"}
    bad = [
        ({**checked, "eventTime": "2019-06-01T08:00:00+07:00"}, "implausible_time"),
        ({**checked, "eventTime": "2099-06-01T08:00:00+07:00"}, "implausible_time"),
        ({**checked, "eventTime": "0001-01-01T00:00:00+14:00"}, "bad_time"),
        ({**checked, "jejak:seals": ["S-1", ""]}, "bad_seals"),  # not one seal quietly dropped
        ({**checked, "jejak:seals": ["A B <x>"]}, "bad_seals"),
        ({**checked, "jejak:seals": ["S-1\n"]}, "bad_seals"),
        ({**checked, "jejak:seals": [f"S-{n}" for n in range(21)]}, "bad_seals"),
        ({**checked, "jejak:seals": "S-1"}, "bad_seals"),
        ({**shipped, "destinationList": 5}, "unknown_destination"),
        ({**no_id, "bizLocation": "\ud800"}, "unreadable"),  # a lone surrogate: no UTF-8 for its digest
        ({**checked, "eventID": "x\ud800"}, "unreadable"),
        ({**checked, "readPoint": ["KPU-3101"]}, "unknown_place"),
    ]
    before = events_now(session)
    results = capture(
        session,
        actor=world.gudang,
        document=document([e for e, _ in bad] + [event("inspecting", box.sscc, WAREHOUSE)]),
        device="epcis:t",
    )
    session.commit()
    assert [(r.verdict, r.reason) for r in results] == [("error", reason) for _, reason in bad] + [("accepted", "")]
    assert all(r.message for r in results[:-1]) and events_now(session) == before + 1


def test_one_event_is_one_scan_however_its_box_is_spelt_and_whoever_else_used_its_id(world):
    session = world.session
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    same_id = f"urn:uuid:{uuid.uuid4()}"
    spellings = [
        f"https://id.gs1.org/00/{box.sscc}",
        f"urn:epc:id:sscc:{box.sscc[1:8]}.{box.sscc[0]}{box.sscc[8:17]}",
        f"https://kpu.example/labels/00/{box.sscc}?x=1",
    ]
    before = events_now(session)
    results = capture(
        session,
        actor=world.gudang,
        document=document([event("inspecting", box.sscc, WAREHOUSE, eventID=same_id, epcList=[s]) for s in spellings]),
        device="epcis:t",
    )
    session.commit()
    assert [r.verdict for r in results] == ["accepted", "duplicate", "duplicate"]
    assert events_now(session) == before + 1
    # Another sender's system that happens to use the same eventID for its own look at the box is judged on
    # its own, not answered with the first sender's verdict.
    [theirs] = capture(
        session,
        actor=world.supervisor,
        document=document([event("inspecting", box.sscc, WAREHOUSE, eventID=same_id)]),
        device="epcis:u",
    )
    session.commit()
    assert theirs.verdict == "accepted" and events_now(session) == before + 2
