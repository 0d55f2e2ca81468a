"""A site's arrivals: boxes on their way to it and not yet arrived, and those arrived there today (the site's
own local day), grouped by the TPS or PPS each box is for; as the API, the page and the site page show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, true

from tests.conftest import login
from tests.custody.conftest import TPS
from webapp.custody.arrivals import site_arrivals
from webapp.geo.models import Site
from webapp.geo.zones import WIB, WIT, WITA, local_day, province_zone

PPK = "PPK-310101"


def _second_tps(world) -> str:
    """Another TPS of the same kelurahan (its boxes travel through the same PPK)."""
    return world.session.scalar(
        select(Site.code).where(Site.kind == "tps", Site.code.like("TPS-3101011001%"), Site.code != TPS).limit(1)
    )


def _send_to_ppk(world, *boxes) -> None:
    for box in boxes:
        assert world.scan(world.gudang, "commission", box, "KPU-3101").verdict == "accepted"
        assert world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"]).verdict == "accepted"
        assert world.scan(world.gudang, "dispatch", box, "KPU-3101", to=PPK).verdict == "accepted"


def _by_destination(part: dict) -> dict[str, list[str]]:
    return {d["code"]: [b["sscc"] for b in d["boxes"]] for d in part["destinations"]}


def test_boxes_on_their_way_then_arrived_today_grouped_by_destination(client, world, openapi):
    other_tps = _second_tps(world)
    dpr, prov, elsewhere = world.box(contest="DPR"), world.box(), world.box(other_tps, contest="DPR")
    _send_to_ppk(world, dpr, prov, elsewhere)
    courier_box = world.box(contest="DPD")  # on its way to a courier, not to the PPK: not expected there
    world.scan(world.gudang, "commission", courier_box, "KPU-3101")
    login(client, world.ppk.username)

    body = client.get(f"/api/v1/sites/{PPK}/arrivals").json
    openapi("Arrivals", body)
    assert body["site"] == PPK and body["zone"] == "WIB"
    assert body["in_transit"]["count"] == 3 and body["arrived_today"]["count"] == 0
    assert _by_destination(body["in_transit"]) == {TPS: sorted([dpr.sscc, prov.sscc]), other_tps: [elsewhere.sscc]}
    assert [d["count"] for d in body["in_transit"]["destinations"]] == [2, 1]
    assert {b["from"] for d in body["in_transit"]["destinations"] for b in d["boxes"]} == {"KPU-3101"}

    assert world.scan(world.ppk, "receive", prov, PPK).verdict == "accepted"
    body = client.get(f"/api/v1/sites/{PPK}/arrivals").json
    openapi("Arrivals", body)
    assert _by_destination(body["in_transit"]) == {TPS: [dpr.sscc], other_tps: [elsewhere.sscc]}
    assert _by_destination(body["arrived_today"]) == {TPS: [prov.sscc]}
    arrived = body["arrived_today"]["destinations"][0]["boxes"][0]
    assert arrived["status"] == "held" and arrived["at"].endswith("Z") and arrived["from"] is None

    page = client.get(f"/sites/{PPK}/arrivals").get_data(as_text=True)
    on_the_way, arrived_today = page.split('id="in-transit"')[1].split('id="arrived-today"')
    assert dpr.sscc in on_the_way and elsewhere.sscc in on_the_way and prov.sscc not in on_the_way
    assert prov.sscc in arrived_today and dpr.sscc not in arrived_today
    site_page = client.get(f"/sites/{PPK}").get_data(as_text=True)
    assert 'id="in-transit-count">2<' in site_page and 'id="arrived-today-count">1<' in site_page
    assert f'href="/sites/{PPK}/arrivals"' in client.get("/").get_data(as_text=True)  # "Lihat kotak yang akan tiba"


def test_arrived_today_is_the_sites_local_day(world):
    box = world.box()
    _send_to_ppk(world, box)
    world.scan(world.ppk, "receive", box, PPK)
    site = world.session.scalar(select(Site).where(Site.code == PPK))
    today = site_arrivals(world.session, site, true())
    assert [b.sscc for g in today.arrived_today for b, _ in g.boxes] == [box.sscc]
    tomorrow = site_arrivals(world.session, site, true(), now=datetime.now(UTC) + timedelta(days=1))
    assert tomorrow.arrived_today == [] and tomorrow.in_transit == []


def test_each_province_keeps_its_zone_and_its_day():
    assert [province_zone(p) for p in ("31", "12", "61", "51", "73", "64", "81", "91", "96", None)] == [
        WIB,
        WIB,
        WIB,
        WITA,
        WITA,
        WITA,
        WIT,
        WIT,
        WIT,
        WIB,
    ]
    evening = datetime(2029, 2, 13, 16, 30, tzinfo=UTC)  # 23:30 in Jakarta, 00:30 the next day in Makassar
    assert local_day(WIB, evening)[0].day == 13 and local_day(WITA, evening)[0].day == 14
    day, start, end = local_day(WIT, evening)
    assert (day.day, start, end - start) == (14, datetime(2029, 2, 13, 15, 0, tzinfo=UTC), timedelta(days=1))


def test_a_site_outside_the_scope_is_refused(client, world):
    _send_to_ppk(world, world.box())
    for person in (world.other_kpps, world.pps):  # another kecamatan's TPS; a site below the PPK
        login(client, person.username)
        assert client.get(f"/api/v1/sites/{PPK}/arrivals").status_code == 403
        assert client.get(f"/sites/{PPK}/arrivals").status_code == 403
        client.post("/logout")
    assert client.get(f"/api/v1/sites/{PPK}/arrivals").status_code == 401
