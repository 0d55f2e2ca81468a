"""Sealing on a phone at 360 px: a complete box sealed at the packing station with two seal numbers (the
ledger gets exactly those), a box resealed on the scanner, and an unsealed ballot box refused red when
someone tries to dispatch it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.phones import log_in
from tests.e2e.test_roles import no_horizontal_scroll
from tests.e2e.test_scanner import PPK, open_scanner, scan, send_to_ppk, verdict
from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.database import begin_write
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import db
from webapp.geo.models import Site

TPS = "TPS-3101011001004"  # a TPS no other browser test packs


def record(app, username: str, action: str, site: str, ssccs: list[str], **extra) -> None:
    """Set the scene through the scan pipeline, as a phone's scans would."""
    with app.app_context():
        session = db.session
        actor = session.scalar(select(User).where(User.username == username))
        now = datetime.now(UTC)
        scans = [
            ScanInput(str(uuid.uuid4()), sscc, action, site, now, f"scene-{action}", n, **extra)
            for n, sscc in enumerate(ssccs)
        ]
        begin_write(session)
        results = record_scans(session, actor=actor, scans=scans)
        session.commit()
        assert {r.verdict for r in results} == {"accepted"}, [r.reason for r in results]


def box_for(app, contest: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Box.sscc).join(Site, Box.destination_id == Site.id).where(Site.code == TPS, Box.contest == contest)
        )


def test_a_complete_box_is_sealed_at_the_packing_station_with_two_seals(page: Page, live_app, artifacts):
    sscc = box_for(live_app, "DPR")
    record(live_app, "gudang", "commission", "KPU-3101", [sscc])  # its label printed at the warehouse
    log_in(page, "gudang", "jejak-gudang", "/packing")
    page.get_by_label("Label kotak").fill(sscc)
    page.get_by_role("button", name="Masukkan").click()
    expect(page.locator("#shortage-hint")).to_contain_text("hanya dapat disegel dengan alasan kekurangan")
    packets = page.locator("#missing .code").all_inner_texts()
    assert packets
    for packet in packets:
        page.get_by_label("Label paket").fill(packet)
        page.get_by_label("Label paket").press("Enter")  # a wedge scanner ends with Enter
        expect(page.locator("#pack-verdict")).to_contain_text("DIKEMAS")
    expect(page.locator("#complete")).to_have_text("Lengkap: siap disegel")
    expect(page.get_by_role("button", name="Pindai dengan kamera")).to_be_visible()
    seals = page.get_by_label("Nomor segel")
    expect(seals).to_be_focused()  # the complete box's next step: its seals
    seals.press_sequentially("SG-101")
    seals.press("Enter")  # a wedge scanner's Enter after one seal: the next one follows in the same field
    seals.press_sequentially("SG-102")
    expect(seals).to_have_value("SG-101, SG-102")
    page.screenshot(path=str(artifacts / "packing-seal-form.png"), full_page=True)
    page.get_by_role("button", name="Segel kotak").click()
    expect(page.locator("#seal-verdict")).to_contain_text("DISEGEL")
    expect(page.locator("#seal-verdict")).to_contain_text("Tersegel dengan SG-101, SG-102: kotak siap dikirim.")
    expect(page.locator("#sealed")).to_have_text("Tersegel (SG-101, SG-102): siap dikirim")
    assert no_horizontal_scroll(page)
    page.screenshot(path=str(artifacts / "packing-sealed.png"), full_page=True)
    events = page.request.get(f"/api/v1/boxes/{sscc}/events").json()["events"]
    sealing = [e for e in events if e["kind"] == "seal"]
    assert len(sealing) == 1 and sealing[0]["seals"] == ["SG-101", "SG-102"]
    assert events[-1]["kind"] == "seal"


def test_a_box_held_at_the_ppk_is_resealed_on_the_scanner(page: Page, live_app, artifacts):
    [sscc] = send_to_ppk(live_app, 1)
    record(live_app, "petugas", "receive", PPK, [sscc])  # held at the PPK, checked there
    open_scanner(page)
    actions = page.locator("#action option").all_inner_texts()
    assert "Segel ulang" in actions and "Segel" in actions  # an officer may seal and reseal
    page.get_by_label("Tindakan").select_option("reseal")
    expect(page.get_by_label("Nomor segel")).to_be_visible()
    scan(page, sscc)
    verdict(page, "warning")  # no seal numbers yet: nothing is recorded
    expect(page.locator("#verdict-text")).to_have_text("Isi nomor segel dulu.")
    page.locator("#verdict").click()
    page.get_by_label("Nomor segel").fill("RS-201, RS-202")
    page.screenshot(path=str(artifacts / "scanner-reseal-form.png"), full_page=True)
    scan(page, sscc)
    verdict(page, "accepted")
    expect(page.locator("#verdict-text")).to_have_text("Segel RS-201, RS-202 dicatat untuk kotak ini.")
    page.screenshot(path=str(artifacts / "scanner-resealed.png"), full_page=True)
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=15_000)
    events = page.request.get(f"/api/v1/boxes/{sscc}/events").json()["events"]
    assert events[-1]["kind"] == "reseal" and events[-1]["seals"] == ["RS-201", "RS-202"]


def test_a_courier_is_not_offered_sealing(page: Page):
    open_scanner(page, "kurir", "jejak-kurir")
    actions = page.locator("#action option").all_inner_texts()
    assert "Segel" not in actions and "Segel ulang" not in actions and "Terima" in actions


def test_dispatching_an_unsealed_ballot_box_is_refused_red_with_the_reason(page: Page, live_app, artifacts):
    sscc = box_for(live_app, "DPD")
    record(live_app, "gudang", "commission", "KPU-3101", [sscc])  # labelled, never sealed
    open_scanner(page, "gudang", "jejak-gudang")
    expect(page.locator("body")).not_to_have_attribute("data-cached", "0")
    page.get_by_label("Tindakan").select_option("dispatch")
    page.locator("#to").fill("PPK-310101")
    page.context.set_offline(True)  # the phone's own judgement, from its cache, before any server
    try:
        scan(page, sscc)
        verdict(page, "refused")
        sentence = (
            "Kotak belum disegel: segel dulu di meja pengepakan (atau segel ulang setelah penghitungan) "
            "sebelum dikirim."
        )
        expect(page.locator("#verdict-text")).to_have_text(sentence)
        page.screenshot(path=str(artifacts / "scanner-dispatch-unsealed.png"), full_page=True)
        page.get_by_role("button", name="OK, saya mengerti").click()
    finally:
        page.context.set_offline(False)
    # The server, sent the scan, refuses it as well and keeps the refusal to acknowledge.
    expect(page.locator("#refusals")).to_contain_text(sentence, timeout=15_000)
    with live_app.app_context():
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        assert box.status == "commissioned" and box.holder_site.code == "KPU-3101"
