"""A warehouse worker prints the labels of one TPS from a phone and downloads the PDF."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.phones import log_in
from tests.e2e.test_roles import no_horizontal_scroll


def test_warehouse_prints_labels_for_a_tps(page: Page, artifacts):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, "gudang", "jejak-gudang")
    page.get_by_role("link", name="Label").click()
    expect(page.get_by_role("heading", name="Cetak label kotak")).to_be_visible()
    expect(page.get_by_label("Dicetak di")).to_have_value("KPU-3101")
    page.get_by_label("Wilayah atau TPS").fill("TPS-3101011001001")
    page.get_by_label("Kertas").select_option("thermal")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "labels-form.png"), full_page=True)
    page.get_by_role("button", name="Cetak label").click()
    expect(page.get_by_role("heading", name="Label untuk TPS-3101011001001")).to_be_visible()
    expect(page.locator("#job-state")).to_have_text("Siap")
    expect(page.locator("#job-count")).to_have_text("4 dari 4 label selesai digambar")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "labels-job-done.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh PDF").click()
    assert download.value.suggested_filename == "label-TPS-3101011001001.pdf"
    assert download.value.path().read_bytes().startswith(b"%PDF")
    assert errors == [], errors
