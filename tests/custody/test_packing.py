"""The packing station: packets go into their own TPS's box of their contest and dapil, or are refused
loudly and kept as alerts; a box is sealed complete or with its shortage noted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config import TestConfig
from tests.conftest import login
from tests.custody.conftest import TPS
from tests.factories import UserFactory
from webapp.boxes.models import Packet
from webapp.boxes.packing import plan_packets
from webapp.custody.models import Alert, CustodyEvent
from webapp.geo.models import Dapil, Site, TpsDapil
from webapp.geo.seed import seed_region

_seq = iter(range(1, 10**6))


@pytest.fixture
def packets(world):
    plan_packets(world.session, "31.01", extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    world.session.commit()
    return world


def packets_of(session, tps: str, contest: str) -> list[Packet]:
    site = session.scalar(select(Site).where(Site.code == tps))
    return session.scalars(select(Packet).where(Packet.tps_id == site.id, Packet.contest == contest)).all()


def pack(client, box: str, packet: str, site: str = "KPU-3101"):
    body = {"box": box, "packet": packet, "site": site, "device_id": "meja-1", "device_seq": next(_seq)}
    return client.post("/api/v1/packing", json=body)


def test_a_dprd_dapil_6_packet_into_a_dapil_1_box_is_refused_and_the_supervisor_sees_it(
    client, world, app, jakarta_timur
):
    """The 2024 swap, at the warehouse: Jakarta Timur's DPRD DKI 6 ballots reach a Jakarta Pusat (DKI 1) box."""
    session = world.session
    seed_region(session, "31.71", app.config)  # Jakarta Timur is seeded already

    def first_tps(dapil_name: str) -> Site:
        return session.scalar(
            select(Site)
            .join(TpsDapil, TpsDapil.site_id == Site.id)
            .join(Dapil, Dapil.id == TpsDapil.dapil_id)
            .where(TpsDapil.contest == "DPRD_PROV", Dapil.name == dapil_name)
            .order_by(Site.code)
            .limit(1)
        )

    pusat, timur = first_tps("DKI Jakarta 1"), first_tps("DKI Jakarta 6")
    for tps in (pusat, timur):
        plan_packets(session, tps.region_code, extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    gudang = UserFactory(role="warehouse", scope_site=session.scalar(select(Site).where(Site.code == "KPU-3171")))
    supervisor = UserFactory(role="supervisor", scope_region_code="31")
    session.commit()
    box = world.box(pusat.code, "DPRD_PROV")
    world.scan(gudang, "commission", box, "KPU-3171")
    stranger = packets_of(session, timur.code, "DPRD_PROV")[0]
    login(client, gudang.username)
    response = pack(client, f"https://jejak.kpu.go.id/00/{box.sscc}", f"(00){stranger.sscc}", site="KPU-3171")
    assert response.status_code == 422 and response.json["reason"] == "wrong_dapil"
    assert response.json["message"] == (
        "Paket ini DPRD Provinsi DKI Jakarta 6, kotak ini DPRD Provinsi DKI Jakarta 1. JANGAN DIMASUKKAN."
    )
    assert session.scalar(select(Packet).where(Packet.box_id == box.id)) is None  # the manifest is unchanged
    assert session.scalar(select(CustodyEvent).where(CustodyEvent.kind == "pack")) is None
    client.post("/logout")
    login(client, supervisor.username)
    alerts = client.get("/api/v1/alerts?kind=wrong_dapil").json["alerts"]
    assert [(a["box"], a["site"], a["actor"]) for a in alerts] == [(box.sscc, "KPU-3171", gudang.username)]
    assert alerts[0]["details"]["packet"] == stranger.sscc


def test_a_packet_of_another_contest_is_refused(client, packets):
    world = packets
    box = world.box(TPS, "DPRD_PROV")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    dpr_ballots = packets_of(world.session, TPS, "DPR")[0]
    login(client, world.gudang.username)
    response = pack(client, box.sscc, dpr_ballots.sscc)
    assert response.status_code == 422 and response.json["reason"] == "wrong_dapil"
    assert (
        response.json["details"]["packet_contest"] == "DPR" and response.json["details"]["box_contest"] == "DPRD_PROV"
    )


def test_packing_fills_the_box_then_it_seals(client, packets):
    world = packets
    box = world.box(TPS, "DPR")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    mine = packets_of(world.session, TPS, "DPR")
    assert len(mine) >= 2 and {p.quantity for p in mine} == {line.quantity for line in box.lines}
    login(client, world.gudang.username)
    answers = [pack(client, box.sscc, packet.sscc) for packet in mine]
    assert [a.status_code for a in answers] == [201] * len(mine)
    assert answers[0].json["message"] == f"Masuk kotak. Masih kurang {len(mine) - 1} paket."
    assert (
        answers[-1].json["message"] == "Masuk kotak. Kotak sudah lengkap: boleh disegel."
        and not answers[-1].json["missing"]
    )
    again = pack(client, box.sscc, mine[0].sscc)
    assert again.status_code == 200 and again.json["verdict"] == "duplicate"
    notes = world.session.scalars(
        select(CustodyEvent.note).where(CustodyEvent.box_id == box.id, CustodyEvent.kind == "pack")
    ).all()
    assert notes == [f"packet {p.sscc}: {p.item_type.code} x{p.quantity}" for p in mine]
    assert world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-9"]).verdict == "accepted"


def test_an_incomplete_box_seals_only_with_its_shortage_noted(client, packets):
    world = packets
    box = world.box(TPS, "DPD")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    login(client, world.gudang.username)
    first = packets_of(world.session, TPS, "DPD")[0]
    assert pack(client, box.sscc, first.sscc).status_code == 201
    refused = world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    assert refused.verdict == "refused" and refused.reason == "incomplete" and refused.details["missing"]
    noted = world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"], note="sampul kurang dari percetakan")
    assert noted.verdict == "accepted"


def test_another_tps_packet_and_a_packet_already_packed_are_refused(client, packets):
    world = packets
    here, there = world.box(TPS, "DPR"), world.box("TPS-3101011001002", "DPR")  # same desa, same DPR dapil
    for box in (here, there):
        world.scan(world.gudang, "commission", box, "KPU-3101")
    theirs = packets_of(world.session, "TPS-3101011001002", "DPR")[0]
    login(client, world.gudang.username)
    wrong = pack(client, here.sscc, theirs.sscc)
    assert wrong.status_code == 422 and wrong.json["reason"] == "wrong_tps"
    assert "JANGAN DIMASUKKAN" in wrong.json["message"]
    assert pack(client, there.sscc, theirs.sscc).status_code == 201
    twice = pack(client, here.sscc, theirs.sscc)
    assert twice.status_code == 422 and twice.json["reason"] == "already_packed"
    kinds = world.session.scalars(select(Alert.kind).order_by(Alert.id)).all()
    assert kinds == ["wrong_tps", "already_packed"]


def test_bad_packing_input_is_refused_and_changes_nothing(client, packets):
    world = packets
    box = world.box(TPS, "DPR")
    packet = packets_of(world.session, TPS, "DPR")[0]
    login(client, world.gudang.username)
    assert client.post("/api/v1/packing", data="{", content_type="application/json").status_code == 400
    assert client.post("/api/v1/packing", json={"box": box.sscc}).status_code == 400
    garbled = pack(client, box.sscc, "hello")
    assert garbled.status_code == 422 and garbled.json["reason"] == "malformed_code"
    not_held = pack(client, box.sscc, packet.sscc)  # the box was never commissioned here
    assert not_held.status_code == 422 and not_held.json["reason"] == "not_held_by_you"
    assert world.session.scalar(select(Packet.box_id).where(Packet.id == packet.id)) is None
    client.post("/logout")
    login(client, world.kurir.username)
    assert pack(client, box.sscc, packet.sscc).status_code == 403


def test_the_packing_station_page(client, packets):
    world = packets
    box = world.box(TPS, "DPR")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    mine = packets_of(world.session, TPS, "DPR")
    login(client, world.gudang.username)
    page = client.get("/packing")
    assert page.status_code == 200 and 'value="KPU-3101"' in page.text
    first = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc, "packet": mine[0].sscc})
    assert "DIKEMAS" in first.text and f"Masih kurang ({len(mine) - 1})" in first.text
    stranger = packets_of(world.session, TPS, "DPD")[0]
    refused = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc, "packet": stranger.sscc})
    assert "DITOLAK" in refused.text and "JANGAN DIMASUKKAN" in refused.text
    for packet in mine[1:]:
        done = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc, "packet": packet.sscc})
    assert "Lengkap: siap disegel" in done.text
    bad = client.post("/packing", data={"site": "KPU-3101", "box": "bukan-label", "packet": mine[0].sscc})
    assert "Bukan label kotak Jejak." in bad.text
    client.post("/logout")
    login(client, world.kurir.username)
    assert client.get("/packing").status_code == 403
