"""At the packing station on a phone: a packet of its own goes in (green), another contest's is refused (red)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.phones import log_in
from tests.e2e.test_roles import no_horizontal_scroll

TPS = "TPS-3101011001002"


def test_packing_station_verdicts(page: Page, artifacts):
    log_in(page, "gudang", "jejak-gudang")
    # Printing the TPS's labels puts its boxes in the warehouse's hands (commissioned in the ledger).
    page.goto("/labels")
    page.get_by_label("Wilayah atau TPS").fill(TPS)
    page.get_by_role("button", name="Cetak label").click()
    expect(page.locator("#job-state")).to_have_text("Siap")
    boxes = page.request.get("/api/v1/sites/KPU-3101/expected").json()["boxes"]
    mine = {b["contest"]: b["sscc"] for b in boxes if b["destination"] == TPS}

    page.get_by_role("link", name="Pengepakan").click()
    page.get_by_label("Label kotak").fill(mine["DPD"])
    page.get_by_role("button", name="Masukkan").click()
    dpd_packet = page.locator("#missing .code").first.inner_text()

    page.get_by_label("Label kotak").fill(mine["DPR"])
    page.get_by_role("button", name="Masukkan").click()
    own = page.locator("#missing .code").first.inner_text()
    page.get_by_label("Label paket").fill(own)
    page.get_by_label("Label paket").press("Enter")  # a wedge scanner ends with Enter
    expect(page.locator("#pack-verdict")).to_contain_text("DIKEMAS")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "packing-accepted.png"), full_page=True)

    page.get_by_label("Label paket").fill(dpd_packet)
    page.get_by_label("Label paket").press("Enter")
    expect(page.locator("#pack-verdict")).to_contain_text("DITOLAK")
    expect(page.locator("#pack-verdict")).to_contain_text("JANGAN DIMASUKKAN")
    page.screenshot(path=str(artifacts / "packing-refused.png"), full_page=True)
