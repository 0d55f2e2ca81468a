"""Nothing goes into a sealed box: at the packing station, through POST /api/v1/packing and as a `pack` scan,
a packet scanned into a box closed by its seals is refused with a sentence saying it must be opened first,
and nothing is written (the packet stays out, no event, no alert at the table)."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import login
from tests.custody.conftest import TPS
from tests.custody.test_packing import pack, packets, packets_of  # noqa: F401  (packets: a fixture)
from webapp.boxes.models import Box, Packet
from webapp.custody.models import Alert, CustodyEvent

SEALED = (
    "Kotak ini sudah disegel: tidak boleh ada yang dimasukkan. Kotak harus dibuka dulu, dengan alasan yang "
    "dicatat, sebelum ada yang dimasukkan."
)


def _sealed_with_one_packet_short(world, client):
    """A DPD box packed with one packet at the warehouse and sealed with the shortage noted; the packets left."""
    box = world.box(TPS, "DPD")
    world.scan(world.gudang, "commission", box, "KPU-3101")
    first, *rest = packets_of(world.session, TPS, "DPD")
    assert rest, "the DPD box is planned with more than one packet"
    login(client, world.gudang.username)
    assert pack(client, box.sscc, first.sscc).status_code == 201
    sealed = world.scan(world.gudang, "seal", box, "KPU-3101", seals=["SG-7"], note="sampul kurang")
    assert sealed.verdict == "accepted"
    return box, rest


def _written(world, box) -> tuple[int, int, list]:
    session = world.session
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(CustodyEvent).where(CustodyEvent.box_id == box.id)),
        session.scalar(select(func.count()).select_from(Alert)),
        session.scalars(select(Packet.sscc).where(Packet.box_id == box.id)).all(),
    )


def test_a_packet_into_a_sealed_box_is_refused_through_the_api_and_nothing_is_written(client, packets):  # noqa: F811
    world = packets
    box, left_out = _sealed_with_one_packet_short(world, client)
    before = _written(world, box)
    refused = pack(client, box.sscc, left_out[0].sscc)
    assert refused.status_code == 422
    assert refused.json["verdict"] == "refused" and refused.json["reason"] == "box_sealed"
    assert refused.json["message"] == SEALED
    assert _written(world, box) == before  # no event, no alert, the packet still out of the box
    assert world.session.get(Box, box.id).status == "sealed"


def test_the_packing_station_refuses_a_packet_into_a_sealed_box(client, packets):  # noqa: F811
    world = packets
    box, left_out = _sealed_with_one_packet_short(world, client)
    before = _written(world, box)
    page = client.post("/packing", data={"site": "KPU-3101", "box": box.sscc, "packet": left_out[0].sscc})
    assert page.status_code == 200
    verdict = page.text.split('id="pack-verdict"')[1].split("</section>")[0]
    assert "DITOLAK" in verdict and SEALED in verdict
    assert _written(world, box) == before


def test_a_pack_scan_of_a_sealed_box_is_refused_by_the_ledger(client, packets):  # noqa: F811
    world = packets
    box, _ = _sealed_with_one_packet_short(world, client)
    again = world.scan(world.gudang, "pack", box, "KPU-3101")
    assert (again.verdict, again.reason) == ("refused", "box_sealed")
    world.session.expire_all()
    assert world.session.get(Box, box.id).status == "sealed"
    kinds = world.session.scalars(select(CustodyEvent.kind).where(CustodyEvent.box_id == box.id)).all()
    assert kinds == ["commission", "pack", "seal"]


def test_another_tps_packet_at_a_sealed_box_is_still_caught_as_misdelivered(client, packets):  # noqa: F811
    """The packet's own problem comes first: another TPS's packet is refused and kept as an alert, sealed
    box or not (the misdelivery packing exists to catch)."""
    world = packets
    box, _ = _sealed_with_one_packet_short(world, client)
    theirs = packets_of(world.session, "TPS-3101011001002", "DPD")[0]
    refused = pack(client, box.sscc, theirs.sscc)
    assert refused.status_code == 422 and refused.json["reason"] == "wrong_tps"
    assert world.session.scalars(select(Alert.kind)).all() == ["wrong_tps"]
