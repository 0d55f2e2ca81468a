"""A digital BAST between two phones: the warehouse hands three boxes to the PPK, one never arrives and
one that was not on the list does; both sign on screen, and the numbered BAST PDF says all of it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.phones import log_in, sign_and_close
from tests.e2e.test_scanner import PPK, send_to_ppk
from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.database import begin_write
from webapp.custody.models import CustodyEvent, Handover
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import db
from webapp.geo.models import Site


def commission(app, count: int) -> list[str]:
    """Boxes of kecamatan 31.01.02 labelled and sealed (SG-001, SG-002) at the warehouse, ready to hand over."""
    with app.app_context():
        session = db.session
        gudang = session.scalar(select(User).where(User.username == "gudang"))
        boxes = session.scalars(
            select(Box)
            .join(Site, Box.destination_id == Site.id)
            .where(Site.region_code.like("31.01.01.%"), Box.status == "planned")
            .order_by(Box.id.desc())
            .limit(count)
        ).all()
        now = datetime.now(UTC)
        sealed = {"seals": ["SG-001", "SG-002"], "note": "test: packets not counted"}
        for step, (action, extra) in enumerate((("commission", {}), ("seal", sealed))):
            scans = [
                ScanInput(str(uuid.uuid4()), b.sscc, action, "KPU-3101", now, "scene-h", 100 * step + n, **extra)
                for n, b in enumerate(boxes)
            ]
            begin_write(session)
            assert {r.verdict for r in record_scans(session, actor=gudang, scans=scans)} == {"accepted"}
            session.commit()
        return [b.sscc for b in boxes]


def scan(page: Page, field: str, code: str, kind: str) -> None:
    page.locator(field).fill(code)
    page.locator(field).press("Enter")
    expect(page.locator("#verdict")).to_have_class(f"verdict-screen verdict-{kind}")
    if kind == "refused":
        page.locator("#verdict-ok").click()


def test_a_handover_with_a_missing_and_an_unexpected_box_ends_in_a_signed_bast(
    browser, browser_context_args, live_app, artifacts
):
    handed = commission(live_app, 3)
    [stray] = send_to_ppk(live_app, 1)  # on its way to the PPK, but not on this handover's list

    sender = browser.new_context(**browser_context_args).new_page()
    log_in(sender, "gudang", "jejak-gudang", "/handover")
    sender.get_by_role("button", name="Saya menyerahkan kotak").click()
    expect(sender.locator("#s-from")).to_contain_text("KPU-3101")
    sender.locator("#s-to").select_option(PPK)
    sender.get_by_role("button", name="Mulai serah terima").click()
    # Under the scan field, how old the box list is that the phone judges from.
    expect(sender.locator(".field:has(#s-code) + .cache-age")).to_have_text("Data kotak: baru diperbarui")
    for sscc in handed:
        scan(sender, "#s-code", sscc, "accepted")
    expect(sender.locator("#s-count")).to_have_text("3", timeout=15_000)  # the server's count, after its answer
    sender.get_by_role("button", name="Tampilkan QR serah terima").click()
    expect(sender.locator("#qr svg")).to_be_visible()
    payload = sender.locator("#qr").get_attribute("data-payload")
    sender.screenshot(path=str(artifacts / "handover-sender-qr-360.png"), full_page=True)
    token = payload.split(":")[1]
    with live_app.app_context():  # the sender's dispatches reached the ledger with the token
        for _ in range(50):
            db.session.rollback()
            sent = db.session.scalars(select(CustodyEvent).where(CustodyEvent.handover == token)).all()
            if len(sent) == 3:
                break
            sender.wait_for_timeout(200)
        assert sorted(e.kind for e in sent) == ["dispatch"] * 3

    receiver = browser.new_context(**browser_context_args).new_page()
    log_in(receiver, "petugas", "jejak-petugas", "/handover")
    receiver.get_by_role("button", name="Saya menerima kotak").click()
    receiver.locator("#r-payload").fill(payload)  # what the camera reads off the sender's QR
    receiver.get_by_role("button", name="Muat daftar").click()
    expect(receiver.locator("#expected-list li")).to_have_count(3)
    expect(receiver.locator("#r-where")).to_contain_text(PPK)
    expect(receiver.locator(".field:has(#r-code) + .cache-age")).to_have_text("Data kotak: baru diperbarui")
    receiver.locator("#r-seals").fill("SG-001, SG-002")
    scan(receiver, "#r-code", handed[0], "accepted")
    scan(receiver, "#r-code", handed[1], "accepted")
    scan(receiver, "#r-code", stray, "warning")  # not on the list: kept as unexpected
    receiver.screenshot(path=str(artifacts / "handover-receiver-unexpected-360.png"))
    counts = "2 diterima, 1 belum diterima, 1 tidak diharapkan, 0 ditolak."
    expect(receiver.locator("#counts")).to_have_text(counts, timeout=15_000)  # once the server has answered all three
    # The server took the stray box: the last verdict shown (the phone's, or the server's over it) still says
    # what the BAST will, amber, not on the list, never a plain "received".
    expect(receiver.locator("#verdict")).to_have_class(re.compile(r"verdict-warning"))
    expect(receiver.locator("#verdict-text")).to_have_text(
        "Tidak ada di daftar pengirim: dicatat sebagai tidak diharapkan."
    )
    receiver.reload()  # an app closed mid-handover comes back to the same lists
    expect(receiver.locator("body")).to_have_attribute("data-ready", "true")
    expect(receiver.locator("#counts")).to_have_text(counts)
    expect(receiver.locator("#unexpected-list")).to_contain_text(stray)
    number = sign_and_close(receiver)
    receiver.screenshot(path=str(artifacts / "handover-receiver-closed-360.png"), full_page=True)

    pdf = receiver.request.get(f"/bast/{number}.pdf")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(pdf.body())
    document[0].render(scale=1.5).to_pil().save(artifacts / "bast-page-1.png")  # to look at
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert number in text
    assert f"{handed[2]}: TIDAK ADA" in text and f"{stray}: TIDAK DIHARAPKAN" in text
    assert "Budi Santoso" in text and "Siti Rahmawati" in text and "SG-001, SG-002" in text
    images = [obj for page in document for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])]
    assert len(images) == 2  # both drawn signatures

    page = receiver.context.new_page()
    page.goto(f"/bast/{number}")
    expect(page.locator("#pdf-check")).to_contain_text("✔")
    with live_app.app_context():
        handover = db.session.scalar(select(Handover).where(Handover.number == number))
        outcomes = {item["sscc"]: item["outcome"] for item in handover.summary["items"]}
        assert outcomes == {handed[0]: "received", handed[1]: "received", handed[2]: "missing", stray: "unexpected"}


def test_a_box_the_receiver_s_phone_could_not_judge_is_marked_unexpected_when_the_server_answers(
    browser, browser_context_args, live_app
):
    """The receiver read the sender's QR before the sender scanned anything: the phone has no list to judge
    by and takes the box, and the server, which knows the sender's list, says the BAST will list it as
    unexpected; the screen turns amber with the BAST's words, never a plain "received"."""
    [stray] = send_to_ppk(live_app, 1)  # on its way to the PPK, but on no list of this handover
    sender = browser.new_context(**browser_context_args).new_page()
    log_in(sender, "gudang", "jejak-gudang", "/handover")
    sender.get_by_role("button", name="Saya menyerahkan kotak").click()
    sender.locator("#s-to").select_option(PPK)
    sender.get_by_role("button", name="Mulai serah terima").click()
    sender.get_by_role("button", name="Tampilkan QR serah terima").click()
    expect(sender.locator("#qr svg")).to_be_visible()
    payload = sender.locator("#qr").get_attribute("data-payload")

    receiver = browser.new_context(**browser_context_args).new_page()
    log_in(receiver, "petugas", "jejak-petugas", "/handover")
    receiver.get_by_role("button", name="Saya menerima kotak").click()
    receiver.locator("#r-payload").fill(payload)
    receiver.get_by_role("button", name="Muat daftar").click()
    expect(receiver.locator("#expected-list li")).to_have_count(0)
    receiver.locator("#r-code").fill(stray)
    receiver.locator("#r-code").press("Enter")
    counts = "0 diterima, 0 belum diterima, 1 tidak diharapkan, 0 ditolak."
    expect(receiver.locator("#counts")).to_have_text(counts, timeout=15_000)  # the server has answered
    expect(receiver.locator("#verdict")).to_have_class(re.compile(r"verdict-warning"))
    expect(receiver.locator("#verdict-text")).to_have_text(
        "Tidak ada di daftar pengirim: dicatat sebagai tidak diharapkan."
    )


def test_the_qr_shown_while_the_phone_is_still_reading_the_list_back_lists_the_box_just_scanned(
    browser, browser_context_args, live_app
):
    """The sender scans a box and at once asks for the QR while the phone is still reading the handover back
    from the server (held here): the QR waits for that read and lists the box, never a list without it."""
    [box] = commission(live_app, 1)
    sender = browser.new_context(**browser_context_args).new_page()
    log_in(sender, "gudang", "jejak-gudang", "/handover")
    sender.get_by_role("button", name="Saya menyerahkan kotak").click()
    sender.locator("#s-to").select_option(PPK)
    sender.get_by_role("button", name="Mulai serah terima").click()
    expect(sender.locator(".field:has(#s-code) + .cache-age")).to_be_visible()

    held, holding = [], [True]
    sender.route(
        re.compile(r".*/api/v1/handovers/[0-9a-f-]{36}$"),
        lambda route: held.append(route) if holding[0] else route.continue_(),
    )
    scan(sender, "#s-code", box, "accepted")
    for _ in range(100):  # the scan went to the server; the phone now reads the handover back (held)
        if held:
            break
        sender.wait_for_timeout(100)
    assert held, "the phone never read the handover back"
    sender.get_by_role("button", name="Tampilkan QR serah terima").click()
    sender.wait_for_timeout(500)
    if sender.locator("#qr svg").is_visible():  # shown before the list was read back: it must hold the box
        assert box in sender.locator("#qr").get_attribute("data-payload")
    holding[0] = False
    for route in held:
        route.continue_()
    expect(sender.locator("#qr svg")).to_be_visible()
    assert sender.locator("#qr").get_attribute("data-payload").endswith(f":{box}")
