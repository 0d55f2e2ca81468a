"""The scan rules and the invariants of DESIGN.md section 5, through the scan service."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.custody.conftest import OTHER_TPS, TPS, make_scan, record_scan
from tests.factories import SiteFactory, UserFactory
from webapp.custody.ledger import SigningKey
from webapp.custody.models import Alert, CustodyEvent, ScanReceipt
from webapp.custody.pipeline import record_scans
from webapp.custody.verification import verify_database
from webapp.geo.models import Dapil

PUBLIC = SigningKey.from_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").public_text


def events_of(session, box) -> list[CustodyEvent]:
    return list(
        session.scalars(select(CustodyEvent).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.box_seq))
    )


def test_a_box_travels_from_warehouse_to_tps_and_back(world):
    box = world.box()
    world.to_tps(box)
    assert (box.status, box.holder_site.code, box.current_site.code) == ("held", TPS, TPS)
    assert world.scan(world.kpps, "open", box, TPS).verdict == "accepted"
    assert world.scan(world.kpps, "reseal", box, TPS, seals=["R-9"]).verdict == "accepted"
    assert box.seals == ["R-9"] and box.status == "sealed"
    # The return after voting follows the same chain back.
    assert world.scan(world.kpps, "dispatch", box, TPS, to="PPS-3101011001").verdict == "accepted"
    assert world.scan(world.pps, "receive", box, "PPS-3101011001", seals=["R-9"]).verdict == "accepted"
    chain = events_of(world.session, box)
    assert [e.kind for e in chain][:3] == ["commission", "seal", "dispatch"]
    assert [e.box_seq for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == "0" * 64 and all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert chain[5].to_holder == f"user:{world.kurir.username}"
    assert verify_database(world.session, PUBLIC).ok


# --- invariant 1: an acknowledged scan is in the ledger exactly once ------------------------------


def test_a_replayed_scan_returns_the_first_result_and_writes_nothing(world):
    box = world.box()
    scan = make_scan(box.sscc, "commission", "KPU-3101")
    first = record_scan(world.session, actor=world.gudang, scan=scan)
    world.session.commit()
    again = record_scan(world.session, actor=world.gudang, scan=scan)
    world.session.commit()
    assert first.verdict == "accepted" and again.verdict == "duplicate" and again.original_verdict == "accepted"
    assert again.event == first.event
    assert (
        world.session.scalar(
            select(func.count()).select_from(CustodyEvent).where(CustodyEvent.client_id == scan.client_id)
        )
        == 1
    )
    assert len(events_of(world.session, box)) == 1


def test_a_replayed_refusal_stays_the_same_refusal(world):
    box = world.box()
    scan = make_scan(box.sscc, "receive", "PPK-310101")
    first = record_scan(world.session, actor=world.ppk, scan=scan)
    world.session.commit()
    world.to_tps(world.box(contest="DPR"))  # the world moves on
    again = record_scan(world.session, actor=world.ppk, scan=scan)
    assert (first.verdict, again.verdict, again.original_verdict, again.reason) == (
        "refused",
        "duplicate",
        "refused",
        first.reason,
    )


def test_the_same_scan_twice_in_one_batch_is_recorded_once(world):
    box = world.box()
    scan = make_scan(box.sscc, "commission", "KPU-3101")
    results = record_scans(world.session, actor=world.gudang, scans=[scan, scan])
    assert [r.verdict for r in results] == ["accepted", "duplicate"]
    assert len(events_of(world.session, box)) == 1


def test_another_users_scan_id_is_not_theirs_to_replay(world):
    box = world.box()
    scan = make_scan(box.sscc, "commission", "KPU-3101")
    record_scan(world.session, actor=world.gudang, scan=scan)
    result = record_scan(world.session, actor=world.supervisor, scan=scan)
    assert (result.verdict, result.reason) == ("refused", "forbidden")


# --- invariant 2: append-only, enforced by the database -----------------------------------------


@pytest.mark.parametrize("statement", ["UPDATE custody_event SET note = 'rewritten'", "DELETE FROM custody_event"])
def test_the_database_refuses_to_change_or_delete_events(world, statement):
    world.scan(world.gudang, "commission", world.box(), "KPU-3101")
    with pytest.raises(DBAPIError, match="append-only"), world.session.begin_nested():
        world.session.execute(text(statement))
    assert world.session.scalar(select(func.count()).select_from(CustodyEvent)) == 1


def test_receipts_are_append_only_too(world):
    world.scan(world.gudang, "commission", world.box(), "KPU-3101")
    with pytest.raises(DBAPIError, match="append-only"), world.session.begin_nested():
        world.session.execute(text("UPDATE scan_receipt SET verdict = 'refused'"))


# --- invariant 4: one holder; dispatch needs the holder; receipt needs the box sent to you -----------


def test_only_the_holder_can_dispatch(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    result = world.scan(world.ppk, "dispatch", box, "PPK-310101", to="PPS-3101011001")
    assert (result.verdict, result.reason) == ("refused", "not_held_by_you")
    assert box.status == "commissioned" and box.holder_site.code == "KPU-3101"


def test_receipt_needs_the_box_in_transit_to_the_receiver(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    result = world.scan(world.ppk, "receive", box, "PPK-310101")
    assert (result.verdict, result.reason) == ("refused", "not_in_transit_to_you")
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to=f"courier:{world.kurir.username}")
    result = world.scan(world.ppk, "receive", box, "PPK-310101")
    assert result.reason == "not_in_transit_to_you"  # the courier must take it first
    assert world.scan(world.kurir, "receive", box, "KPU-3101").verdict == "accepted"
    assert box.holder_user_id == world.kurir.id and box.holder_site_id is None


# --- invariant 5: a box is only accepted on its route; the phone says where it belongs -------------


def test_a_box_for_another_tps_is_refused_and_kept_as_evidence(world):
    box = world.box(tps=OTHER_TPS)
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-7"])
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310102")
    result = world.scan(world.ppk, "receive", box, "PPK-310101")  # the wrong kecamatan
    assert (result.verdict, result.reason) == ("refused", "wrong_destination")
    assert result.details["destination"] == OTHER_TPS
    assert result.details["kecamatan"] == "Kepulauan Seribu Selatan" and result.details["desa"] == "Pulau Untung Jawa"
    assert result.details["dapil"]
    assert "seals" not in result.details and "holder" not in result.details  # not theirs to see
    # Kept as an alert of the receiving site: its supervisors see which box came; the box's own area (where
    # an outsider could otherwise raise alerts at will) does not.
    alert = world.session.scalar(select(Alert).where(Alert.kind == "wrong_destination"))
    assert alert.actor_id == world.ppk.id and alert.site.code == "PPK-310101" and alert.box_id is None
    assert alert.details["sscc"] == box.sscc and alert.details["destination"] == OTHER_TPS
    assert box.status == "in_transit" and box.transit_site.code == "PPK-310102"  # nothing moved


def test_dispatch_off_the_route_is_refused(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    result = world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310102")
    assert result.reason == "wrong_destination" and result.details["destination"] == TPS


def test_a_box_of_another_dapil_is_refused_at_its_tps(world):
    box = world.box()
    other = world.session.scalar(select(Dapil).where(Dapil.contest == "DPRD_PROV", Dapil.id != box.dapil_id))
    box.dapil_id = other.id  # packed with the wrong dapil's ballots at the warehouse
    world.session.commit()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    result = world.scan(world.ppk, "receive", box, "PPK-310101")
    assert (result.verdict, result.reason) == ("refused", "wrong_dapil")
    assert result.details["box_dapil"] == other.name and result.details["tps_dapil"] != other.name


# --- invariant 6: seals read at every transfer ----------------------------------------------------


def test_changed_seals_need_a_witness(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    refused = world.scan(world.ppk, "receive", box, "PPK-310101", seals=["X-1"])
    assert (refused.verdict, refused.reason) == ("refused", "seal_mismatch")
    assert box.status == "in_transit"
    accepted = world.scan(world.ppk, "receive", box, "PPK-310101", seals=["X-1"], witness="Panwascam Budi")
    assert accepted.verdict == "accepted" and accepted.warnings == ["seal_mismatch"]
    assert box.seals == ["X-1"]  # the witnessed seals are the record for the next transfer
    assert (
        world.session.scalar(select(Alert).where(Alert.kind == "seal_mismatch", Alert.event_id.is_not(None)))
        is not None
    )


def test_a_recorded_reseal_explains_new_seals(world):
    box = world.box()
    world.to_tps(box)
    world.scan(world.kpps, "open", box, TPS)
    world.scan(world.kpps, "reseal", box, TPS, seals=["R-1"])
    world.scan(world.kpps, "dispatch", box, TPS, to="PPS-3101011001")
    result = world.scan(world.pps, "receive", box, "PPS-3101011001", seals=["R-1"])
    assert result.verdict == "accepted" and result.warnings == []


# --- invariant 8: device time and server time; device order ----------------------------------------


def test_device_and_server_time_are_both_kept_and_odd_clocks_warned(world):
    box = world.box()
    late = datetime.now(UTC) - timedelta(hours=5)
    result = world.scan(world.gudang, "commission", box, "KPU-3101", scanned_at=late)
    assert "late_sync" in result.warnings
    event = events_of(world.session, box)[0]
    assert abs(event.scanned_at.replace(tzinfo=UTC) - late) < timedelta(milliseconds=1)
    assert event.recorded_at.replace(tzinfo=UTC) > late + timedelta(hours=4)
    ahead = world.scan(world.gudang, "pack", box, "KPU-3101", scanned_at=datetime.now(UTC) + timedelta(hours=2))
    assert "clock_skew" in ahead.warnings


def test_a_batch_is_applied_in_device_order(world):
    box = world.box()
    commission = make_scan(box.sscc, "commission", "KPU-3101", device_seq=10)
    seal = make_scan(box.sscc, "seal", "KPU-3101", device_seq=11, seals=["S-1"])
    dispatch = make_scan(box.sscc, "dispatch", "KPU-3101", device_seq=12, to="PPK-310101")
    results = record_scans(world.session, actor=world.gudang, scans=[dispatch, seal, commission])
    assert [r.verdict for r in results] == ["accepted"] * 3
    assert [e.kind for e in events_of(world.session, box)] == ["commission", "seal", "dispatch"]


# --- the other verdicts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason", "kind"),
    [
        ("hello", "malformed_code", "not_a_label"),
        ("106141412345678907", "malformed_code", "check_digit"),
        ("106141412345678908", "unknown_code", None),
    ],
)
def test_codes_that_are_not_our_boxes(world, code, reason, kind):
    result = world.scan(world.gudang, "commission", code, "KPU-3101")
    assert (result.verdict, result.reason) == ("refused", reason)
    if kind:
        assert result.details["kind"] == kind
    assert world.session.scalar(select(Alert).where(Alert.kind == reason, Alert.code == code)) is not None


def test_roles_and_scope_are_checked(world):
    box = world.box()
    assert world.scan(world.observer, "commission", box, "KPU-3101").reason == "forbidden"
    assert world.scan(world.gudang, "commission", box, "KPU-31").reason == "forbidden"  # not the warehouse's site
    assert world.scan(world.other_kpps, "inspect", box, TPS).reason == "forbidden"
    # A write the actor may not make writes nothing at all: no event, no receipt, no alert anywhere.
    assert world.session.scalar(select(func.count()).select_from(CustodyEvent)) == 0
    assert world.session.scalar(select(func.count()).select_from(ScanReceipt)) == 0
    assert world.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_box_outside_the_actors_area_is_neither_changed_nor_told_about(world):
    """The audit's holes: a scanner of one area voided, commissioned or inspected another area's boxes,
    learnt their seals and holder, and raised alerts there. Now each is refused as forbidden, unwritten."""
    box = world.box(tps=OTHER_TPS)  # kecamatan 31.01.02
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-SECRET"])
    supervisor = UserFactory(role="supervisor", scope_region_code="31.01.01")
    # Another kab/kota's warehouse (Jakarta Pusat), and a planned box of Kepulauan Seribu.
    other_warehouse = SiteFactory(
        kind="warehouse_kab",
        code="KPU-3171",
        name="Gudang KPU Jakarta Pusat",
        region_code="31.71",
        tps_number=None,
        dpt=None,
    )
    gudang_pusat = UserFactory(role="warehouse", scope_site=other_warehouse)
    planned = world.box(contest="DPR")
    world.session.commit()
    events = world.session.scalar(select(func.count()).select_from(CustodyEvent))
    result = world.scan(gudang_pusat, "commission", planned, "KPU-3171")
    assert (result.verdict, result.reason) == ("refused", "forbidden")
    world.session.refresh(planned)
    assert planned.status == "planned" and planned.holder_site_id is None  # and so still not theirs to read
    cases = [
        (supervisor, "void", "PPK-310101", {}),
        (supervisor, "loss", "PPK-310101", {}),
        (world.ppk, "inspect", "PPK-310101", {"seals": ["WRONG"]}),
        (world.ppk, "damage", "PPK-310101", {"condition": "wet"}),
        (world.ppk, "dispatch", "PPK-310101", {"to": "PPS-3101011001"}),
        (world.kpps, "open", TPS, {}),
    ]
    for actor, action, site, extra in cases:
        result = world.scan(actor, action, box, site, lat=Decimal("-5.6"), lon=Decimal("106.5"), **extra)
        assert (result.verdict, result.reason) == ("refused", "forbidden"), (action, result)
        assert result.details == {"sscc": box.sscc, "why": "box"}, (action, result.details)
    assert world.session.scalar(select(func.count()).select_from(CustodyEvent)) == events
    assert world.session.scalar(select(func.count()).select_from(Alert)) == 0
    world.session.refresh(box)
    assert (box.status, box.seals) == ("sealed", ["S-SECRET"])


def test_a_voided_box_is_refused_everywhere(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    assert world.scan(world.supervisor, "void", box, "KPU-3101").verdict == "accepted"
    result = world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    assert (result.verdict, result.reason) == ("refused", "voided")


def test_damage_and_loss_raise_alerts(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "damage", box, "KPU-3101", condition="wet", note="Atap gudang bocor")
    assert box.status == "damaged"
    world.scan(world.gudang, "loss", box, "KPU-3101")
    assert box.status == "lost"
    kinds = sorted(world.session.scalars(select(Alert.kind).where(Alert.box_id == box.id)))
    assert kinds == ["damaged", "lost"]
