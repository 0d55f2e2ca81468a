"""Sealing is a step a person does: a ballot box leaves only sealed (at the packing table, or resealed after
the count), a printer's carton travels as its printer closed it, and the packing station seals a box with
the seal numbers a person gives it."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import TPS
from tests.custody.test_cartons import deliver, intake, order  # noqa: F401  (intake: a fixture)
from tests.custody.test_packing import packets, packets_of  # noqa: F401  (packets: a fixture)
from webapp.custody.models import Alert, CustodyEvent
from webapp.geo.models import Site
from webapp.pwa.cache import offline_cache

NOT_SEALED = (
    "Kotak belum disegel: segel dulu di meja pengepakan (atau segel ulang setelah penghitungan) sebelum dikirim."
)


def test_an_unsealed_ballot_box_is_refused_for_dispatch_and_goes_once_sealed(client, world, openapi):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    login(client, world.gudang.username)
    body = {
        "id": "6f1c2b9e-8f0e-4a57-9d52-2a9d3e1b7c01",
        "code": box.sscc,
        "action": "dispatch",
        "site": "KPU-3101",
        "to": "PPK-310101",
        "scanned_at": "2026-11-20T08:00:00+07:00",
        "device_id": "hp-1",
        "device_seq": 1,
    }
    refused = client.post("/api/v1/scans", json=body)
    assert refused.status_code == 422 and refused.json["reason"] == "not_sealed"
    assert refused.json["message"] == NOT_SEALED
    openapi("ScanResult", refused.json)  # the reason is one the API document names
    world.session.expire_all()
    assert box.status == "commissioned" and box.holder_site.code == "KPU-3101"  # nothing moved
    assert world.session.scalar(select(Alert.kind).where(Alert.kind == "not_sealed")) == "not_sealed"
    assert world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1", "S-2"]).verdict == "accepted"
    sent = world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310101")
    assert sent.verdict == "accepted" and box.status == "in_transit" and box.seals == ["S-1", "S-2"]


def test_a_box_opened_for_the_count_leaves_the_tps_only_resealed(world):
    box = world.box()
    world.to_tps(box)
    assert world.scan(world.kpps, "open", box, TPS).verdict == "accepted"
    refused = world.scan(world.kpps, "dispatch", box, TPS, to="PPS-3101011001")
    assert (refused.verdict, refused.reason) == ("refused", "not_sealed")
    assert world.scan(world.kpps, "reseal", box, TPS, seals=["R-1"]).verdict == "accepted"
    assert world.scan(world.kpps, "dispatch", box, TPS, to="PPS-3101011001").verdict == "accepted"


def test_a_printers_carton_still_travels_without_seals(intake):  # noqa: F811
    world = intake
    [carton] = order(world, count=1)
    deliver(world, [carton], open_first=False)  # printer > carrier > warehouse, every dispatch accepted
    assert carton.seals in (None, []) and carton.holder_site.code == "KPU-3101"


def test_the_phone_knows_which_boxes_may_travel(world):
    sealed, unsealed, opened = world.box(), world.box(contest="DPR"), world.box(contest="DPD")
    world.scan(world.gudang, "commission", unsealed, "KPU-3101")
    world.scan(world.gudang, "commission", sealed, "KPU-3101")
    world.scan(world.gudang, "seal", sealed, "KPU-3101", seals=["S-1"])
    world.to_tps(opened)
    world.scan(world.kpps, "open", opened, TPS)
    site = world.session.scalar(select(Site).where(Site.code == "KPU-3101"))
    cache = offline_cache(world.session, site)
    rows = {row[0]: dict(zip(cache["fields"], row, strict=True)) for row in cache["boxes"]}
    assert rows[sealed.sscc]["sealed"] is True
    assert rows[unsealed.sscc]["sealed"] is False
    assert rows[opened.sscc]["sealed"] is False  # opened for the count: its seals are broken


# --- the packing station ------------------------------------------------------------------------


def station(client, box: str, **fields):
    return client.post("/packing", data={"site": "KPU-3101", "box": box, "step": "seal", **fields})


def test_the_packing_station_seals_a_complete_box_with_its_seal_numbers(client, packets):  # noqa: F811
    world = packets
    box = world.box(TPS, "DPR")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    login(client, world.gudang.username)
    for packet in packets_of(world.session, TPS, "DPR"):
        page = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc, "packet": packet.sscc})
    assert "Lengkap: siap disegel" in page.text and 'id="seal-form"' in page.text
    bad = station(client, box.sscc, seals="SG-001, segel#2")
    assert "Isi nomor segel, dipisahkan koma" in bad.text and 'id="seal-verdict"' not in bad.text
    sealed = station(client, box.sscc, seals="SG-001, SG-002 SG-001")
    assert "DISEGEL" in sealed.text and "siap dikirim" in sealed.text and "SG-001, SG-002" in sealed.text
    events = world.session.execute(
        select(CustodyEvent.kind, CustodyEvent.seals).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.id)
    ).all()
    assert [kind for kind, _ in events].count("seal") == 1 and events[-1] == ("seal", ["SG-001", "SG-002"])
    again = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc})
    assert 'id="sealed"' in again.text and 'id="seal-form"' not in again.text


def test_the_packing_station_seals_an_incomplete_box_only_with_the_shortage_noted(client, packets):  # noqa: F811
    world = packets
    box = world.box(TPS, "DPD")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    login(client, world.gudang.username)
    first = packets_of(world.session, TPS, "DPD")[0]
    page = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc, "packet": first.sscc})
    assert "hanya dapat disegel dengan alasan kekurangan" in page.text
    refused = station(client, box.sscc, seals="SG-010")
    assert "TIDAK DISEGEL" in refused.text and "Kotak belum lengkap" in refused.text
    assert world.session.scalar(select(CustodyEvent).where(CustodyEvent.kind == "seal")) is None
    noted = station(client, box.sscc, seals="SG-010", note="sampul kurang dari percetakan")
    assert "DISEGEL" in noted.text
    note = world.session.scalar(select(CustodyEvent.note).where(CustodyEvent.kind == "seal"))
    assert note == "sampul kurang dari percetakan"
