"""Corrections of mistaken scans (issue 14, point 6): the author asks with a reason, a supervisor of the box's
area approves, the ledger gets a `correct` event naming the corrected one, the box goes back to its state
before it, the chain still verifies, and nothing is deleted."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.custody.conftest import KEY, TPS
from tests.factories import UserFactory
from webapp.auth.models import User
from webapp.boxes.models import BoxStatus
from webapp.core.database import begin_write
from webapp.core.exceptions import JejakError
from webapp.custody.corrections import STATE, box_events, decide, replay, request_correction, standing
from webapp.custody.ledger import canonical_event, chain_hash
from webapp.custody.models import Alert, AlertState, CorrectionRequest, CorrectionState, CustodyEvent
from webapp.custody.verification import verify_box, verify_database
from webapp.geo.models import Site


@pytest.fixture(autouse=True)
def _in_a_request(app):
    """Refusals speak the person's language (Indonesian by default) inside a request."""
    with app.test_request_context():
        yield


def _state(box) -> dict:
    return {name: getattr(box, name) for name in STATE}


def _ask(world, actor, client_id, reason="Salah gudang, kotak diterima di tempat yang keliru"):
    begin_write(world.session)
    request = request_correction(world.session, actor=actor, client_id=client_id, reason=reason)
    world.session.commit()
    return request


def _decide(world, actor, request_id, approve=True, note=None):
    begin_write(world.session)
    try:
        request = decide(world.session, actor=actor, request_id=request_id, approve=approve, note=note)
    except JejakError:
        world.session.rollback()
        raise
    world.session.commit()
    return request


def _refused(call) -> JejakError:
    with pytest.raises(JejakError) as caught:
        call()
    return caught.value


@pytest.fixture
def dispatched(world):
    """A box handed down to PPK-310101 and on by the PPK to the courier; the state before that dispatch kept."""
    box = world.box()
    for actor, action, site, extra in [
        (world.gudang, "commission", "KPU-3101", {}),
        (world.gudang, "seal", "KPU-3101", {"seals": ["S-1", "S-2"]}),
        (world.gudang, "dispatch", "KPU-3101", {"to": "PPK-310101"}),
        (world.ppk, "receive", "PPK-310101", {"seals": ["S-1", "S-2"]}),
    ]:
        assert world.scan(actor, action, box, site, **extra).verdict == "accepted"
    world.session.refresh(box)
    before = _state(box)
    wrong = world.scan(world.ppk, "dispatch", box, "PPK-310101", to=f"courier:{world.kurir.username}")
    assert wrong.verdict == "accepted"
    return box, before, wrong


def test_the_replayed_state_is_the_box_state_after_every_step_of_a_journey(world):
    """The replay that restores a box (custody/corrections.py) agrees with the rules at every step."""
    box = world.box()
    world.to_tps(box)
    world.scan(world.kpps, "open", box, TPS)
    events = box_events(world.session, box)
    world.session.refresh(box)
    assert replay(world.session, box, events) == _state(box)
    assert box.status == BoxStatus.OPENED and box.phase == "back"


def test_an_approved_correction_restores_the_box_and_the_chain_verifies(world, dispatched):
    box, before, wrong = dispatched
    request = _ask(world, world.ppk, wrong.client_id)
    assert request.state == CorrectionState.PENDING
    world.session.refresh(box)
    assert box.status == BoxStatus.IN_TRANSIT  # nothing changes before a supervisor approves
    request = _decide(world, world.supervisor, request.id, note="Benar, kurir salah")
    assert request.state == CorrectionState.APPROVED and request.decided_by_id == world.supervisor.id
    world.session.refresh(box)
    assert _state(box) == before and box.status == BoxStatus.HELD and box.transit_user_id is None
    correction = world.session.get(CustodyEvent, request.correction_event_id)
    corrected = world.session.get(CustodyEvent, request.event_id)
    assert correction.kind == "correct" and correction.corrects == corrected.hash
    assert correction.box_seq == corrected.box_seq + 1 and correction.prev_hash == corrected.hash
    assert correction.actor_id == world.supervisor.id and correction.note == request.reason
    assert correction.from_holder == "site:PPK-310101" and correction.to_holder == "site:PPK-310101"
    # nothing deleted: the mistaken event is still there, and the whole ledger verifies
    assert (
        world.session.scalar(select(func.count()).select_from(CustodyEvent).where(CustodyEvent.box_id == box.id)) == 6
    )
    assert verify_box(world.session, box)
    assert verify_database(world.session, KEY.public_text).ok
    # the box goes on as if the mistake had not happened: the PPK may hand it to the PPS by the route
    again = world.scan(world.ppk, "dispatch", box, "PPK-310101", to=f"courier:{world.kurir.username}")
    assert again.verdict == "accepted"


def test_the_correction_reference_is_hashed_and_old_events_keep_their_bytes(world, dispatched):
    """`corrects` is in the canonical bytes of a correction only: every other event hashes as it always did."""
    box, _before, wrong = dispatched
    request = _decide(world, world.supervisor, _ask(world, world.ppk, wrong.client_id).id)
    views = {view["id"]: view for view in _views(world, box)}
    plain, correction = views[request.event_id], views[request.correction_event_id]
    assert plain["corrects"] is None and b"corrects" not in canonical_event(plain)
    assert f'"corrects":"{plain["hash"]}"'.encode() in canonical_event(correction)
    altered = {**correction, "corrects": "0" * 64}
    assert chain_hash(correction["prev_hash"], canonical_event(altered)) != correction["hash"]


def _views(world, box):
    from webapp.custody import event as declaration

    rows = world.session.execute(
        select(*(CustodyEvent.__table__.c[name] for name in declaration.READ_COLUMNS)).where(
            CustodyEvent.box_id == box.id
        )
    ).all()
    users = {u.id: u.username for u in world.session.scalars(select(User))}
    sites = dict(world.session.execute(select(Site.id, Site.code)).all())
    return [declaration.from_row(tuple(row), {box.id: box.sscc}, sites, users) for row in rows]


def test_a_request_needs_a_reason_and_the_authors_accepted_latest_scan(world, dispatched):
    box, _before, wrong = dispatched
    no_reason = _refused(lambda: _ask(world, world.ppk, wrong.client_id, reason="  "))
    assert no_reason.status == 400 and "alasan" in no_reason.message
    world.session.rollback()
    not_mine = _refused(lambda: _ask(world, world.supervisor, wrong.client_id))
    assert not_mine.status == 403 and "Hanya orang yang memindai" in not_mine.message
    world.session.rollback()
    refused = world.scan(world.ppk, "receive", world.box(contest="DPR"), "PPK-310101")  # never dispatched to it
    assert refused.verdict == "refused"
    not_accepted = _refused(lambda: _ask(world, world.ppk, refused.client_id))
    assert not_accepted.status == 400 and "tidak diterima" in not_accepted.message
    world.session.rollback()
    earlier = box_events(world.session, box)[3]  # the PPK's receipt, before the dispatch
    receipt_id = earlier.client_id
    not_latest = _refused(lambda: _ask(world, world.ppk, receipt_id))
    assert not_latest.status == 409 and "terbaru" in not_latest.message
    world.session.rollback()
    assert world.session.scalar(select(func.count()).select_from(CorrectionRequest)) == 0


def test_a_request_outside_ones_area_tells_nothing(world, dispatched):
    _box, _before, wrong = dispatched
    stranger = world.other_kpps  # another kecamatan's TPS: the box is not theirs to see
    refusal = _refused(lambda: _ask(world, stranger, wrong.client_id))
    assert refusal.status == 404 and "PPK" not in refusal.message
    world.session.rollback()
    unknown = _refused(lambda: _ask(world, world.ppk, "00000000-0000-4000-8000-000000000000"))
    assert unknown.status == 404 and unknown.message == refusal.message


def test_approval_needs_a_supervisor_of_the_boxs_area_and_not_the_one_who_asked(world, dispatched, session):
    box, _before, wrong = dispatched
    request = _ask(world, world.ppk, wrong.client_id)
    elsewhere = UserFactory(role="supervisor", scope_region_code="31.01.02")  # the other kecamatan
    world.session.commit()
    out_of_area = _refused(lambda: _decide(world, elsewhere, request.id))
    assert out_of_area.status == 404
    officer = _refused(lambda: _decide(world, world.pps, request.id))
    assert officer.status == 404
    rejected_without_note = _refused(lambda: _decide(world, world.supervisor, request.id, approve=False))
    assert rejected_without_note.status == 400
    assert world.session.get(CorrectionRequest, request.id).state == CorrectionState.PENDING
    # a supervisor's own mistaken scan is approved by another supervisor, not by themselves
    mistaken = world.scan(world.supervisor, "inspect", box, "PPK-310101", note="diperiksa")
    assert mistaken.verdict == "accepted"
    own = _ask(world, world.supervisor, mistaken.client_id)
    refusal = _refused(lambda: _decide(world, world.supervisor, own.id))
    assert refusal.status == 403 and "sendiri" in refusal.message
    colleague = UserFactory(role="supervisor", scope_region_code="31.01")
    world.session.commit()
    assert _decide(world, colleague, own.id).state == CorrectionState.APPROVED
    assert world.session.get(CorrectionRequest, request.id).state == CorrectionState.PENDING


def test_a_rejection_keeps_the_box_as_it_is(world, dispatched):
    box, _before, wrong = dispatched
    request = _decide(world, world.supervisor, _ask(world, world.ppk, wrong.client_id).id, approve=False,
                      note="Kurir memang membawa kotak ini")  # fmt: skip
    assert request.state == CorrectionState.REJECTED and request.correction_event_id is None
    world.session.refresh(box)
    assert box.status == BoxStatus.IN_TRANSIT and box.chain_length == 5


def test_a_correction_scanned_without_an_approved_request_is_refused(world, dispatched):
    """The action is in the table, but a supervisor cannot record one straight through the scans API."""
    box, _before, _wrong = dispatched
    site_code = world.session.scalar(select(Site.code).where(Site.code == "PPK-310101"))
    outcome = world.scan(world.supervisor, "correct", box, site_code, corrects=box.chain_head, note="langsung")
    assert outcome.verdict == "refused" and outcome.reason == "forbidden"
    assert len(standing(box_events(world.session, box))) == 5


def test_the_epcis_export_declares_the_corrected_event_an_error(client, world, dispatched):
    import json

    from jsonschema import Draft7Validator, FormatChecker

    from tests.conftest import login
    from tests.monitor.test_epcis import SCHEMA

    _box, _before, wrong = dispatched
    request = _decide(world, world.supervisor, _ask(world, world.ppk, wrong.client_id).id)
    correction = world.session.get(CustodyEvent, request.correction_event_id)
    login(client, world.observer.username)
    document = json.loads(client.get("/api/v1/export/epcis?region=31.01").get_data(as_text=True))
    assert sorted(Draft7Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(document), key=str) == []
    events = {e["eventID"]: e for e in document["epcisBody"]["eventList"]}
    by_chain_hash = {e["jejak:chainHash"]: e for e in events.values()}  # the ledger's hash rides along
    corrected = by_chain_hash[wrong.event["hash"]]
    corrective_id = by_chain_hash[correction.hash]["eventID"]  # the correction's EPCIS event hash
    assert corrected["errorDeclaration"]["reason"] == "incorrect_data"
    assert corrected["errorDeclaration"]["correctiveEventIDs"] == [corrective_id]
    assert corrected["errorDeclaration"]["declarationTime"].startswith(correction.recorded_at.strftime("%Y-%m-%dT%H"))
    assert corrective_id in events and "errorDeclaration" not in events[corrective_id]
    assert sum("errorDeclaration" in e for e in events.values()) == 1


def test_the_trace_page_asks_shows_the_request_and_after_approval_shows_both(client, world, dispatched):
    from tests.conftest import login

    box, _before, wrong = dispatched
    login(client, world.ppk.username)
    page = client.get(f"/boxes/{box.sscc}").text
    assert "Minta koreksi pemindaian ini" in page and page.count('class="correction-form"') == 1
    event_id = wrong.event["id"] or world.session.scalar(
        select(CustodyEvent.id).where(CustodyEvent.client_id == wrong.client_id)
    )
    url = f"/boxes/{box.sscc}/events/{event_id}/correction"
    refused = client.post(url, data={"reason": " "}, follow_redirects=True).text
    assert "Tulis alasan pemindaian ini harus dikoreksi" in refused
    assert world.session.scalar(select(func.count()).select_from(CorrectionRequest)) == 0
    asked = client.post(url, data={"reason": "Salah kurir, kotak tetap di PPK"}, follow_redirects=True).text
    assert "Koreksi diminta, menunggu penyelia" in asked and "Minta koreksi pemindaian ini" not in asked
    request = world.session.scalar(select(CorrectionRequest))
    client.post("/logout")
    login(client, world.supervisor.username)
    assert "Koreksi yang perlu diputuskan" in client.get("/alerts").text
    listed = client.get("/corrections").text
    assert "Salah kurir, kotak tetap di PPK" in listed and box.sscc in listed
    after = client.post(
        f"/corrections/{request.id}", data={"decision": "approve", "note": "Benar"}, follow_redirects=True
    ).text
    assert "Koreksi disetujui" in after
    assert "dikoreksi" in after and "Mengoreksi" in after and "Diminta oleh" in after and "disetujui oleh" in after
    assert "Salah kurir, kotak tetap di PPK" in after and "Rantai catatan utuh" in after
    assert "Tidak ada koreksi yang menunggu" in client.get("/corrections").text


def test_the_corrections_page_is_a_supervisors_and_shows_only_their_area(client, world, dispatched):
    from tests.conftest import login

    _box, _before, wrong = dispatched
    _ask(world, world.ppk, wrong.client_id)
    login(client, world.ppk.username)
    assert client.get("/corrections").status_code == 403
    client.post("/logout")
    elsewhere = UserFactory(role="supervisor", scope_region_code="31.01.02")
    world.session.commit()
    login(client, elsewhere.username)
    assert "Tidak ada koreksi yang menunggu" in client.get("/corrections").text
    request = world.session.scalar(select(CorrectionRequest))
    assert client.post(f"/corrections/{request.id}", data={"decision": "approve"}).status_code == 404
    assert world.session.get(CorrectionRequest, request.id).state == CorrectionState.PENDING


def test_an_approved_correction_resolves_the_alert_its_scan_raised(world):
    """Damage reported on the wrong box raised an alert; once corrected, that alert is resolved, saying so."""
    box = world.box()
    for actor, action, site, extra in [
        (world.gudang, "commission", "KPU-3101", {}),
        (world.gudang, "damage", "KPU-3101", {"note": "basah"}),
    ]:
        assert world.scan(actor, action, box, site, **extra).verdict == "accepted"
    damage = world.session.scalar(
        select(CustodyEvent).where(CustodyEvent.box_id == box.id, CustodyEvent.kind == "damage")
    )
    alert = world.session.scalar(select(Alert).where(Alert.event_id == damage.id))
    assert alert is not None and alert.state == AlertState.OPEN
    request = _ask(world, world.gudang, damage.client_id, reason="Kotak lain yang basah, bukan ini")
    _decide(world, world.supervisor, request.id)
    world.session.refresh(alert)
    assert alert.state == AlertState.RESOLVED and alert.resolved_by_id == world.supervisor.id
    assert alert.resolution_note == "Dikoreksi: Kotak lain yang basah, bukan ini"
