"""Every alert kind the issue names is raised by a scenario of its own, and each shows in GET /api/v1/alerts
and on the readiness dashboard of its region. Stalled and overdue come from the periodic sweep
(`flask alerts scan`); a cloned label is caught as the copy is scanned."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import OTHER_TPS, TPS
from webapp.alerts.sweep import sweep
from webapp.custody.models import Alert
from webapp.geo.models import Dapil

JAKARTA = {"lat": Decimal("-6.1754"), "lon": Decimal("106.8272")}
SURABAYA = {"lat": Decimal("-7.2575"), "lon": Decimal("112.7521")}
T0 = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)  # scans from yesterday


def wrong_destination(world, app):
    box = world.box(tps=OTHER_TPS)
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310102")
    assert world.scan(world.ppk, "receive", box, "PPK-310101").reason == "wrong_destination"


def wrong_dapil(world, app):
    box = world.box()
    box.dapil_id = world.session.scalar(select(Dapil.id).where(Dapil.contest == "DPRD_PROV", Dapil.id != box.dapil_id))
    world.session.commit()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    assert world.scan(world.ppk, "receive", box, "PPK-310101").reason == "wrong_dapil"


def seal_mismatch(world, app):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    assert world.scan(world.ppk, "receive", box, "PPK-310101", seals=["X-9"]).reason == "seal_mismatch"


def damaged(world, app):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "damage", box, "KPU-3101", note="terendam banjir")


def lost(world, app):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "loss", box, "KPU-3101", note="tidak ditemukan")


def stalled(world, app):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    later = box.last_event_at + timedelta(hours=app.config["STALLED_AFTER_HOURS"] + 1)
    assert sweep(world.session, app.config, now=later).stalled == 1
    world.session.commit()


def overdue(world, app):
    world.to_tps(world.box())  # one of the TPS's four boxes arrived; the other three never left
    config = {**app.config, "ELECTION_DAY": "2029-02-14"}
    assert sweep(world.session, config, now=T0, today=date(2029, 2, 14)).overdue >= 1
    world.session.commit()


def cloned_label(world, app):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101", scanned_at=T0, **JAKARTA)
    world.scan(
        world.gudang, "seal", box, "KPU-3101", seals=["S-1"], scanned_at=T0, **JAKARTA
    )  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101", scanned_at=T0, **JAKARTA)
    # Twenty minutes later "the same box" is scanned 660 km away by the kab/kota's courier: a copy of its label.
    copy = world.scan(world.kurir, "receive", box, OTHER_TPS, scanned_at=T0 + timedelta(minutes=20), **SURABAYA)
    assert copy.verdict == "refused"


SCENARIOS = {
    "wrong_destination": wrong_destination,
    "wrong_dapil": wrong_dapil,
    "seal_mismatch": seal_mismatch,
    "damaged": damaged,
    "lost": lost,
    "stalled": stalled,
    "overdue": overdue,
    "cloned_label": cloned_label,
}


@pytest.mark.parametrize("kind", SCENARIOS)
def test_each_alert_kind_is_raised_and_shown(client, world, app, kind):
    SCENARIOS[kind](world, app)
    login(client, world.supervisor.username)
    alerts = client.get(f"/api/v1/alerts?kind={kind}&state=open").json["alerts"]
    assert len(alerts) >= 1, kind
    dashboard = client.get("/dashboard/31.01")
    assert dashboard.status_code == 200
    row = dashboard.text.split('id="alert-summary"')[1].split("</section>")[0]
    assert f'data-kind="{kind}"' in row  # the dashboard counts it under its own label, linked to the list


def test_a_cloned_label_alert_says_how_far_and_how_fast(world):
    cloned_label(world, None)
    alert = world.session.scalar(select(Alert).where(Alert.kind == "cloned_label"))
    assert alert.details["seen_before"]["site"] == "KPU-3101" and alert.details["seen_now"]["site"] == OTHER_TPS
    assert 600 < alert.details["km"] < 720 and alert.details["minutes"] == 20.0
    assert alert.details["kmh_needed"] > 1500


def test_plausible_journeys_and_gps_jitter_raise_no_clone_alert(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101", scanned_at=T0, **JAKARTA)
    world.scan(
        world.gudang, "seal", box, "KPU-3101", seals=["S-1"], scanned_at=T0, **JAKARTA
    )  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101", scanned_at=T0, **JAKARTA)
    # 3 km of GPS drift a minute later, then 45 km by road in two hours.
    world.scan(
        world.gudang,
        "inspect",
        box,
        "KPU-3101",
        scanned_at=T0 + timedelta(minutes=1),
        lat=Decimal("-6.2000"),
        lon=Decimal("106.8400"),
    )
    world.scan(
        world.ppk,
        "receive",
        box,
        "PPK-310101",
        scanned_at=T0 + timedelta(hours=2),
        lat=Decimal("-5.8000"),
        lon=Decimal("106.6000"),
    )
    assert world.session.scalar(select(Alert).where(Alert.kind == "cloned_label")) is None


def test_a_stall_is_alerted_once_until_the_box_moves_again(world, app):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to=f"courier:{world.kurir.username}")
    world.scan(world.kurir, "receive", box, "KPU-3101")  # the courier holds it: still on the road
    hours = app.config["STALLED_AFTER_HOURS"]
    assert sweep(world.session, app.config, now=box.last_event_at + timedelta(hours=hours - 1)).stalled == 0
    later = box.last_event_at + timedelta(hours=hours + 2)
    assert sweep(world.session, app.config, now=later).stalled == 1
    assert sweep(world.session, app.config, now=later + timedelta(hours=5)).stalled == 0
    alert = world.session.scalar(select(Alert).where(Alert.kind == "stalled"))
    assert alert.details["with_courier"] is True and alert.details["hours"] == hours + 2


def test_overdue_names_each_late_tps_once_and_spares_the_ready_ones(world, app):
    for contest in ("DPRD_PROV", "DPR", "DPD", "PRESIDEN"):
        world.to_tps(world.box(contest=contest))  # TPS 001 has all four boxes
    config = {**app.config, "ELECTION_DAY": "2029-02-14"}
    assert sweep(world.session, config, today=date(2029, 2, 11)).overdue == 0  # H-3 is not over yet
    after_ppk = sweep(world.session, config, today=date(2029, 2, 12))
    late = world.session.scalars(select(Alert).where(Alert.kind == "overdue")).all()
    assert after_ppk.overdue == len(late) > 0 and {a.details["level"] for a in late} == {"ppk"}
    assert TPS not in {a.site.code for a in late}  # its boxes are all there
    after_tps = sweep(world.session, config, today=date(2029, 2, 14))
    assert after_tps.overdue == after_ppk.overdue  # the same TPS, now late for H-1 as well
    late = world.session.scalars(select(Alert).where(Alert.kind == "overdue")).all()
    assert TPS not in {a.site.code for a in late}
    assert sweep(world.session, config, today=date(2029, 2, 15)).overdue == 0  # once per TPS and milestone


def test_the_sweep_runs_from_the_command_line(runner, world):
    result = runner.invoke(args=["alerts", "scan"])
    assert result.exit_code == 0 and "stalled: 0 new" in result.output
    assert "ELECTION_DAY is not set" in result.output
    check = runner.invoke(args=["readiness", "check"])
    assert check.exit_code == 0 and "equal to a recount" in check.output


def test_readiness_check_finds_a_wrong_counter_and_rebuild_mends_it(runner, world):
    from webapp.readiness.models import ReadinessCount, ReadinessRollup

    row = world.session.scalars(select(ReadinessCount).where(ReadinessCount.boxes > 0)).first()
    row.boxes += 5
    world.session.commit()
    check = runner.invoke(args=["readiness", "check"])
    assert check.exit_code == 1 and f"{row.region_code} {row.stage}: counter {row.boxes}" in check.output
    assert runner.invoke(args=["readiness", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["readiness", "check"]).exit_code == 0
    # The per-kecamatan sums are checked too (the country's and provinces' pages read them).
    world.session.expire_all()
    summed = world.session.scalars(select(ReadinessRollup).where(ReadinessRollup.boxes > 0)).first()
    summed.boxes -= 2
    world.session.commit()
    check = runner.invoke(args=["readiness", "check"])
    assert (
        check.exit_code == 1
        and f"kecamatan {summed.region_code} {summed.stage}: counter {summed.boxes}" in check.output
    )
    assert runner.invoke(args=["readiness", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["readiness", "check"]).exit_code == 0


def test_a_clone_is_alerted_once_and_never_from_someone_else_s_site(world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101", scanned_at=T0, **JAKARTA)
    world.scan(
        world.gudang, "seal", box, "KPU-3101", seals=["S-1"], scanned_at=T0, **JAKARTA
    )  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101", scanned_at=T0, **JAKARTA)
    # A KPPS posting a fake fix at a site that is not theirs: refused as forbidden, no clone alert.
    forbidden = world.scan(world.kpps, "receive", box, OTHER_TPS, scanned_at=T0 + timedelta(minutes=5), **SURABAYA)
    assert forbidden.reason == "forbidden"
    assert world.session.scalar(select(Alert).where(Alert.kind == "cloned_label")) is None
    # Nor from someone whose area does not cover the box (another kecamatan's KPPS): an outsider's fix would
    # otherwise let anyone raise clone alerts on any box; their receipt is a wrong destination at their site.
    outsider = world.scan(
        world.other_kpps, "receive", box, OTHER_TPS, scanned_at=T0 + timedelta(minutes=10), **SURABAYA
    )
    assert outsider.reason == "wrong_destination"
    assert world.session.scalar(select(Alert).where(Alert.kind == "cloned_label")) is None
    for minutes in (20, 25):  # the copy scanned twice: one alert is enough until it is resolved
        world.scan(world.kurir, "receive", box, OTHER_TPS, scanned_at=T0 + timedelta(minutes=minutes), **SURABAYA)
    assert len(world.session.scalars(select(Alert).where(Alert.kind == "cloned_label")).all()) == 1


def test_after_voting_an_opened_box_not_back_at_the_ppk_is_overdue(world, app):
    box = world.box()
    world.to_tps(box)
    world.scan(world.kpps, "open", box, TPS)
    config = {**app.config, "ELECTION_DAY": "2029-02-14", "READINESS_MILESTONES": {}}
    assert sweep(world.session, config, today=date(2029, 2, 17)).overdue == 0  # H+3 is not over yet
    result = sweep(world.session, config, today=date(2029, 2, 18))
    late = world.session.scalars(select(Alert).where(Alert.kind == "overdue")).all()
    assert result.overdue == 1 and [(a.site.code, a.details["direction"], a.details["level"]) for a in late] == [
        (TPS, "back", "ppk")
    ]  # boxes never opened (all the others) are not on their way back: only this one is late


def test_an_overdue_alert_says_its_deadline_as_a_date_in_words(client, world, app):
    overdue(world, app)
    login(client, world.supervisor.username)
    page = client.get("/alerts?kind=overdue").text
    assert "Februari 2029" in page and "belum sampai di" in page
    assert not re.search(r"pada 2029-\d\d-\d\d", page)  # not an ISO date
