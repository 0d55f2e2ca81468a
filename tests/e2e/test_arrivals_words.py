"""The phone's "expected here" card at 360 px names each box as people do: its contest as on the ballot and
its dapil by name ("DPRD Provinsi DKI Jakarta 3"), never the internal codes (DPRD_PROV, SURAT_SUARA_...)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.e2e.test_scanner import open_scanner, send_to_ppk
from webapp.boxes.models import Box
from webapp.extensions import db

BALLOT_NAMES = {
    "PRESIDEN": "Presiden",
    "DPR": "DPR",
    "DPD": "DPD",
    "DPRD_PROV": "DPRD Provinsi",
    "DPRD_KAB": "DPRD Kab/Kota",
}
CODES = re.compile(r"DPRD_PROV|DPRD_KAB|SURAT_SUARA_|PRESIDEN")


def test_the_phones_arrivals_card_names_contests_and_dapil(page: Page, live_app, artifacts):
    sent = send_to_ppk(live_app, 5)  # a whole TPS's set and one more: every contest of a DKI TPS
    with live_app.app_context():
        boxes = db.session.scalars(select(Box).where(Box.sscc.in_(sent)).options(selectinload(Box.dapil))).all()
        expected = {box.sscc: (box.contest, box.dapil.name if box.dapil else None) for box in boxes}
    assert "DPRD_PROV" in {contest for contest, _ in expected.values()}

    open_scanner(page)
    card = page.locator("#arrivals-card")
    expect(card).to_be_visible()
    on_the_way = page.locator("#phone-in-transit")
    for sscc, (contest, dapil) in expected.items():
        line = on_the_way.locator(f'li[data-sscc="{sscc}"]')
        words = " ".join(filter(None, [BALLOT_NAMES[contest], dapil]))
        expect(line).to_contain_text(f"{sscc} · {words}")
    assert not CODES.search(card.text_content())
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "arrivals-phone-names-360.png"))
