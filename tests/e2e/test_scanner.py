"""The phone's scanner in headless Chromium at 360 px: verdicts at once from the phone's cache, an
IndexedDB outbox that survives an offline reload, and exactly-once delivery in device order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from tests.e2e.phones import log_in
from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.database import begin_write
from webapp.custody.models import CustodyEvent, ScanReceipt
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import db
from webapp.geo.models import Dapil, Site

PPK = "PPK-310101"  # the demo officer's site (petugas)


def send_to_ppk(app, count: int, *, wrong_dapil: int = 0) -> list[str]:
    """Commission `count` boxes of kecamatan 31.01.01 at KPU-3101 and send them to the PPK; the last
    `wrong_dapil` of them carry a dapil their TPS does not vote in (a mislabelled box)."""
    with app.app_context():
        session = db.session
        gudang = session.scalar(select(User).where(User.username == "gudang"))
        planned = session.scalars(
            select(Box)
            .join(Site, Box.destination_id == Site.id)
            .where(Site.region_code.like("31.01.01.%"), Box.status == "planned")
            .order_by(Box.id.desc())  # from the last TPS up: the other browser tests use the first ones
            .limit(count + 50)
        ).all()
        strays = [box for box in planned if box.contest == "DPRD_PROV"][:wrong_dapil]
        boxes = [box for box in planned if box not in strays][: count - wrong_dapil] + strays
        assert len(boxes) == count
        if wrong_dapil:
            other = session.scalar(select(Dapil).where(Dapil.code == "DPRD_PROV-31-99"))
            if other is None:
                other = Dapil(code="DPRD_PROV-31-99", contest="DPRD_PROV", name="DKI Jakarta 99", within_code="31")
                session.add(other)
                session.flush()
            for box in strays:
                box.dapil_id = other.id
        session.commit()
        now = datetime.now(UTC)
        # Sealed at the warehouse before they leave (the packets are not counted here: the shortage is noted).
        sealed = {"seals": ["SG-001", "SG-002"], "note": "test: packets not counted"}
        for action, extra in (("commission", {}), ("seal", sealed), ("dispatch", {"to": PPK})):
            scans = [
                ScanInput(str(uuid.uuid4()), box.sscc, action, "KPU-3101", now, "scene", n, **extra)
                for n, box in enumerate(boxes)
            ]
            begin_write(session)
            results = record_scans(session, actor=gudang, scans=scans)
            session.commit()
            assert {r.verdict for r in results} == {"accepted"}, [r.reason for r in results]
        return [box.sscc for box in boxes]


def open_scanner(page: Page, username: str = "petugas", password: str = "jejak-petugas") -> None:
    log_in(page, username, password, "/scan")
    # The worker installs from the login page. When it activates while the browser is already on its
    # way to /scan, its clients.claim() misses the new page, which stays uncontrolled until the next
    # navigation (as it would for a person: the next page opened works offline). Give the claim a few
    # seconds, then reload once: a worker that never takes control still fails below.
    # (Functions, not expressions: Playwright polls an expression with eval(), which our CSP forbids.)
    try:
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=5_000)
    except PlaywrightTimeoutError:
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


def scan(page: Page, code: str) -> None:
    page.locator("#code").fill(code)
    page.locator("#code").press("Enter")


def verdict(page: Page, kind: str) -> None:
    expect(page.locator("#verdict")).to_have_class(f"verdict-screen verdict-{kind}")
    expect(page.locator("#verdict")).to_be_visible()


@pytest.fixture
def context(context: BrowserContext):
    yield context
    context.set_offline(False)


def test_fifty_offline_scans_survive_a_reload_and_arrive_exactly_once_in_order(
    page: Page, context: BrowserContext, live_app, artifacts
):
    ssccs = send_to_ppk(live_app, 51, wrong_dapil=1)
    good, stray = ssccs[:50], ssccs[50]
    open_scanner(page)
    expect(page.locator("#site")).to_have_value(PPK)
    assert int(page.locator("body").get_attribute("data-cached")) >= 51

    context.set_offline(True)
    expect(page.locator("#net")).to_have_text("Luring")
    for n, sscc in enumerate(good):
        scan(page, f"(00){sscc}" if n % 2 else sscc)
        verdict(page, "accepted")
        expect(page.locator("#pending")).to_have_attribute("data-count", str(n + 1))
    expect(page.locator("#verdict-text")).to_contain_text("Diterima: kotak untuk TPS")
    page.screenshot(path=str(artifacts / "scan-accepted-360.png"))

    scan(page, good[0])  # the same box again in this session
    verdict(page, "warning")
    expect(page.locator("#verdict-text")).to_have_text("Sudah dipindai di sesi ini: tidak dicatat lagi.")
    page.screenshot(path=str(artifacts / "scan-warning-360.png"))
    expect(page.locator("#pending")).to_have_attribute("data-count", "50")

    scan(page, stray)  # another dapil's box: red on the spot, offline
    verdict(page, "refused")
    expect(page.locator("#verdict-text")).to_contain_text("DKI Jakarta 99")
    expect(page.locator("#verdict-text")).to_contain_text("JANGAN DITERIMA")
    page.screenshot(path=str(artifacts / "scan-refused-360.png"))
    page.locator("#verdict-ok").click()
    expect(page.locator("#pending")).to_have_attribute("data-count", "51")

    page.reload()  # still offline: the service worker serves the shell, IndexedDB keeps the outbox
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#pending")).to_have_attribute("data-count", "51")
    expect(page.locator("#pending")).to_have_text("51 pindaian menunggu dikirim.")

    context.set_offline(False)  # `online`: the outbox goes out
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=20_000)
    verdict(page, "refused")  # the server's refusal comes back red, in its own words
    expect(page.locator("#verdict-text")).to_have_text(
        "Server menolak: Kotak ini berisi dapil DKI Jakarta 99, padahal TPS tujuannya di DKI Jakarta 3. JANGAN DITERIMA."
    )
    page.locator("#verdict-ok").click()
    expect(page.locator("#refusals")).to_contain_text(stray)
    expect(page.locator("#refusals")).to_contain_text("JANGAN DITERIMA")
    page.screenshot(path=str(artifacts / "scan-synced-360.png"), full_page=True)

    with live_app.app_context():
        session = db.session
        ppk = session.scalar(select(Site).where(Site.code == PPK))
        ids = {box.id: box.sscc for box in session.scalars(select(Box).where(Box.sscc.in_(ssccs)))}
        events = session.scalars(
            select(CustodyEvent)
            .where(CustodyEvent.kind == "receive", CustodyEvent.box_id.in_(ids))
            .order_by(CustodyEvent.id)
        ).all()
        assert [ids[e.box_id] for e in events] == good  # all fifty, once each, in the order scanned
        assert all(e.site_id == ppk.id for e in events)
        seqs = [e.device_seq for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == 50
        stray_box = session.scalar(select(Box).where(Box.sscc == stray))
        receipts = session.scalars(select(ScanReceipt).where(ScanReceipt.box_id == stray_box.id)).all()
        assert [(r.verdict, r.reason) for r in receipts if r.verdict == "refused"] == [("refused", "wrong_dapil")]
        assert stray_box.status == "in_transit"

    page.locator("#refusals button").first.click()  # acknowledged: gone from the list
    expect(page.locator("#refusals-card")).to_be_hidden()


def test_a_misread_code_is_refused_before_anything_is_recorded(page: Page):
    open_scanner(page)
    scan(page, "006141410000000028")  # check digit off by one
    verdict(page, "refused")
    expect(page.locator("#verdict-text")).to_have_text("Kode salah terbaca (digit periksa tidak cocok). Pindai ulang.")
    page.locator("#verdict-ok").click()
    expect(page.locator("#code-error")).to_be_visible()
    assert page.locator("#pending").get_attribute("data-count") == "0"


def test_a_wedge_scanner_loses_no_scan_after_a_red_verdict(page: Page, live_app, artifacts):
    """Three boxes at a wedge scanner's speed (18 characters within 50 ms, then Enter), the middle one red:
    the third is not swallowed by the red verdict's button, and all three reach the server (issue 14)."""
    first, second, stray = send_to_ppk(live_app, 3, wrong_dapil=1)
    open_scanner(page)
    expect(page.locator("#site")).to_have_value(PPK)

    def wedge(code: str) -> None:  # keys as a USB or Bluetooth scanner sends them, to whatever has focus
        page.keyboard.type(code, delay=2)
        page.keyboard.press("Enter")

    wedge(first)
    verdict(page, "accepted")
    wedge(stray)
    verdict(page, "refused")
    expect(page.locator("#verdict-ok")).to_be_focused()
    wedge(second)  # straight on, as the worker does: no tap on "OK, saya mengerti"
    verdict(page, "accepted")
    expect(page.locator("#verdict-text")).to_contain_text("Diterima")
    page.screenshot(path=str(artifacts / "scan-wedge-after-red-360.png"))
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=20_000)
    expect(page.locator("#refusals")).to_contain_text(stray)  # the red one is kept until acknowledged

    with live_app.app_context():
        session = db.session
        boxes = {box.sscc: box for box in session.scalars(select(Box).where(Box.sscc.in_([first, second, stray])))}
        received = session.scalars(
            select(CustodyEvent.box_id).where(
                CustodyEvent.kind == "receive", CustodyEvent.box_id.in_([b.id for b in boxes.values()])
            )
        ).all()
        assert sorted(received) == sorted([boxes[first].id, boxes[second].id])
        refused = session.scalars(select(ScanReceipt).where(ScanReceipt.box_id == boxes[stray].id)).all()
        assert [(r.verdict, r.reason) for r in refused if r.verdict != "accepted"] == [("refused", "wrong_dapil")]
