"""The scanner's big word says what was done, in Indonesian (issue 14, point 9): a dispatch reads DIKIRIM,
not DITERIMA ("received"); a receipt DITERIMA; the same box again a calm SUDAH TERCATAT; a misread code
DITOLAK. At 360 px."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.test_scanner import PPK, open_scanner, scan, send_to_ppk, verdict
from webapp.boxes.models import Box
from webapp.extensions import db


def test_the_big_word_fits_the_action(page: Page, live_app, artifacts):
    (sscc,) = send_to_ppk(live_app, 1)
    with live_app.app_context():
        destination = db.session.scalar(select(Box).where(Box.sscc == sscc)).destination.code
    pps = "PPS-" + destination.removeprefix("TPS-")[:10]  # the desa's PPS on the box's way down
    open_scanner(page)
    expect(page.locator("#site")).to_have_value(PPK)
    word = page.locator("#verdict-word")

    scan(page, sscc)
    verdict(page, "accepted")
    expect(word).to_have_text("DITERIMA")
    page.screenshot(path=str(artifacts / "verdict-word-receive-360.png"))

    scan(page, sscc)  # the same box again in this session: said calmly
    verdict(page, "warning")
    expect(word).to_have_text("SUDAH TERCATAT")
    page.screenshot(path=str(artifacts / "verdict-word-duplicate-360.png"))

    page.locator("#verdict").click()
    page.locator("#action").select_option("dispatch")
    page.locator("#to").fill(pps)
    scan(page, sscc)
    verdict(page, "accepted")
    expect(word).to_have_text("DIKIRIM")
    expect(page.locator("#verdict-text")).to_contain_text("Dikirim: kotak untuk TPS")  # not "Diterima"
    page.screenshot(path=str(artifacts / "verdict-word-dispatch-360.png"))

    scan(page, "006141410000000028")  # check digit off by one
    verdict(page, "refused")
    expect(word).to_have_text("DITOLAK")
    page.locator("#verdict-ok").click()
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=20_000)
    with live_app.app_context():
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        assert box.status == "in_transit" and box.transit_site.code == pps  # the server agreed: dispatched
        pps_name = box.transit_site.name

    # Its trace reads in words: actions by name, sites by name and code, times in the site's zone.
    page.goto(f"/boxes/{sscc}")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Diserahkan")
    expect(timeline).to_contain_text(f"ke {pps_name} ({pps})")
    expect(timeline).to_contain_text(" WIB")
    text = timeline.inner_text()
    assert "site:" not in text and "label printed" not in text and "UTC" not in text, text
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts / "trace-words-360.png"), full_page=True)
