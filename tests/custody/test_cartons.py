"""Vendor intake and stock: a printer's cartons travel printer > courier > warehouse through the ledger,
are opened at the packing table, every packet names the carton it was counted from, and the
warehouse's stock (received - packed - damaged) is held against its needs."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import login
from tests.custody.conftest import TPS
from tests.custody.test_packing import packets_of
from tests.factories import UserFactory
from webapp.boxes.cartons import CartonOrder, OrderProblem, order_cartons
from webapp.boxes.models import Box, Packet
from webapp.boxes.packing import plan_packets
from webapp.custody.models import Alert, CustodyEvent
from webapp.geo.models import Dapil, Site, TpsDapil
from webapp.planning.models import ItemType
from webapp.planning.needs import compute_needs, needs_by_dapil
from webapp.planning.stock import region_stock, warehouse_stock

WAREHOUSE = "KPU-3101"


@pytest.fixture
def intake(world):
    """The custody world plus the printer's desk, its carrier, and the packets of Kepulauan Seribu."""
    session = world.session
    plan_packets(session, "31.01", extension=0, company_prefix=TestConfig.GS1_COMPANY_PREFIX)
    world.printer = UserFactory(role="warehouse", scope_site=session.scalar(select(Site).where(Site.code == "PRN-1")))
    world.carrier = UserFactory(role="courier")  # national scope: the printer's carrier
    session.commit()
    return world


def dapil_of(session, tps: str, contest: str) -> Dapil:
    site = session.scalar(select(Site).where(Site.code == tps))
    return session.scalar(
        select(Dapil)
        .join(TpsDapil, TpsDapil.dapil_id == Dapil.id)
        .where(TpsDapil.site_id == site.id, TpsDapil.contest == contest)
    )


def order(world, *, item="SURAT_SUARA_DPRD_PROV", dapil=None, per_carton=1000, count=2, ref="SPK-7") -> list[Box]:
    session = world.session
    if dapil is None and item.startswith("SURAT_SUARA_") and item != "SURAT_SUARA_PRESIDEN":
        dapil = dapil_of(session, TPS, item.removeprefix("SURAT_SUARA_")).code
    cartons = order_cartons(
        session,
        CartonOrder("PRN-1", WAREHOUSE, item, dapil, per_carton, count, ref),
        actor=world.printer,
        extension=0,
        company_prefix=TestConfig.GS1_COMPANY_PREFIX,
    )
    session.commit()
    return cartons


def deliver(world, cartons: list[Box], *, arrive: bool = True, open_first: bool = True) -> None:
    """Commission at the printer, hand to the carrier, carry to the warehouse, receive, open the first."""
    for carton in cartons:
        steps = [
            (world.printer, "commission", "PRN-1", {}),
            (world.printer, "dispatch", "PRN-1", {"to": f"courier:{world.carrier.username}"}),
            (world.carrier, "receive", "PRN-1", {}),
        ]
        if arrive:
            steps += [
                (world.carrier, "dispatch", WAREHOUSE, {"to": WAREHOUSE}),
                (world.gudang, "receive", WAREHOUSE, {}),
            ]
        for actor, action, site, extra in steps:
            result = world.scan(actor, action, carton, site, **extra)
            assert result.verdict == "accepted", (action, site, result)
    if arrive and open_first:
        assert world.scan(world.gudang, "open", cartons[0], WAREHOUSE).verdict == "accepted"


def packet_for(world, contest="DPRD_PROV", tps=TPS) -> Packet:
    return packets_of(world.session, tps, contest)[0]


# --- ordering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"dapil": ""}, "dapil", "dapil_required"),
        ({"dapil": "DPR-31-01"}, "dapil", "dapil_not_of_item"),  # a DPR dapil for DPRD ballots
        ({"item": "SEGEL", "dapil": "DPRD_PROV-31-01"}, "dapil", "dapil_not_wanted"),
        ({"warehouse": "PPK-310101"}, "warehouse", "not_a_warehouse"),
        ({"printer": "KPU-3101"}, "printer", "not_a_printer"),
        ({"order_ref": "SPK 7; DROP"}, "order_ref", "bad_order_ref"),
        ({"count": 0}, "count", "out_of_range"),
        ({"per_carton": 10**6}, "per_carton", "out_of_range"),
    ],
)
def test_a_bad_order_is_refused_with_the_field_and_reason_and_creates_nothing(intake, changes, field, code):
    session = intake.session
    fields = {
        "printer": "PRN-1",
        "warehouse": WAREHOUSE,
        "item": "SURAT_SUARA_DPRD_PROV",
        "dapil": dapil_of(session, TPS, "DPRD_PROV").code,
        "per_carton": 500,
        "count": 3,
        "order_ref": "SPK-7",
    } | changes
    before = session.scalar(select(func.count()).select_from(Box))
    with pytest.raises(OrderProblem) as problem:
        order_cartons(session, CartonOrder(**fields), actor=intake.printer, extension=0, company_prefix="0614141")
    assert (problem.value.field, problem.value.code) == (field, code)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Box)) == before


def test_ballots_for_a_dapil_the_warehouse_does_not_serve_are_refused(intake, app):
    """Jakarta Timur's DPRD dapil 6 ballots ordered for the Kepulauan Seribu warehouse: the swap, at the order."""
    from webapp.geo.models import Region
    from webapp.geo.seed import ensure_dapil, ensure_regions

    session = intake.session
    ensure_regions(session)
    ensure_dapil(session, session.get(Region, "31"), [session.get(Region, "31.75")])  # its dapil, not its TPS
    session.commit()
    with pytest.raises(OrderProblem) as problem:
        order(intake, dapil="DPRD_PROV-31-06")
    assert problem.value.code == "dapil_not_served"


def test_only_the_printer_s_own_staff_commission_its_cartons(intake):
    with pytest.raises(OrderProblem) as problem:
        order_cartons(
            intake.session,
            CartonOrder("PRN-1", WAREHOUSE, "SEGEL", None, 100, 1, "SPK-1"),
            actor=intake.gudang,  # the warehouse's staff, not the printer's
            extension=0,
            company_prefix="0614141",
        )
    assert problem.value.code == "forbidden"


def test_the_order_page_shows_a_bad_order_s_reason_next_to_its_field(client, intake):
    login(client, intake.printer.username)
    page = client.post(
        "/cartons",
        data={
            "printer": "PRN-1",
            "warehouse": WAREHOUSE,
            "item": "SURAT_SUARA_DPRD_PROV",
            "dapil": "",
            "per_carton": "500",
            "count": "3",
            "order_ref": "spk-7",
        },
    )
    assert page.status_code == 200
    assert "Surat suara dicetak per dapil: isi kode dapilnya." in page.text
    assert intake.session.scalar(select(func.count()).select_from(Box).where(Box.order_ref.is_not(None))) == 0


# --- printer > courier > warehouse > packing table ----------------------------------------------


def test_printing_an_order_s_labels_commissions_its_cartons_at_the_printer(client, intake):
    login(client, intake.printer.username)
    dapil = dapil_of(intake.session, TPS, "DPRD_PROV").code
    response = client.post(
        "/cartons",
        data={
            "printer": "PRN-1",
            "warehouse": WAREHOUSE,
            "item": "SURAT_SUARA_DPRD_PROV",
            "dapil": dapil.lower(),
            "per_carton": "500",
            "count": "3",
            "order_ref": "spk-7",
        },
    )
    assert response.status_code == 302 and response.location.endswith("/cartons/orders/SPK-7")
    page = client.get("/cartons/orders/SPK-7")
    assert page.status_code == 200 and page.text.count("/boxes/") == 3
    pdf = client.post("/cartons/orders/SPK-7/labels", data={"format": "thermal"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    cartons = intake.session.scalars(select(Box).where(Box.order_ref == "SPK-7").order_by(Box.id)).all()
    assert [(c.kind, c.status, c.holder_site.code, c.destination.code) for c in cartons] == [
        ("vendor_carton", "commissioned", "PRN-1", WAREHOUSE)
    ] * 3
    assert [c.lines[0].quantity for c in cartons] == [500, 500, 500]
    client.post("/cartons/orders/SPK-7/labels", data={"format": "a4"})
    notes = intake.session.scalars(
        select(CustodyEvent.note).where(CustodyEvent.box_id == cartons[0].id).order_by(CustodyEvent.box_seq)
    ).all()
    assert notes == ["label printed", "REPRINT 1"]


def test_a_carton_s_labels_decode_to_its_sscc_and_name_the_order(intake):
    from tests.labels.test_labels import decoded, render
    from webapp.labels.services import carton_label_specs

    cartons = order(intake, count=2)
    printer = intake.session.scalar(select(Site).where(Site.code == "PRN-1"))
    qr, linear, texts = decoded(render(carton_label_specs(cartons, "https://jejak.example", printer), "thermal"))
    assert qr == [f"https://jejak.example/00/{c.sscc}" for c in cartons]
    assert linear == [f"(00){c.sscc}" for c in cartons]
    for expected in ("KPU-3101", "Pesanan SPK-7", "Dari Percetakan Surat Suara 1", "1.000 lembar", "Karton 2 dari 2"):
        assert expected in texts[1]


def test_a_carton_is_opened_only_by_the_warehouse_that_received_it(intake):
    world = intake
    cartons = order(world, count=2)
    deliver(world, cartons[:1], arrive=False)  # with the carrier
    refused = world.scan(world.gudang, "open", cartons[0], WAREHOUSE)
    assert (refused.verdict, refused.reason) == ("refused", "not_held_by_you")
    deliver(world, cartons[1:], open_first=False)
    by_officer = world.scan(world.ppk, "open", cartons[1], "PPK-310101")
    assert (by_officer.verdict, by_officer.reason) == ("refused", "forbidden")
    opened = world.scan(world.gudang, "open", cartons[1], WAREHOUSE)
    assert opened.verdict == "accepted"
    world.session.refresh(cartons[1])
    assert cartons[1].status == "opened"


def test_a_warehouse_officer_cannot_open_a_tps_ballot_box(intake):
    world = intake
    box = world.box()
    world.scan(world.gudang, "commission", box, WAREHOUSE)
    result = world.scan(world.gudang, "open", box, WAREHOUSE)
    assert (result.verdict, result.reason) == ("refused", "forbidden")


def test_a_tps_box_s_history_reaches_back_to_the_printer_through_its_packet_s_carton(client, intake):
    world = intake
    cartons = order(world)
    deliver(world, cartons)
    box = world.box()
    world.scan(world.gudang, "commission", box, WAREHOUSE)
    packet = packet_for(world)
    login(client, world.gudang.username)
    body = {
        "box": box.sscc,
        "packet": packet.sscc,
        "carton": f"(00){cartons[0].sscc}",
        "site": WAREHOUSE,
        "device_id": "meja-1",
        "device_seq": 1,
    }
    response = client.post("/api/v1/packing", json=body)
    assert response.status_code == 201, response.json
    world.session.expire_all()
    packet = world.session.get(Packet, packet.id)
    assert (packet.box_id, packet.carton_id) == (box.id, cartons[0].id)
    note = world.session.scalar(select(CustodyEvent.note).where(CustodyEvent.id == packet.packed_event_id))
    assert note.endswith(f"from carton {cartons[0].sscc}")  # hashed into the box's chain
    client.post("/logout")
    login(client, world.supervisor.username)
    trace = client.get(f"/boxes/{box.sscc}").text
    assert f"/boxes/{cartons[0].sscc}" in trace and "dihitung dari karton percetakan" in trace
    carton_trace = client.get(f"/boxes/{cartons[0].sscc}").text
    assert f"/boxes/{box.sscc}" in carton_trace  # and from the carton down to the box
    first = world.session.scalar(
        select(CustodyEvent).where(CustodyEvent.box_id == cartons[0].id).order_by(CustodyEvent.box_seq).limit(1)
    )
    assert (first.kind, first.site.code, first.actor.username) == ("commission", "PRN-1", world.printer.username)


def test_a_packet_counted_from_a_carton_of_another_dapil_is_refused_and_kept_as_an_alert(
    client, intake, app, jakarta_timur
):
    """Jakarta Timur: DPRD DKI 6 ballots counted into a DKI 5 TPS's packet, the neighbours' swap of 2024."""
    world, session = intake, intake.session
    tps = session.scalar(
        select(Site)
        .join(TpsDapil, TpsDapil.site_id == Site.id)
        .join(Dapil, Dapil.id == TpsDapil.dapil_id)
        .where(TpsDapil.contest == "DPRD_PROV", Dapil.code == "DPRD_PROV-31-05")
        .order_by(Site.code)
        .limit(1)
    )
    plan_packets(session, tps.region_code, extension=0, company_prefix="0614141")
    gudang = UserFactory(role="warehouse", scope_site=session.scalar(select(Site).where(Site.code == "KPU-3175")))
    session.commit()
    cartons = order_cartons(
        session,
        CartonOrder("PRN-1", "KPU-3175", "SURAT_SUARA_DPRD_PROV", "DPRD_PROV-31-06", 1000, 1, "SPK-6"),
        actor=world.printer,
        extension=0,
        company_prefix="0614141",
    )
    session.commit()
    steps = [
        (world.printer, "commission", "PRN-1", {}),
        (world.printer, "dispatch", "PRN-1", {"to": f"courier:{world.carrier.username}"}),
        (world.carrier, "receive", "PRN-1", {}),
        (world.carrier, "dispatch", "KPU-3175", {"to": "KPU-3175"}),
        (gudang, "receive", "KPU-3175", {}),
        (gudang, "open", "KPU-3175", {}),
    ]
    for actor, action, site, extra in steps:
        assert world.scan(actor, action, cartons[0], site, **extra).verdict == "accepted", action
    box = world.box(tps.code)
    world.scan(gudang, "commission", box, "KPU-3175")
    packet = packet_for(world, tps=tps.code)
    login(client, gudang.username)
    body = {"box": box.sscc, "packet": packet.sscc, "carton": cartons[0].sscc, "site": "KPU-3175"}
    response = client.post("/api/v1/packing", json=body | {"device_id": "meja-1", "device_seq": 1})
    assert response.status_code == 422 and response.json["reason"] == "wrong_dapil"
    assert response.json["message"] == (
        "Paket ini DPRD Provinsi DKI Jakarta 5, karton ini berisi DKI Jakarta 6. JANGAN DIHITUNG DARI KARTON INI."
    )
    session.expire_all()
    assert session.get(Packet, packet.id).box_id is None
    alert = session.scalar(select(Alert).where(Alert.kind == "wrong_dapil"))
    assert alert.details["carton"] == cartons[0].sscc and alert.details["packet"] == packet.sscc


def test_a_carton_of_another_item_or_with_too_little_left_is_refused(client, intake):
    world = intake
    envelopes = order(world, item="SAMPUL_DPRD_PROV", ref="SPK-8", count=1)
    small = order(world, per_carton=10, ref="SPK-9", count=1)
    deliver(world, envelopes)
    deliver(world, small)
    box = world.box()
    world.scan(world.gudang, "commission", box, WAREHOUSE)
    packet = packet_for(world)
    login(client, world.gudang.username)
    for carton, reason in ((envelopes[0], "wrong_item"), (small[0], "carton_short")):
        body = {"box": box.sscc, "packet": packet.sscc, "carton": carton.sscc, "site": WAREHOUSE}
        response = client.post("/api/v1/packing", json=body | {"device_id": "meja-1", "device_seq": 1})
        assert response.status_code == 422 and response.json["reason"] == reason
    assert "hanya tersisa 10" in response.json["message"]
    unopened = order(world, ref="SPK-10", count=1)
    deliver(world, unopened, open_first=False)
    body = {"box": box.sscc, "packet": packet.sscc, "carton": unopened[0].sscc, "site": WAREHOUSE}
    response = client.post("/api/v1/packing", json=body | {"device_id": "meja-1", "device_seq": 2})
    assert response.json["reason"] == "carton_not_open"
    world.session.expire_all()
    assert world.session.get(Packet, packet.id).box_id is None


def test_the_packing_page_opens_a_carton_then_counts_packets_from_it(client, intake):
    world = intake
    cartons = order(world)
    deliver(world, cartons, open_first=False)
    box = world.box()
    world.scan(world.gudang, "commission", box, WAREHOUSE)
    packet = packet_for(world)
    login(client, world.gudang.username)
    opened = client.post("/packing", data={"site": WAREHOUSE, "carton": cartons[0].sscc})
    assert "KARTON DIBUKA" in opened.text and "1.000 dari 1.000" in opened.text
    form = {"site": WAREHOUSE, "carton": cartons[0].sscc, "box": box.sscc, "packet": packet.sscc}
    packed = client.post("/packing", data=form)
    assert "DIKEMAS" in packed.text
    assert f"{1000 - packet.quantity:,}".replace(",", ".") + " dari 1.000" in packed.text
    world.session.expire_all()
    assert world.session.get(Packet, packet.id).carton_id == cartons[0].id
    opens = world.session.scalar(
        select(func.count()).where(CustodyEvent.box_id == cartons[0].id, CustodyEvent.kind == "open")
    )
    assert opens == 1  # scanning the open carton again only selects it


# --- stock against needs ------------------------------------------------------------------------


def test_stock_is_received_minus_packed_minus_damaged_and_shortages_stand_out(client, intake):
    world = intake
    session = world.session
    dapil = dapil_of(session, TPS, "DPRD_PROV")
    cartons = order(world, per_carton=1000, count=4)
    deliver(world, cartons[:3])  # three arrive (the first opened), one stays with the carrier
    deliver(world, cartons[3:], arrive=False)
    order(world, per_carton=1000, count=2, ref="SPK-11")[0]  # still at the printer, not even labelled
    at_printer = order(world, per_carton=1000, count=1, ref="SPK-12")
    world.scan(world.printer, "commission", at_printer[0], "PRN-1")
    box = world.box()
    world.scan(world.gudang, "commission", box, WAREHOUSE)
    packet = packet_for(world)
    login(client, world.gudang.username)
    body = {"box": box.sscc, "packet": packet.sscc, "carton": cartons[0].sscc, "site": WAREHOUSE}
    assert client.post("/api/v1/packing", json=body | {"device_id": "m", "device_seq": 1}).status_code == 201
    assert world.scan(world.gudang, "damage", cartons[0], WAREHOUSE, note="rain").verdict == "accepted"
    warehouse = session.scalar(select(Site).where(Site.code == WAREHOUSE))
    item = session.scalar(select(ItemType).where(ItemType.code == "SURAT_SUARA_DPRD_PROV"))
    row = next(r for r in warehouse_stock(session, warehouse) if r.item.id == item.id and r.dapil.id == dapil.id)
    assert (row.received, row.packed, row.damaged) == (3000, packet.quantity, 1000 - packet.quantity)
    assert row.on_hand == 2000 and row.on_the_way == 1000 and row.ordered == 1000
    assert row.need == needs_by_dapil(session, "31.01")[(item.id, dapil.id)]
    assert row.shortage == max(0, row.need - packet.quantity - 2000 - 1000)
    assert row.shortage > 0  # Kepulauan Seribu's dapil needs more than 4,000 ballots with its PSU reserve
    page = client.get(f"/stock/{WAREHOUSE}")
    assert page.status_code == 200 and 'tbody class="short"' in page.text and 'id="shortages"' in page.text
    rows = list(csv.reader(io.StringIO(client.get(f"/stock/{WAREHOUSE}.csv").text)))
    line = next(r for r in rows if r[0] == item.code and r[1] == dapil.code)
    assert [int(x) for x in line[2:]] == [
        row.need,
        1000,
        1000,
        3000,
        packet.quantity,
        1000 - packet.quantity,
        2000,
        row.shortage,
    ]


def test_needs_by_dapil_add_up_to_the_region_s_needs_and_psu_reserve(intake):
    session = intake.session
    needs = compute_needs(session, "31.01")
    by_dapil = needs_by_dapil(session, "31.01")
    items = {item.id: item.code for item in session.scalars(select(ItemType))}
    summed: dict[str, int] = {}
    for (item_id, _dapil), quantity in by_dapil.items():
        summed[items[item_id]] = summed.get(items[item_id], 0) + quantity
    expected = {code: quantity + needs.psu.get(code, 0) for code, quantity in needs.total.items.items()}
    assert summed == expected


def test_stock_pages_are_scoped_to_the_user_s_warehouses(client, intake, app, jakarta_timur):
    login(client, intake.gudang.username)
    assert client.get("/stock").location.endswith(f"/stock/{WAREHOUSE}")
    assert client.get("/stock/KPU-3175").status_code == 403
    assert client.get("/stock/PPK-310101").status_code == 404
    assert client.get("/stock/NOPE").status_code == 404


def test_flask_cartons_order_creates_commissions_and_prints_an_order(intake, runner, tmp_path):
    dapil = dapil_of(intake.session, TPS, "DPRD_PROV").code
    args = ["cartons", "order", "--printer", "PRN-1", "--warehouse", WAREHOUSE, "--item", "surat_suara_dprd_prov"]
    args += ["--per-carton", "500", "--cartons", "2", "--ref", "spk-20", "--by", intake.printer.username]
    refused = runner.invoke(args=args)
    assert refused.exit_code == 2 and "--dapil" in refused.output and "dapil required" in refused.output
    out = tmp_path / "cartons.pdf"
    result = runner.invoke(args=[*args, "--dapil", dapil, "--out", str(out), "--format", "thermal"])
    assert result.exit_code == 0, result.output
    assert "2 carton labels (thermal) written" in result.output and out.read_bytes().startswith(b"%PDF")
    intake.session.expire_all()
    cartons = intake.session.scalars(select(Box).where(Box.order_ref == "SPK-20")).all()
    assert [(c.status, c.holder_site.code) for c in cartons] == [("commissioned", "PRN-1")] * 2


def test_a_region_s_stock_sums_its_warehouses_against_all_its_tps(client, intake):
    world = intake
    session = world.session
    dapil = dapil_of(session, TPS, "DPRD_PROV")
    deliver(world, order(world, per_carton=1000, count=2), open_first=False)
    item = session.scalar(select(ItemType).where(ItemType.code == "SURAT_SUARA_DPRD_PROV"))

    def line(rows):
        return next(r for r in rows if r.item.id == item.id and r.dapil and r.dapil.id == dapil.id)

    warehouse = session.scalar(select(Site).where(Site.code == WAREHOUSE))
    kab, at_warehouse = line(region_stock(session, "31.01")), line(warehouse_stock(session, warehouse))
    assert (kab.received, kab.need) == (at_warehouse.received, at_warehouse.need) == (2000, kab.need)
    province = line(region_stock(session, "31"))  # KPU-31 holds nothing yet; DKI's TPS need far more
    assert province.received == 2000 and province.need == needs_by_dapil(session, "31")[(item.id, dapil.id)]
    assert line(region_stock(session, "")).received == 2000  # the whole country: every warehouse
    login(client, world.supervisor.username)
    page = client.get("/stock/31.01")
    assert page.status_code == 200 and "semua gudang" in page.text
    rows = list(csv.reader(io.StringIO(client.get("/stock/31.01.csv").text)))
    assert any(r[0] == item.code and r[1] == dapil.code and r[5] == "2000" for r in rows)
    assert client.get("/stock/31").status_code == 403  # the province is beyond a kab/kota supervisor
    assert 'href="/stock/31.01"' in client.get("/stock").text
