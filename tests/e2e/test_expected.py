"""What is expected at a site, and what waits on the phone, at 360 px: the PPK officer sees the boxes sent
to the PPK on the site's page and on the phone, and each moves to "arrived today" once received; the phone
always says how many scans wait and when it last synced, warns after a day unsynced, and asks the browser to
keep its storage."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.test_scanner import PPK, open_scanner, scan, send_to_ppk, verdict

DAY_MS = 24 * 60 * 60 * 1000


def set_last_sync(page: Page, days_ago: float) -> None:
    """Move the phone's stored time of its last successful sync back (IndexedDB `jejak`, store `meta`)."""
    page.evaluate(
        """(ms) => new Promise((done, fail) => {
            const open = indexedDB.open("jejak");
            open.onerror = () => fail(open.error);
            open.onsuccess = () => {
                const tx = open.result.transaction("meta", "readwrite");
                tx.objectStore("meta").put(Date.now() - ms, "last_sync");
                tx.oncomplete = () => { open.result.close(); done(); };
                tx.onerror = () => fail(tx.error);
            };
        })""",
        days_ago * DAY_MS,
    )


def test_boxes_sent_to_the_ppk_show_on_its_page_and_phone_then_move_to_arrived_today(page: Page, live_app, artifacts):
    first, second = send_to_ppk(live_app, 2)
    # The home page's "Lihat kotak yang akan tiba" opens the list of boxes on their way to the PPK.
    open_scanner(page)
    page.goto("/")
    page.locator("#see-expected").click()
    expect(page).to_have_url(re.compile(f"/sites/{PPK}/arrivals$"))
    expect(page.locator("h1")).to_contain_text("Kotak yang akan tiba di")
    on_the_way = page.locator("#in-transit")
    expect(on_the_way.locator(f'li[data-sscc="{first}"]')).to_have_count(1)
    expect(on_the_way.locator(f'li[data-sscc="{second}"]')).to_have_count(1)
    expect(page.locator("#arrived-today")).not_to_contain_text(first)
    page.screenshot(path=str(artifacts / "arrivals-page-in-transit-360.png"), full_page=True)

    page.goto("/scan")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    card = page.locator("#arrivals-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Akan tiba di sini")
    expect(page.locator(f'#phone-in-transit li[data-sscc="{first}"]')).to_have_count(1)
    expect(page.locator(f'#phone-arrived-today li[data-sscc="{first}"]')).to_have_count(0)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "arrivals-phone-in-transit-360.png"))

    page.locator("#action").select_option("receive")
    scan(page, first)
    verdict(page, "accepted")
    expect(page.locator(f'#phone-arrived-today li[data-sscc="{first}"]')).to_have_count(1)
    expect(page.locator(f'#phone-in-transit li[data-sscc="{first}"]')).to_have_count(0)
    expect(page.locator("#sync-status")).to_have_attribute("data-waiting", "0", timeout=20_000)
    page.locator("#phone-arrived-today summary").click()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "arrivals-phone-arrived-360.png"))

    page.goto(f"/sites/{PPK}/arrivals")  # the server has it too: arrived today, no longer on the way
    expect(page.locator(f'#arrived-today li[data-sscc="{first}"]')).to_have_count(1)
    expect(page.locator(f'#in-transit li[data-sscc="{first}"]')).to_have_count(0)
    expect(page.locator(f'#in-transit li[data-sscc="{second}"]')).to_have_count(1)
    page.locator("#arrived-today details").first.evaluate("(d) => { d.open = true; }")
    page.screenshot(path=str(artifacts / "arrivals-page-arrived-360.png"), full_page=True)


def test_waiting_scans_and_the_last_sync_survive_a_reload_and_an_old_sync_warns(
    page: Page, context: BrowserContext, live_app, artifacts
):
    boxes = send_to_ppk(live_app, 2)
    open_scanner(page)
    status = page.locator("#sync-status")
    expect(status).to_contain_text("sinkron terakhir")  # the start's flush went through
    # persist() was called, on this load or on the load before open_scanner's reload (it asks once a phone)
    expect(page.locator("body")).to_have_attribute("data-persist-asked", re.compile(r"^(now|before)$"))
    assert page.locator("body").get_attribute("data-persist") in ("granted", "refused")
    expect(page.locator("#sync-warning, .sync-warning")).to_have_count(0)

    context.set_offline(True)
    page.locator("#action").select_option("receive")
    for sscc in boxes:
        scan(page, sscc)
        verdict(page, "accepted")
    expect(status.locator(".sync-count")).to_have_text("2 menunggu")  # both kept on the phone
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(status.locator(".sync-count")).to_have_text("2 menunggu")
    expect(status).to_have_attribute("data-state", "waiting")
    expect(status.locator(".sync-last")).to_contain_text("sinkron terakhir")
    waiting = page.locator("#recent li.recent-waiting")
    expect(waiting).to_have_count(2)
    for sscc in boxes:
        expect(page.locator("#recent")).to_contain_text(sscc)
    expect(waiting.first).to_contain_text("menunggu")
    page.screenshot(path=str(artifacts / "status-two-waiting-360.png"), full_page=True)

    set_last_sync(page, 2)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(status).to_have_attribute("data-state", "amber")
    expect(status.locator(".sync-warning")).to_have_text(
        "Lebih dari sehari belum sinkron: cari jaringan lalu tekan Kirim sekarang."
    )
    page.screenshot(path=str(artifacts / "status-one-day-warning-360.png"))
    page.locator("#recent").scroll_into_view_if_needed()
    expect(status).to_be_in_viewport()  # always in view, wherever the page is scrolled

    set_last_sync(page, 4)
    page.reload()
    expect(status).to_have_attribute("data-state", "red")
    page.screenshot(path=str(artifacts / "status-three-days-warning-360.png"))

    context.set_offline(False)  # the outbox goes out: nothing waits, the warning is gone
    expect(status).to_have_attribute("data-waiting", "0", timeout=20_000)
    expect(status).to_have_attribute("data-state", "ok")
    expect(status.locator(".sync-count")).to_have_text("Tidak ada yang menunggu")
    expect(page.locator("#recent li.recent-waiting")).to_have_count(0)
