"""A mistaken scan corrected, on two phones at 360 px (issue 14): the PPK officer receives a box on the
scanner and then reports it damaged by mistake; from "Latest scans" they ask for a correction with a
reason (offline the phone says a correction needs a connection); the supervisor approves it on
/corrections; the trace page shows both the damage report (marked corrected) and the correction, the box
is held again, the officer's phone says the correction was approved, and the EPCIS export declares the
damage report an error whose correctiveEventIDs name the correction."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.test_scanner import PPK, open_scanner, scan, send_to_ppk
from webapp.auth.models import User
from webapp.boxes.models import Box, BoxStatus
from webapp.custody.models import CorrectionRequest, CorrectionState, CustodyEvent, ScanReceipt
from webapp.extensions import db

REASON = "Salah pilih tindakan: kotak tidak rusak"


def wait_for(page: Page, app, check, what: str, tries: int = 75):
    """Poll the live database until `check(session)` gives something (the phone sends in the background)."""
    with app.app_context():
        for _ in range(tries):
            db.session.rollback()
            found = check(db.session)
            if found:
                return found
            page.wait_for_timeout(200)
    raise AssertionError(f"never happened: {what}")


def record(page: Page, sscc: str, word: str) -> None:
    """Scan a box and see the phone's green verdict with its word; it closes by itself."""
    scan(page, sscc)
    expect(page.locator("#verdict")).to_have_class("verdict-screen verdict-accepted")
    expect(page.locator("#verdict-word")).to_have_text(word)
    expect(page.locator("#verdict")).to_be_hidden(timeout=5_000)


def test_a_mistaken_damage_report_is_corrected_by_a_supervisor_on_another_phone(
    browser, browser_context_args, live_app, artifacts
):
    [sscc] = send_to_ppk(live_app, 1)

    worker_context = browser.new_context(**browser_context_args)
    worker = worker_context.new_page()
    open_scanner(worker)
    expect(worker.locator("#site")).to_have_value(PPK)
    worker.locator("#action").select_option("receive")
    expect(worker.locator("#seals-hint-receive")).to_be_visible()
    worker.locator("#seals").fill("SG-001, SG-002")
    record(worker, sscc, "DITERIMA")
    worker.locator("#action").select_option("damage")
    worker.locator("#note").fill("Kotak penyok di sudut")
    record(worker, sscc, "DICATAT")  # the mistake: the box is fine

    damage = wait_for(
        worker,
        live_app,
        lambda s: s.scalar(select(CustodyEvent).join(Box).where(Box.sscc == sscc, CustodyEvent.kind == "damage")),
        "the damage report in the ledger",
    )
    with live_app.app_context():
        receipt = db.session.scalar(
            select(CustodyEvent).join(Box).where(Box.sscc == sscc, CustodyEvent.kind == "receive")
        )
        assert sorted(receipt.seals) == ["SG-001", "SG-002"]  # the seals seen went with the receipt
        assert db.session.scalar(select(Box.status).where(Box.sscc == sscc)) == BoxStatus.DAMAGED
    damaged_item = worker.locator(f'#recent li[data-scan="{damage.client_id}"]')
    expect(damaged_item).to_have_attribute("data-server", "accepted", timeout=15_000)
    ask = damaged_item.get_by_role("button", name="Minta koreksi")
    expect(ask).to_be_visible()
    assert ask.bounding_box()["height"] >= 44

    worker_context.set_offline(True)  # no network: nothing is pretended
    ask.click()
    expect(damaged_item.locator(".field-error")).to_have_text(
        "Koreksi memerlukan koneksi internet: minta lagi saat ponsel ini daring."
    )
    expect(damaged_item.locator("textarea")).to_have_count(0)
    worker.screenshot(path=str(artifacts / "corrections-0-offline.png"), full_page=True)
    worker_context.set_offline(False)

    ask.click()
    reason = damaged_item.get_by_label("Mengapa harus dikoreksi?")
    expect(reason).to_be_visible()
    send = damaged_item.get_by_role("button", name="Kirim permintaan koreksi")
    assert send.bounding_box()["height"] >= 44
    send.click()  # no reason yet
    expect(damaged_item.locator(".correction-form .field-error")).to_have_text(
        "Tulis alasan pemindaian ini harus dikoreksi (minimal 5 karakter)."
    )
    damaged_item.scroll_into_view_if_needed()
    worker.screenshot(path=str(artifacts / "corrections-0b-reason-needed.png"))
    reason.fill(REASON)
    send.click()
    expect(worker.locator("#verdict-word")).to_have_text("KOREKSI DIMINTA")
    expect(worker.locator("#verdict-text")).to_have_text("Koreksi diminta: penyelia wilayah ini yang akan memutuskan.")
    expect(worker.locator("#verdict")).to_be_hidden(timeout=5_000)
    expect(damaged_item).to_have_attribute("data-correction", "pending")
    expect(damaged_item.locator(".correction-state")).to_have_text(f"Koreksi diminta, menunggu penyelia: {REASON}")
    expect(damaged_item.get_by_role("button", name="Minta koreksi")).to_have_count(0)
    worker.screenshot(path=str(artifacts / "corrections-1-asked.png"), full_page=True)
    with live_app.app_context():
        request = db.session.scalar(select(CorrectionRequest).where(CorrectionRequest.event_id == damage.id))
        assert request.state == CorrectionState.PENDING and request.reason == REASON

    supervisor = browser.new_context(**browser_context_args).new_page()
    log_in_supervisor(supervisor)
    supervisor.goto("/corrections")
    card = supervisor.locator(f"#correction-{request.id}")
    expect(card).to_contain_text(sscc)
    expect(card).to_contain_text(REASON)
    supervisor.screenshot(path=str(artifacts / "corrections-2-to-decide.png"), full_page=True)
    card.get_by_label("Catatan (wajib untuk menolak)").fill("Benar, kotak utuh saat dicek")
    card.get_by_role("button", name="Setujui").click()

    # The trace page: the damage report stays, marked corrected; the correction names it.
    expect(supervisor).to_have_url(f"{browser_context_args['base_url']}/boxes/{sscc}")
    expect(supervisor.locator(".flash-ok")).to_have_text("Koreksi disetujui dan dicatat di buku besar.")
    original = supervisor.locator(f"#event-{damage.id}")
    expect(original).to_have_class("corrected")
    expect(original).to_contain_text("dikoreksi")
    expect(original).to_contain_text("Kotak penyok di sudut")
    with live_app.app_context():
        db.session.rollback()
        decided = db.session.get(CorrectionRequest, request.id)
        assert decided.state == CorrectionState.APPROVED
        correction = db.session.get(CustodyEvent, decided.correction_event_id)
        assert correction.kind == "correct" and correction.corrects == damage.hash
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        assert box.status == BoxStatus.HELD and box.holder_site.code == PPK  # the box's state follows
        kinds = list(
            db.session.scalars(
                select(CustodyEvent.kind).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.box_seq)
            )
        )
        assert kinds[-3:] == ["receive", "damage", "correct"]  # nothing deleted
    fix = supervisor.locator(f"#event-{correction.id}")
    expect(fix).to_contain_text(f"Mengoreksi #{damage.box_seq}")
    expect(fix).to_contain_text("Diminta oleh")
    expect(fix).to_contain_text("disetujui oleh")
    expect(fix).to_contain_text(REASON)
    expect(supervisor.locator(".lead .badge")).to_have_text("Diterima")  # held again, not "Rusak"
    expect(supervisor.locator("body")).to_contain_text("Rantai catatan utuh")
    supervisor.screenshot(path=str(artifacts / "corrections-3-trace.png"), full_page=True)

    # The officer's phone learns the decision (the app comes back to the front, or sends again).
    worker.get_by_role("button", name="Kirim sekarang").click()
    expect(damaged_item).to_have_attribute("data-correction", "approved", timeout=10_000)
    expect(damaged_item.locator(".correction-state")).to_have_text("Koreksi disetujui: Benar, kotak utuh saat dicek")
    worker.screenshot(path=str(artifacts / "corrections-4-approved-on-the-phone.png"), full_page=True)

    # The EPCIS export of the box's kecamatan declares the damage report an error, corrected by the correction.
    export = supervisor.request.get("/api/v1/export/epcis?region=31.01.01")
    assert export.ok, export.text()
    events = {e["eventID"]: e for e in json.loads(export.text())["epcisBody"]["eventList"]}
    by_chain_hash = {e["jejak:chainHash"]: e for e in events.values()}  # the ledger's hash rides along
    corrected = by_chain_hash[damage.hash]
    corrective_id = by_chain_hash[correction.hash]["eventID"]  # the correction's EPCIS event hash
    assert corrected["type"] == "ObjectEvent"
    assert corrected["errorDeclaration"]["correctiveEventIDs"] == [corrective_id]
    assert corrective_id in events and "errorDeclaration" not in events[corrective_id]


def log_in_supervisor(page: Page) -> None:
    page.goto("/login?next=/corrections")
    page.get_by_label("Nama pengguna").fill("supervisor")
    page.get_by_label("Kata sandi").fill("jejak-supervisor")
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator("h1")).to_have_text("Koreksi yang perlu diputuskan")


def test_a_receipt_with_a_seal_that_differs_is_refused_by_the_server_on_the_scanner(
    browser, browser_context_args, live_app, artifacts
):
    """The seals typed on the scanner go with the receive scan: a wrong one is refused (seal mismatch, a
    witness must sign), the red verdict replaces the phone's provisional green, and nothing is received."""
    [sscc] = send_to_ppk(live_app, 1)
    page = browser.new_context(**browser_context_args).new_page()
    open_scanner(page)
    page.locator("#action").select_option("receive")
    page.locator("#seals").fill("SG-001, SG-999")
    scan(page, sscc)
    expect(page.locator("#verdict-text")).to_contain_text(
        "Nomor segel berbeda dari catatan. Saksi harus ikut menandatangani.", timeout=15_000
    )
    expect(page.locator("#verdict")).to_have_class("verdict-screen verdict-refused")
    expect(page.locator("#refusals")).to_contain_text("Nomor segel berbeda dari catatan")
    expect(page.locator("#seals")).to_have_value("")  # the next box has seals of its own
    page.screenshot(path=str(artifacts / "scanner-receive-seal-mismatch.png"), full_page=True)
    with live_app.app_context():
        db.session.rollback()
        receipt = db.session.scalar(  # the officer's (the warehouse's scans set the scene)
            select(ScanReceipt)
            .join(Box, Box.id == ScanReceipt.box_id)
            .join(User, User.id == ScanReceipt.actor_id)
            .where(Box.sscc == sscc, User.username == "petugas")
        )
        assert receipt.verdict == "refused" and receipt.reason == "seal_mismatch"
        assert receipt.details["seen"] == ["SG-001", "SG-999"]
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        assert box.status == BoxStatus.IN_TRANSIT
        assert (
            db.session.scalar(select(CustodyEvent).where(CustodyEvent.box_id == box.id, CustodyEvent.kind == "receive"))
            is None
        )
    page.locator("#verdict-ok").click()
    refused_item = page.locator(f'#recent li[data-scan="{receipt.client_id}"]')
    expect(refused_item).to_have_attribute("data-server", "refused")
    expect(refused_item).to_contain_text("Nomor segel berbeda dari catatan")  # the server's word, not the phone's
    expect(refused_item).not_to_contain_text("Diterima")
    expect(refused_item).to_contain_text("ditolak server")
    expect(refused_item.get_by_role("button", name="Minta koreksi")).to_have_count(0)  # nothing to correct
    # The list is redrawn as the phone syncs: a full-page picture rather than scrolling to an element it replaces.
    page.screenshot(path=str(artifacts / "scanner-receive-seal-mismatch-listed.png"), full_page=True)
