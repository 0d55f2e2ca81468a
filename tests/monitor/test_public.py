"""The public box page at the Digital Link URL (/00/SSCC): genuine or not, where it is bound, its last
handover; no names, no GPS, no seals, no manifest; a plain 404 for anything else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import login
from tests.custody.conftest import TPS


def test_anyone_sees_that_a_delivered_box_is_genuine_and_nothing_private(client, world):
    box = world.box()
    world.to_tps(box)
    world.scan(world.kpps, "inspect", box, TPS, note="rahasia catatan", lat=Decimal("-5.1"), lon=Decimal("106.5"))
    page = client.get(f"/00/{box.sscc}")
    assert page.status_code == 200
    text = page.text
    assert "✔" in text and box.destination.name in text and TPS in text
    assert "Diperiksa" in text and "TPS" in text  # the last handover step and its level
    for private in (
        world.kpps.username,
        world.kpps.full_name,
        world.gudang.username,
        "S-1",
        "rahasia catatan",
        "-5.1",
        "Surat suara",
        "/boxes/",  # no link into the trace for someone not logged in
    ):
        assert private not in text, private


def test_a_broken_chain_is_shown_as_a_warning(client, world):
    box = world.box()
    world.to_tps(box)
    box.chain_head = "0" * 64  # the box row no longer matches its events
    world.session.commit()
    assert "✖" in client.get(f"/00/{box.sscc}").text


@pytest.mark.parametrize("code", ["abc", "12345", "006141410000000028", "006141419999999999", "00614141000000002%00"])
def test_an_unknown_or_malformed_sscc_gets_a_plain_404_page(client, world, code):
    page = client.get(f"/00/{code}")
    assert page.status_code == 404 and "Tidak ditemukan" in page.text and "Traceback" not in page.text


def test_a_scoped_user_is_offered_the_full_trace(client, world):
    box = world.box()
    world.to_tps(box)
    login(client, world.kpps.username)
    page = client.get(f"/00/{box.sscc}").text
    assert f"/boxes/{box.sscc}" in page
    trace = client.get(f"/boxes/{box.sscc}").text
    assert box.destination.name in trace and box.sscc in trace  # the public facts are in the trace too
