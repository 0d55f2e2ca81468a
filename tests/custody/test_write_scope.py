"""Scope on every write (issue 12, points 1 and 2): a person changes only what lies in their area, a refusal
tells nothing they could not already see, and nobody raises alerts in another area."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import login
from tests.custody.conftest import OTHER_TPS, TPS
from tests.custody.test_api import ledger_size, payload
from tests.factories import SiteFactory, UserFactory
from webapp.alerts.services import AlertError, act
from webapp.auth.access import Forbidden
from webapp.boxes.models import Packet
from webapp.boxes.packing import plan_packets
from webapp.custody.models import Alert, AlertAction, Handover
from webapp.planning.models import ItemType, NormChange
from webapp.planning.services import change_norm


@pytest.fixture
def sealed_elsewhere(world):
    """A box of kecamatan 31.01.02 sealed at the kab/kota warehouse with a seal number nobody outside may read,
    and people of kecamatan 31.01.01 (a supervisor) and of another kab/kota (Jakarta Pusat's warehouse)."""
    box = world.box(tps=OTHER_TPS)
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["RAHASIA-77"])
    world.kec_supervisor = UserFactory(role="supervisor", scope_region_code="31.01.01")
    pusat = SiteFactory(
        kind="warehouse_kab", code="KPU-3171", name="Gudang Jakarta Pusat", region_code="31.71", tps_number=None
    )
    world.pusat = UserFactory(role="warehouse", scope_site=pusat)
    world.session.commit()
    world.elsewhere = box
    return world


def test_a_supervisor_cannot_void_another_areas_box_through_the_api(client, sealed_elsewhere):
    world = sealed_elsewhere
    login(client, world.kec_supervisor.username)
    before = ledger_size(world.session)
    response = client.post("/api/v1/scans", json=payload(world.elsewhere.sscc, "void", "PPK-310101"))
    assert response.status_code == 403, response.text
    assert response.json["verdict"] == "refused" and response.json["reason"] == "forbidden"
    assert "luar wilayah" in response.json["message"]
    assert ledger_size(world.session) == before  # no event, no receipt, no alert
    world.session.refresh(world.elsewhere)
    assert world.elsewhere.status == "sealed"


def test_another_kab_kotas_warehouse_cannot_commission_and_then_read_a_planned_box(client, sealed_elsewhere):
    world = sealed_elsewhere
    planned = world.box(contest="DPR")
    login(client, world.pusat.username)
    response = client.post("/api/v1/scans", json=payload(planned.sscc, "commission", "KPU-3171"))
    assert response.status_code == 403 and response.json["reason"] == "forbidden"
    assert client.get(f"/api/v1/boxes/{planned.sscc}").status_code == 403  # still not theirs to read


def test_a_refused_inspection_does_not_tell_the_seals_or_the_holder(client, sealed_elsewhere):
    world = sealed_elsewhere
    login(client, world.ppk.username)  # PPK Kepulauan Seribu Utara; the box is for the other kecamatan
    for action, extra in (("inspect", {"seals": ["TEBAKAN-1"]}), ("dispatch", {"to": "PPK-310102"})):
        response = client.post("/api/v1/scans", json=payload(world.elsewhere.sscc, action, "PPK-310101", **extra))
        assert response.status_code == 403, (action, response.text)
        assert "RAHASIA-77" not in response.text and "KPU-3101" not in response.text, response.text
        assert set(response.json["details"]) == {"sscc", "why"}
    assert world.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_batch_refuses_only_the_out_of_scope_scans(client, sealed_elsewhere):
    world = sealed_elsewhere
    login(client, world.gudang.username)
    mine = world.box()
    scans = [
        payload(mine.sscc, "commission", "KPU-3101", device_seq=1),
        payload(world.elsewhere.sscc, "inspect", "KPU-3171", device_seq=2),  # not the warehouse's site
    ]
    response = client.post("/api/v1/scans/batch", json={"scans": scans})
    assert response.status_code == 200
    assert [r["reason"] for r in response.json["results"]] == [None, "forbidden"]
    assert response.json["results"][1]["details"] == {"why": "site"}
    # The scan at another area's site left nothing there: no alert at KPU-3171, no receipt to replay.
    assert world.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_malformed_codes_sent_from_another_areas_site_raise_no_alert_there(client, sealed_elsewhere):
    world = sealed_elsewhere
    login(client, world.pusat.username)
    scans = [payload(f"sampah-{n}", "receive", "PPK-310101", device_seq=n) for n in range(20)]
    response = client.post("/api/v1/scans/batch", json={"scans": scans})
    assert {r["reason"] for r in response.json["results"]} == {"forbidden"}
    assert world.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_misrouted_box_is_refused_with_its_public_destination_and_alerts_only_the_receiving_site(
    client, sealed_elsewhere
):
    world = sealed_elsewhere
    world.scan(world.gudang, "dispatch", world.elsewhere, "KPU-3101", to="PPK-310102")
    login(client, world.ppk.username)
    body = payload(world.elsewhere.sscc, "receive", "PPK-310101", seals=["RAHASIA-77"], lat=-5.6, lon=106.55)
    response = client.post("/api/v1/scans", json=body)
    assert response.status_code == 422 and response.json["reason"] == "wrong_destination"
    assert response.json["details"]["destination"] == OTHER_TPS  # as its label and public page say
    assert "holder" not in response.json["details"] and "RAHASIA" not in response.text
    alerts = world.session.scalars(select(Alert)).all()
    assert [(a.kind, a.site.code, a.box_id) for a in alerts] == [("wrong_destination", "PPK-310101", None)]
    # The box's own kecamatan sees no alert raised by an outsider; the receiving kecamatan's supervisor does.
    client.post("/logout")
    login(client, UserFactory(role="supervisor", scope_region_code="31.01.02").username)
    assert client.get("/api/v1/alerts").json["alerts"] == []
    client.post("/logout")
    login(client, world.kec_supervisor.username)
    assert [a["kind"] for a in client.get("/api/v1/alerts").json["alerts"]] == ["wrong_destination"]


def test_a_box_goes_only_to_a_courier_whose_area_covers_it(client, sealed_elsewhere):
    world = sealed_elsewhere
    far_courier = UserFactory(role="courier", scope_region_code="31.71")
    world.session.commit()
    login(client, world.gudang.username)
    body = payload(world.elsewhere.sscc, "dispatch", "KPU-3101", to=f"courier:{far_courier.username}")
    response = client.post("/api/v1/scans", json=body)
    assert response.status_code == 403 and response.json["details"] == {"sscc": world.elsewhere.sscc, "why": "receiver"}
    body = payload(world.elsewhere.sscc, "dispatch", "KPU-3101", to=f"courier:{world.kurir.username}")
    assert client.post("/api/v1/scans", json=body).status_code == 201


def test_handovers_go_to_sites_of_ones_area_or_up_ones_own_chain(client, sealed_elsewhere):
    world = sealed_elsewhere
    far_courier = UserFactory(role="courier", scope_region_code="31.71")
    world.session.commit()
    login(client, world.ppk.username)

    def open_to(to: str):
        return client.post("/api/v1/handovers", json={"token": str(uuid.uuid4()), "site": "PPK-310101", "to": to})

    assert open_to("PPK-310102").status_code == 403  # the other kecamatan's PPK: not theirs to send to
    assert open_to("KPU-3171").status_code == 403  # another kab/kota
    assert open_to(f"courier:{far_courier.username}").status_code == 403
    assert world.session.scalar(select(func.count()).select_from(Handover)) == 0
    assert open_to("PPS-3101011001").status_code == 201  # down, in their area
    assert open_to("KPU-3101").status_code == 201  # back up their own chain after the count
    assert open_to(f"courier:{world.kurir.username}").status_code == 201


def test_packing_into_another_areas_box_is_refused_unwritten(client, sealed_elsewhere):
    world = sealed_elsewhere
    plan_packets(world.session, "31.01", extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    box = world.box(contest="DPR")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    packet = world.session.scalar(select(Packet).where(Packet.tps_id == box.destination_id, Packet.contest == "DPR"))
    login(client, world.pusat.username)
    body = {"box": box.sscc, "packet": packet.sscc, "site": "KPU-3171", "device_id": "meja", "device_seq": 1}
    response = client.post("/api/v1/packing", json=body)
    assert response.status_code == 403 and response.json["reason"] == "forbidden"
    assert response.json["details"] == {"box": box.sscc, "why": "box"}
    world.session.refresh(packet)
    assert packet.box_id is None and world.session.scalar(select(func.count()).select_from(Alert)) == 0


def test_alerts_are_acted_on_only_inside_ones_area(client, sealed_elsewhere):
    world = sealed_elsewhere
    world.scan(world.gudang, "damage", world.elsewhere, "KPU-3101", condition="wet")
    alert = world.session.scalar(select(Alert).where(Alert.kind == "damaged"))
    other = UserFactory(role="supervisor", scope_region_code="31.71")
    world.session.commit()
    with pytest.raises(AlertError) as refused:  # the service itself refuses, whatever view calls it
        act(world.session, alert, actor=other, action="acknowledge", note="")
    assert refused.value.code == "forbidden"
    login(client, other.username)
    assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge", json={"note": ""}).status_code == 404
    assert client.post(f"/alerts/{alert.id}", data={"action": "resolve", "note": "selesai"}).status_code == 404
    assert world.session.scalar(select(func.count()).select_from(AlertAction)) == 0


def test_norms_are_changed_only_by_a_national_admin_even_through_the_service(world):
    item = world.session.scalar(select(ItemType).where(ItemType.code == "TINTA"))
    regional = UserFactory(role="admin", scope_region_code="31.01")
    with pytest.raises(Forbidden):
        change_norm(world.session, item, actor=regional, reason="coba", quantity=9)
    assert world.session.scalar(select(func.count()).select_from(NormChange)) == 0


def test_scans_at_ones_own_site_of_ones_own_boxes_still_go_through(sealed_elsewhere):
    world = sealed_elsewhere
    world.to_tps(world.box())  # the whole route, every party in their own area
    assert world.box().status == "held" and world.box().holder_site.code == TPS
