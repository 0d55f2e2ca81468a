"""The phone's box list kept on the phone (IndexedDB) and brought up to date as a delta, in headless
Chromium at 360 px: the scanner is ready from its stored copy when reopened offline, says how old the copy
is, judges from it, and catches up with boxes changed on the server while it was offline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from tests.e2e.test_scanner import PPK, open_scanner, scan, send_to_ppk, verdict
from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.database import begin_write
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import db
from webapp.geo.models import Site


@pytest.fixture
def context(context: BrowserContext):
    yield context
    context.set_offline(False)


def planned_box(app) -> str:
    """A box of kecamatan 31.01.01 still planned, from the middle (other tests take the first and the last)."""
    with app.app_context():
        planned = db.session.scalars(
            select(Box.sscc)
            .join(Site, Box.destination_id == Site.id)
            .where(Site.region_code.like("31.01.01.%"), Box.status == "planned")
            .order_by(Box.id)
        ).all()
        return planned[len(planned) // 2]


def on_the_server(app, actions: list[tuple[str, str, str, str, dict]]) -> None:
    """Record scans as (username, action, sscc, site, extra) on the server, as other phones would."""
    with app.app_context():
        session = db.session
        now = datetime.now(UTC)
        for n, (username, action, sscc, site, extra) in enumerate(actions):
            actor = session.scalar(select(User).where(User.username == username))
            begin_write(session)
            scans = [ScanInput(str(uuid.uuid4()), sscc, action, site, now, "server-side", 10_000 + n, **extra)]
            [result] = record_scans(session, actor=actor, scans=scans)
            session.commit()
            assert result.verdict == "accepted", (action, result.reason)


def cached(page: Page) -> int:
    return int(page.locator("body").get_attribute("data-cached"))


def test_the_scanner_opens_offline_from_its_copy_and_catches_up_when_back_online(
    page: Page, context: BrowserContext, live_app, artifacts
):
    sent = send_to_ppk(live_app, 3)
    later = planned_box(live_app)
    open_scanner(page)
    expect(page.locator("#site")).to_have_value(PPK)
    known = cached(page)
    assert known >= 3
    expect(page.locator("#cache-age")).to_have_text("Data kotak: baru diperbarui")
    first = int(page.locator("#cache-age").get_attribute("data-fetched-at"))

    scan(page, later)  # still planned: not sent here, red from the phone's copy as from the server
    verdict(page, "refused")
    page.locator("#verdict-ok").click()
    expect(page.locator("#pending")).to_have_attribute("data-count", "0")  # refused by the server too

    context.set_offline(True)
    expect(page.locator("#net")).to_have_text("Luring")
    # Meanwhile, on the server: `later` is sent to this PPK, and one of the sent boxes is voided.
    on_the_server(
        live_app,
        [
            ("gudang", "commission", later, "KPU-3101", {}),
            ("gudang", "seal", later, "KPU-3101", {"seals": ["SG-9"], "note": "test: packets not counted"}),
            ("gudang", "dispatch", later, "KPU-3101", {"to": PPK}),
            ("admin", "void", sent[2], "KPU-3101", {"note": "label rusak"}),
        ],
    )

    page.reload()  # offline: ready at once from the stored copy, which says how old it is
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert cached(page) == known
    expect(page.locator("#cache-age")).to_be_visible()
    expect(page.locator("#cache-age")).to_have_text("Data kotak: baru diperbarui")
    scan(page, sent[0])  # judged from the stored copy
    verdict(page, "accepted")
    page.screenshot(path=str(artifacts / "scan-offline-from-copy-360.png"))

    context.set_offline(False)  # `online`: the list catches up (the voided box leaves it), the outbox goes out
    expect(page.locator("body")).to_have_attribute("data-cached", str(known - 1), timeout=20_000)
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=20_000)
    assert int(page.locator("#cache-age").get_attribute("data-fetched-at")) > first
    expect(page.locator("#verdict")).to_be_hidden(timeout=10_000)
    scan(page, later)  # now sent here: the phone's refreshed copy says so
    verdict(page, "accepted")
    expect(page.locator("#verdict-text")).to_contain_text("Diterima")


def test_a_refresh_with_nothing_changed_moves_a_few_hundred_bytes(page: Page, live_app):
    send_to_ppk(live_app, 1)
    open_scanner(page)
    sizes: list[tuple[str, int]] = []

    def measured(response):
        if "/offline" in response.url and "/api/" in response.url:
            sizes.append((response.url, len(response.body())))

    page.on("response", measured)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#cache-age")).to_have_text("Data kotak: baru diperbarui")
    page.wait_for_timeout(1_000)
    deltas = [(url, size) for url, size in sizes if "since=" in url]
    assert deltas and all(size < 1_000 for _, size in deltas), sizes
    assert not [url for url, _ in sizes if "since=" not in url], sizes  # no whole list again


def test_a_scan_before_the_refresh_arrives_is_judged_from_the_stored_copy(page: Page, live_app):
    [sscc] = send_to_ppk(live_app, 1)
    open_scanner(page)
    known = cached(page)
    held: list = []
    page.route("**/api/v1/sites/*/offline?since=*", lambda route: held.append(route))  # hangs: one bar of signal
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the phone asks for the changes since its copy"
    assert cached(page) == known
    scan(page, sscc)
    verdict(page, "accepted")
    expect(page.locator("#verdict-text")).to_contain_text("Diterima: kotak untuk TPS")
    for route in held:
        route.abort()


OLD_FORM = """async (site) => {
    // The form the previous version kept: the rows in a Map under `cache:SITE`, no `rows:SITE` record.
    const db = await new Promise((resolve) => { const open = indexedDB.open("jejak"); open.onsuccess = () => resolve(open.result); });
    const tx = db.transaction("meta", "readwrite");
    const meta = tx.objectStore("meta");
    const get = (key) => new Promise((resolve) => { const r = meta.get(key); r.onsuccess = () => resolve(r.result); });
    const header = await get(`cache:${site}`);
    const body = JSON.parse(await get(`rows:${site}`));
    meta.put({ ...header, ...body, boxes: new Map(body.boxes.map((row) => [row[0], row])) }, `cache:${site}`);
    meta.delete(`rows:${site}`);
    await new Promise((resolve) => { tx.oncomplete = resolve; });
    return body.boxes.length;
}"""


def test_a_phone_updated_from_the_previous_version_opens_offline_from_the_copy_it_kept(
    page: Page, context: BrowserContext, live_app
):
    [sscc] = send_to_ppk(live_app, 1)
    open_scanner(page)
    known = cached(page)
    assert page.evaluate(OLD_FORM, PPK) == known
    context.set_offline(True)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert cached(page) == known  # the whole copy, read in its old form
    scan(page, sscc)
    verdict(page, "accepted")
    expect(page.locator("#verdict-text")).to_contain_text("Diterima: kotak untuk TPS")
