"""A second receipt scan of a box one already holds is not an alert (issue 14, point 6): the answer says
so calmly, the ledger gets nothing, no supervisor hears of it."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.custody.conftest import make_scan
from webapp.custody.messages import message
from webapp.custody.models import Alert, CustodyEvent
from webapp.custody.pipeline import record_scans


def _counts(session):
    return session.scalar(select(func.count(CustodyEvent.id))), session.scalar(select(func.count(Alert.id)))


def test_a_box_already_held_at_the_site_is_said_calmly_and_records_nothing(world, app):
    box = world.box()
    for actor, action, site, extra in [
        (world.gudang, "commission", "KPU-3101", {}),
        (world.gudang, "seal", "KPU-3101", {"seals": ["S-1"]}),
        (world.gudang, "dispatch", "KPU-3101", {"to": "PPK-310101"}),
        (world.ppk, "receive", "PPK-310101", {"seals": ["S-1"]}),
    ]:
        assert world.scan(actor, action, box, site, **extra).verdict == "accepted"
    before = _counts(world.session)
    again = world.scan(world.ppk, "receive", box, "PPK-310101", seals=["S-1"])
    assert (again.verdict, again.reason) == ("duplicate", "already_held")
    with app.test_request_context("/"):  # in Indonesian, the default
        assert message(again) == "Sudah di sini: kotak ini sudah Anda pegang. Tidak dicatat lagi."
    assert _counts(world.session) == before  # no event, no alert
    # Replayed, the same calm answer comes back.
    scan = make_scan(box.sscc, "receive", "PPK-310101")
    first = record_scans(world.session, actor=world.ppk, scans=[scan])[0]
    replay = record_scans(world.session, actor=world.ppk, scans=[scan])[0]
    assert first.reason == replay.reason == "already_held" and _counts(world.session) == before


def test_a_courier_rescanning_a_box_in_hand_raises_nothing(world):
    box = world.box()
    for actor, action, site, extra in [
        (world.gudang, "commission", "KPU-3101", {}),
        (world.gudang, "seal", "KPU-3101", {"seals": ["S-1"]}),
        (world.gudang, "dispatch", "KPU-3101", {"to": "PPK-310101"}),
        (world.ppk, "receive", "PPK-310101", {}),
        (world.ppk, "dispatch", "PPK-310101", {"to": f"courier:{world.kurir.username}"}),
        (world.kurir, "receive", "PPK-310101", {}),
    ]:
        assert world.scan(actor, action, box, site, **extra).verdict == "accepted", action
    before = _counts(world.session)
    again = world.scan(world.kurir, "receive", box, "PPK-310101")
    assert (again.verdict, again.reason) == ("duplicate", "already_held")
    assert _counts(world.session) == before


def test_a_box_sent_on_is_not_already_here(world):
    """Once dispatched, the sender no longer holds it: a receipt scan at the sender is the old refusal."""
    box = world.box()
    for actor, action, site, extra in [
        (world.gudang, "commission", "KPU-3101", {}),
        (world.gudang, "seal", "KPU-3101", {"seals": ["S-1"]}),
        (world.gudang, "dispatch", "KPU-3101", {"to": "PPK-310101"}),
    ]:
        assert world.scan(actor, action, box, site, **extra).verdict == "accepted"
    back = world.scan(world.gudang, "receive", box, "KPU-3101")
    assert (back.verdict, back.reason) == ("refused", "not_in_transit_to_you")
