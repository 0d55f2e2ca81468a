"""The readiness dashboard: after a scripted day of scans its figures equal what a replay of the ledger
itself gives, at every level from the country down to the TPS; milestones turn late on time."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import TPS
from webapp.boxes.models import Box
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site
from webapp.monitor.readiness import readiness_report

PPK = "PPK-310101"


def replay(session) -> dict[str, str]:
    """Each TPS box's stage, worked out from its events alone (not from the box rows)."""
    kinds = dict(session.execute(select(Site.id, Site.kind)).all())
    stage = {}
    boxes = session.scalars(select(Box).join(Site, Box.destination_id == Site.id).where(Site.kind == "tps")).all()
    for box in boxes:
        current = "planned"
        for event in session.scalars(
            select(CustodyEvent).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.box_seq)
        ):
            if event.kind in ("commission", "pack", "seal"):
                current = "warehouse"
            elif event.kind == "dispatch":
                current = "in_transit"
            elif event.kind == "receive":
                kind = kinds[event.site_id]
                by_courier = event.to_holder.startswith("user:")
                current = (
                    "in_transit" if by_courier else {"ppk": "ppk", "pps": "pps", "tps": "tps"}.get(kind, "warehouse")
                )
            elif event.kind == "open":
                current = "tps"
            elif event.kind in ("damage", "loss"):
                current = "problem"
        stage[box.sscc] = current
    return stage


@pytest.fixture
def scripted_day(world):
    boxes = [world.box(), world.box(contest="DPR"), world.box(contest="DPD"), world.box(contest="PRESIDEN")]
    world.to_tps(boxes[0])
    world.scan(world.kpps, "open", boxes[0], TPS)
    for box in boxes[1:]:
        world.scan(world.gudang, "commission", box, "KPU-3101")
        world.scan(world.gudang, "dispatch", box, "KPU-3101", to=PPK)
    world.scan(world.ppk, "receive", boxes[2], PPK)
    world.scan(world.ppk, "receive", boxes[3], PPK)
    world.scan(world.ppk, "damage", boxes[3], PPK, note="basah")
    other = world.box("TPS-3101021001001")
    world.scan(world.gudang, "commission", other, "KPU-3101")
    return boxes


def test_the_dashboard_equals_a_replay_of_the_ledger_at_every_level(client, world, scripted_day):
    stages = replay(world.session)
    destination = dict(
        world.session.execute(select(Box.sscc, Site.region_code).join(Site, Box.destination_id == Site.id)).all()
    )
    tps_code = dict(world.session.execute(select(Box.sscc, Site.code).join(Site, Box.destination_id == Site.id)).all())
    login(client, world.supervisor.username)
    for region in ("31.01", "31.01.01", "31.01.01.1001"):
        body = client.get(f"/api/v1/readiness?region={region}").json
        expected_total = Counter(s for sscc, s in stages.items() if destination[sscc].startswith(region))
        assert {k: v for k, v in body["total"]["stages"].items() if v} == dict(expected_total), region
        for part in body["parts"]:
            mine = [
                s
                for sscc, s in stages.items()
                if (tps_code[sscc] if part["code"].startswith("TPS-") else destination[sscc]).startswith(part["code"])
            ]
            assert {k: v for k, v in part["stages"].items() if v} == dict(Counter(mine)), part["code"]
    page = client.get("/dashboard/31.01.01")
    assert page.status_code == 200 and "Kesiapan" in page.text and 'http-equiv="refresh"' in page.text


def test_milestones_turn_late_after_their_deadline(world, scripted_day, app):
    config = {**app.config, "ELECTION_DAY": "2029-02-14"}
    early = readiness_report(world.session, "31.01.01", config, date(2029, 2, 1))
    assert [(m["level"], m["deadline"], m["overdue"]) for m in early["milestones"]] == [
        ("ppk", "2029-02-11", False),
        ("tps", "2029-02-13", False),
    ]
    late = readiness_report(world.session, "31.01.01", config, date(2029, 2, 12))
    assert [m["overdue"] for m in late["milestones"]] == [True, False]
    broken = readiness_report(world.session, "31.01.01", {**config, "ELECTION_DAY": "14-02-2029"}, date(2029, 2, 1))
    assert broken["election_day_valid"] is False and broken["milestones"] == []


def test_the_readiness_api_is_scoped(client, world):
    login(client, world.kpps.username)
    assert client.get("/api/v1/readiness?region=31.75").status_code == 403
    assert client.get("/api/v1/readiness?region=99.99").status_code == 404
    assert client.get("/dashboard/31.75").status_code == 403
