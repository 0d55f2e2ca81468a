"""What is expected at a site, in people's words: the arrivals API names each box's contest as on its
ballot and its dapil by name (in the request's language), and a printer's carton by the item it holds,
beside the codes; the arrivals page and the site page show names, never the internal codes."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import TPS
from tests.custody.test_arrivals import PPK, _send_to_ppk
from tests.custody.test_cartons import WAREHOUSE, intake, order  # noqa: F401  (intake: a fixture)
from webapp.boxes.models import Box
from webapp.geo.models import Site

CODES = re.compile(r"DPRD_PROV|DPRD_KAB|SURAT_SUARA_|PRESIDEN")


def visible_text(html: str) -> str:
    """The words a person reads on a page: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _boxes(body: dict, part: str) -> dict[str, dict]:
    return {box["sscc"]: box for d in body[part]["destinations"] for box in d["boxes"]}


def test_the_arrivals_api_names_contests_and_dapil_in_the_persons_language(client, world):
    prov, dpr = world.box(contest="DPRD_PROV"), world.box(contest="DPR")
    _send_to_ppk(world, prov, dpr)
    login(client, world.ppk.username)

    boxes = _boxes(client.get(f"/api/v1/sites/{PPK}/arrivals").json, "in_transit")
    assert boxes[prov.sscc]["contest"] == "DPRD_PROV"  # the code stays, for the machines
    assert boxes[prov.sscc]["contest_name"] == "DPRD Provinsi"
    assert boxes[prov.sscc]["dapil"] == prov.dapil.name and not CODES.search(prov.dapil.name)
    assert (boxes[dpr.sscc]["contest_name"], boxes[dpr.sscc]["dapil"]) == ("DPR", dpr.dapil.name)
    assert boxes[prov.sscc]["item"] is None

    client.post("/lang", data={"lang": "en"})
    english = _boxes(client.get(f"/api/v1/sites/{PPK}/arrivals").json, "in_transit")
    assert english[prov.sscc]["contest_name"] == "DPRD Province"


def test_a_printers_carton_on_its_way_is_named_by_the_item_it_holds(client, intake):  # noqa: F811
    world = intake
    carton = order(world, count=1)[0]
    for actor, action, site, extra in (
        (world.printer, "commission", "PRN-1", {}),
        (world.printer, "dispatch", "PRN-1", {"to": f"courier:{world.carrier.username}"}),
        (world.carrier, "receive", "PRN-1", {}),
        (world.carrier, "dispatch", WAREHOUSE, {"to": WAREHOUSE}),
    ):
        assert world.scan(actor, action, carton, site, **extra).verdict == "accepted", (action, site)
    login(client, world.gudang.username)

    box = _boxes(client.get(f"/api/v1/sites/{WAREHOUSE}/arrivals").json, "in_transit")[carton.sscc]
    assert box["contest"] is None and box["contest_name"] is None
    assert box["item"] == "Surat suara DPRD Provinsi" and box["dapil"] == carton.dapil.name

    page = visible_text(client.get(f"/sites/{WAREHOUSE}/arrivals").text)
    assert f"{carton.sscc} Surat suara DPRD Provinsi {carton.dapil.name}" in page
    assert not CODES.search(page)


def test_the_arrivals_page_and_the_site_page_show_names_not_codes(client, world):
    prov = world.box(contest="DPRD_PROV")
    _send_to_ppk(world, prov)
    login(client, world.ppk.username)

    arrivals = visible_text(client.get(f"/sites/{PPK}/arrivals").text)
    assert f"{prov.sscc} DPRD Provinsi {prov.dapil.name}" in arrivals
    assert not CODES.search(arrivals)

    tps = world.session.scalar(select(Site).where(Site.code == TPS))
    page = visible_text(client.get(f"/sites/{TPS}").text)
    for link in tps.dapils:  # the TPS votes in one dapil per contest: each by its name
        assert link.dapil.name in page and link.dapil.code not in page
    assert "Dapil DPRD Provinsi" in page and not CODES.search(page)
    bound = world.session.scalar(select(Box).where(Box.sscc == prov.sscc))
    assert f"{bound.sscc} DPRD Provinsi {bound.dapil.name}" in page  # "Boxes bound for this site"
