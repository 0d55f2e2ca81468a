"""The readiness dashboard: after a scripted day of scans its figures equal what a replay of the ledger
itself gives, at every level from the country down to the TPS; milestones turn late on time."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import OTHER_TPS, TPS
from tests.factories import UserFactory
from webapp.boxes.models import Box
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site
from webapp.readiness.report import counter_differences, counters, readiness_report, recount

PPK = "PPK-310101"


def replay(session) -> dict[str, str]:
    """Each TPS box's stage, worked out from its events alone (not from the box rows)."""
    kinds = dict(session.execute(select(Site.id, Site.kind)).all())
    tps_boxes = session.execute(
        select(Box.id, Box.sscc).join(Site, Box.destination_id == Site.id).where(Site.kind == "tps")
    ).all()
    state = {box_id: ["planned", False, False] for box_id, _ in tps_boxes}  # where, back, problem
    events = session.execute(
        select(CustodyEvent.box_id, CustodyEvent.kind, CustodyEvent.site_id, CustodyEvent.to_holder).order_by(
            CustodyEvent.box_id, CustodyEvent.box_seq
        )
    )
    for box_id, kind, site_id, to_holder in events:
        if box_id not in state:
            continue
        box = state[box_id]
        if kind == "commission":
            box[0] = kinds[site_id]
        elif kind == "dispatch":
            box[0] = "transit"
        elif kind == "receive":
            box[0] = "transit" if to_holder.startswith("user:") else kinds[site_id]
        elif kind == "open":
            box[1] = True
        elif kind in ("damage", "loss"):
            box[2] = True
    stage = {}
    for box_id, sscc in tps_boxes:
        where, back, problem = state[box_id]
        if problem or where == "planned":
            stage[sscc] = "problem" if problem else "planned"
            continue
        level = where if where in ("ppk", "pps", "tps", "transit") else "warehouse"
        if back:
            stage[sscc] = f"back_{level}"
        else:
            stage[sscc] = "in_transit" if level == "transit" else level
    return stage


def assert_dashboard_equals_replay(client, session, regions) -> None:
    """GET /api/v1/readiness at each region equals the replay, for the total and every part."""
    stages = replay(session)
    destination = dict(
        session.execute(select(Box.sscc, Site.region_code).join(Site, Box.destination_id == Site.id)).all()
    )
    tps_code = dict(session.execute(select(Box.sscc, Site.code).join(Site, Box.destination_id == Site.id)).all())
    for region in regions:
        body = client.get(f"/api/v1/readiness?region={region}").json
        prefix = "" if region == "ID" else region
        expected_total = Counter(s for sscc, s in stages.items() if destination[sscc].startswith(prefix))
        assert {k: v for k, v in body["total"]["stages"].items() if v} == dict(expected_total), region
        expected_parts = {}
        for sscc, s in stages.items():
            if prefix and destination[sscc] != prefix and not destination[sscc].startswith(prefix + "."):
                continue
            key = tps_code[sscc] if len(prefix) == 13 else destination[sscc][: {0: 2, 2: 5, 5: 8, 8: 13}[len(prefix)]]
            expected_parts.setdefault(key, Counter())[s] += 1
        assert {p["code"]: {k: v for k, v in p["stages"].items() if v} for p in body["parts"]} == {
            k: dict(v) for k, v in expected_parts.items()
        }, region
    return stages


@pytest.fixture
def scripted_day(world):
    boxes = [world.box(), world.box(contest="DPR"), world.box(contest="DPD"), world.box(contest="PRESIDEN")]
    world.to_tps(boxes[0])
    world.scan(world.kpps, "open", boxes[0], TPS)
    for box in boxes[1:]:
        world.scan(world.gudang, "commission", box, "KPU-3101")
        world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
        world.scan(world.gudang, "dispatch", box, "KPU-3101", to=PPK)
    world.scan(world.ppk, "receive", boxes[2], PPK)
    world.scan(world.ppk, "receive", boxes[3], PPK)
    world.scan(world.ppk, "damage", boxes[3], PPK, note="basah")
    other = world.box("TPS-3101021001001")
    world.scan(world.gudang, "commission", other, "KPU-3101")
    # After the count: box 0 goes back to the PPS; a box of the other TPS rides with the courier.
    assert world.scan(world.kpps, "reseal", boxes[0], TPS, seals=["R-1"]).verdict == "accepted"
    assert world.scan(world.kpps, "dispatch", boxes[0], TPS, to="PPS-3101011001").verdict == "accepted"
    assert world.scan(world.pps, "receive", boxes[0], "PPS-3101011001").verdict == "accepted"
    riding = world.box(OTHER_TPS, contest="DPR")
    world.scan(world.gudang, "commission", riding, "KPU-3101")
    world.scan(world.gudang, "seal", riding, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", riding, "KPU-3101", to=f"courier:{world.kurir.username}")
    assert world.scan(world.kurir, "receive", riding, "KPU-3101").verdict == "accepted"
    return boxes


def test_the_dashboard_equals_a_replay_of_the_ledger_at_every_level(client, world, scripted_day):
    login(client, world.supervisor.username)
    stages = assert_dashboard_equals_replay(client, world.session, ("31.01", "31.01.01", "31.01.01.1001"))
    client.post("/logout")
    national = UserFactory(role="supervisor")  # the country and the province read the kecamatan sums
    login(client, national.username)
    assert_dashboard_equals_replay(client, world.session, ("ID", "31", "31.01"))
    client.post("/logout")
    login(client, world.supervisor.username)
    assert stages[scripted_day[0].sscc] == "back_pps"
    assert set(stages.values()) >= {"back_pps", "in_transit", "ppk", "problem", "warehouse"}
    # The counters the database keeps on every box change (per desa, and summed per kecamatan) equal a
    # recount of the boxes.
    assert counters(world.session) == recount(world.session)
    assert counter_differences(world.session) == []
    page = client.get("/dashboard/31.01.01")
    assert page.status_code == 200 and "Kesiapan" in page.text and 'data-refresh="60"' in page.text
    assert 'http-equiv="refresh"' not in page.text  # refreshed by static/js/refresh.js, not under the reader


def test_milestones_turn_late_after_their_deadline(world, scripted_day, app):
    config = {**app.config, "ELECTION_DAY": "2029-02-14"}
    early = readiness_report(world.session, "31.01.01", config, date(2029, 2, 1))
    assert [(m["direction"], m["level"], m["deadline"], m["overdue"]) for m in early["milestones"]] == [
        ("out", "ppk", "2029-02-11", False),
        ("out", "tps", "2029-02-13", False),
        ("back", "ppk", "2029-02-17", False),
        ("back", "warehouse", "2029-02-24", False),
    ]
    late = readiness_report(world.session, "31.01.01", config, date(2029, 2, 12))
    assert [m["overdue"] for m in late["milestones"]] == [True, False, False, False]
    # After voting: the one opened box is at the PPS, not yet back at the PPK three days on.
    after = readiness_report(world.session, "31.01.01", config, date(2029, 2, 18))
    back_ppk = after["milestones"][2]
    assert back_ppk["percent"] == 0 and back_ppk["overdue"] is True
    assert after["total"]["stages"]["back_pps"] == 1
    broken = readiness_report(world.session, "31.01.01", {**config, "ELECTION_DAY": "14-02-2029"}, date(2029, 2, 1))
    assert broken["election_day_valid"] is False and broken["milestones"] == []


def test_the_readiness_api_defaults_to_the_callers_area(client, world):
    login(client, world.supervisor.username)
    body = client.get("/api/v1/readiness").json
    assert body["region"] == "31.01" and body["total"]["boxes"] > 0


def test_the_readiness_api_is_scoped(client, world):
    login(client, world.kpps.username)
    assert client.get("/api/v1/readiness?region=31.75").status_code == 403
    assert client.get("/api/v1/readiness?region=99.99").status_code == 404
    assert client.get("/dashboard/31.75").status_code == 403


def test_the_demo_and_its_day_of_scans_read_the_same_on_the_dashboard_as_in_the_ledger(client, session, runner):
    """`flask seed demo` scans a day of work in Matraman (real scans through the ledger); the dashboard
    equals the replay of those events for Jakarta Timur, Matraman, one of its desa and another kecamatan."""
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0 and "A day of work:" in result.output
    session.commit()
    login(client, "supervisor", "jejak-supervisor")
    desa = session.scalar(select(Site.region_code).where(Site.kind == "pps", Site.region_code.like("31.75.01.%")))
    stages = assert_dashboard_equals_replay(client, session, ("31.75", "31.75.01", desa, "31.75.04"))
    assert set(stages.values()) >= {"planned", "warehouse", "in_transit", "ppk", "pps", "tps", "problem"}
    client.post("/logout")
    login(client, "admin", "jejak-admin")  # the country and DKI Jakarta, from the per-kecamatan sums
    assert_dashboard_equals_replay(client, session, ("ID", "31"))
    assert counters(session) == recount(session)
    assert counter_differences(session) == []
