"""The whole chain once, end to end, on phones (one browser context per person, 360 px): printer > courier >
warehouse (cartons), sealing, warehouse > courier > PPK > PPS > TPS, the box opened on voting day and resealed
after the count, then TPS > PPS > PPK > warehouse. At every handover the sender's screen, the receiver's screen,
the BAST page, the BAST PDF and the ledger (API) must give the same received / missing / unexpected / refused
lists. One handover holds a box of another kecamatan (refused at the door), a wrong seal (red until a witness
signs, then amber) and a missing box. The courier legs are done from the courier's phone with no site code.
Screenshots of every step are kept in test-artifacts/screens/chain-*.png."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pypdfium2 as pdfium
from playwright.sync_api import Page, expect
from sqlalchemy import select

from config import TestConfig
from tests.e2e.phones import phone, sign_and_close
from webapp.auth.models import User
from webapp.auth.services import create_user, resolve_scope
from webapp.boxes.cartons import CartonOrder, order_cartons
from webapp.boxes.models import Box
from webapp.core.database import begin_write
from webapp.custody.models import Alert
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.extensions import db
from webapp.geo.models import Site

SERVER = "Dipastikan oleh server."
WAREHOUSE, PPK, PPS = "KPU-3101", "PPK-310101", "PPS-3101011001"
PDF_OUTCOME = {"missing": "TIDAK ADA", "unexpected": "TIDAK DIHARAPKAN", "refused": "DITOLAK"}


@dataclass
class Scene:
    tps: str
    boxes: list[str]  # ballot boxes of one TPS, commissioned at the warehouse
    cartons: list[str]  # a printer's cartons for the warehouse, commissioned at the printer
    stray: str  # a box of another kecamatan, lying at the warehouse


def _scan_all(session, actor: User, site: str, action: str, codes: list[str], **extra) -> None:
    now = datetime.now(UTC)
    scans = [
        ScanInput(str(uuid.uuid4()), code, action, site, now, "scene-chain", n, **extra) for n, code in enumerate(codes)
    ]
    begin_write(session)
    outcomes = record_scans(session, actor=actor, scans=scans)
    assert {o.verdict for o in outcomes} == {"accepted"}, [(o.reason, o.details) for o in outcomes]
    session.commit()


def set_scene(app) -> Scene:
    """What happens before the phones: labels printed (commissioning) and the officers of one PPS and TPS."""
    with app.app_context():
        session = db.session
        user = lambda name: session.scalar(select(User).where(User.username == name))  # noqa: E731
        pps = session.scalar(select(Site).where(Site.code == PPS))
        tps = session.scalar(
            select(Site)
            .join(Box, Box.destination_id == Site.id)
            .where(Site.parent_id == pps.id, Box.status == "planned")
            .group_by(Site.id)
            .order_by(Site.code.desc())
        )
        boxes = session.scalars(
            select(Box.sscc).where(Box.destination_id == tps.id, Box.status == "planned").order_by(Box.id).limit(4)
        ).all()
        stray = session.scalar(
            select(Box.sscc)
            .join(Site, Box.destination_id == Site.id)
            .where(Site.region_code.like("31.01.02.%"), Box.status == "planned")
            .order_by(Box.id)
        )
        _scan_all(session, user("gudang"), WAREHOUSE, "commission", [*boxes, stray])
        order = CartonOrder("PRN-1", WAREHOUSE, "SURAT_SUARA_PRESIDEN", None, 500, 2, f"SPK-{uuid.uuid4().hex[:6]}")
        prefix = TestConfig.GS1_COMPANY_PREFIX
        cartons = [
            c.sscc for c in order_cartons(session, order, actor=user("percetakan"), extension=0, company_prefix=prefix)
        ]
        session.commit()
        _scan_all(session, user("percetakan"), "PRN-1", "commission", cartons)
        for username, scope in (("pps-chain", PPS), ("kpps-chain", tps.code)):
            if session.scalar(select(User.id).where(User.username == username)) is None:
                create_user(session, username=username, role="officer", scope=resolve_scope(session, scope),
                            password="jejak-petugas-rantai", full_name=f"Petugas {scope}")  # fmt: skip
        session.commit()
        return Scene(tps.code, list(boxes), cartons, stray)


def scan(page: Page, field: str, sscc: str, outcome: str) -> None:
    """Scan one box and wait for the server's word; `outcome` is the row it must make, or `refused`."""
    page.locator(field).fill(sscc)
    page.locator(field).press("Enter")
    if outcome == "refused":
        expect(page.locator("#verdict")).to_have_class("verdict-screen verdict-refused")
        expect(page.locator("#verdict-source")).to_have_text(SERVER)  # the server's refusal, not the phone's
        page.locator("#verdict-ok").click()
        expect(page.locator("#verdict")).to_be_hidden()
    else:
        expect(page.locator(f"#lists li[data-sscc='{sscc}']")).to_have_attribute(
            "data-outcome", outcome, timeout=15_000
        )
        expect(page.locator("#provisional")).to_be_hidden(timeout=15_000)  # nothing waits for the server
        if page.locator("#verdict").is_visible():
            page.locator("#verdict").click()  # a tap closes a green or amber verdict


def pack(page: Page, sscc: str) -> None:
    """At the packing station: the box's label, then each packet it still lacks, as a wedge scanner types them."""
    page.goto("/packing")
    page.get_by_label("Label kotak").fill(sscc)
    page.get_by_role("button", name="Masukkan").click()
    expect(page.locator("#missing .code").first).to_be_visible()
    for code in page.locator("#missing .code").all_inner_texts():
        page.get_by_label("Label paket").fill(code)
        page.get_by_label("Label paket").press("Enter")
        expect(page.locator("#pack-verdict")).to_contain_text("DIKEMAS")
    expect(page.locator("#missing .code")).to_have_count(0)


def lists(page: Page) -> dict[str, str]:
    rows = page.locator("#lists li[data-sscc]")
    return {row.get_attribute("data-sscc"): row.get_attribute("data-outcome") for row in rows.all()}


@dataclass
class Leg:
    name: str
    sender: Page
    receiver: Page
    to: str  # the choice the sender makes in "Kepada siapa"
    send: list[str]
    receive: list[str]
    strays: tuple[str, ...] = ()
    wrong_seal: tuple[str, list[str]] | None = None  # (box, its true seals)


def hand_over(leg: Leg, artifacts) -> tuple[str, dict[str, str]]:
    """One handover on two phones; returns the BAST number and what it lists, checked five ways."""
    s, r = leg.sender, leg.receiver
    s.goto("/handover")
    expect(s.locator("body")).to_have_attribute("data-ready", "true")
    s.get_by_role("button", name="Saya menyerahkan kotak").click()
    s.locator("#s-to").select_option(leg.to)
    s.get_by_role("button", name="Mulai serah terima").click()
    for sscc in leg.send:
        scan(s, "#s-code", sscc, "missing")
    s.get_by_role("button", name="Tampilkan QR serah terima").click()
    expect(s.locator("#qr svg")).to_be_visible()
    payload = s.locator("#qr").get_attribute("data-payload")
    assert sorted(payload.rsplit(":", 1)[1].split(",")) == sorted(leg.send)  # the QR lists what the server holds
    s.screenshot(path=str(artifacts / f"chain-{leg.name}-1-sender-qr.png"), full_page=True)

    r.goto("/handover")
    expect(r.locator("body")).to_have_attribute("data-ready", "true")
    r.get_by_role("button", name="Saya menerima kotak").click()
    r.locator("#r-payload").fill(payload)  # what the camera reads off the sender's screen
    r.get_by_role("button", name="Muat daftar").click()
    expect(r.locator("#expected-list li")).to_have_count(len(leg.send))
    for sscc in leg.receive:
        if leg.wrong_seal and sscc == leg.wrong_seal[0]:
            r.locator("#r-seals").fill("SG-PALSU-1")
            scan(r, "#r-code", sscc, "refused")  # red until a witness signs
            r.screenshot(path=str(artifacts / f"chain-{leg.name}-2-wrong-seal-refused.png"), full_page=True)
            r.locator("#r-seals").fill("SG-PALSU-1")
            r.locator("#r-witness").fill("Ahmad Panwascam")
            scan(r, "#r-code", sscc, "received")
            expect(r.locator(f"#lists li[data-sscc='{sscc}']")).to_have_class(re.compile("warning"))  # amber
        else:
            scan(r, "#r-code", sscc, "received" if sscc in leg.send else "unexpected")
    for sscc in leg.strays:
        scan(r, "#r-code", sscc, "refused")
        expect(r.locator(f"#refused-list li[data-sscc='{sscc}']")).to_be_visible()
    r.screenshot(path=str(artifacts / f"chain-{leg.name}-3-receiver-scanned.png"), full_page=True)

    number = sign_and_close(r)
    expect(s.locator("#closed")).to_be_visible(timeout=15_000)  # the sender's screen reads the same BAST
    r.screenshot(path=str(artifacts / f"chain-{leg.name}-4-receiver-closed.png"), full_page=True)
    s.screenshot(path=str(artifacts / f"chain-{leg.name}-5-sender-closed.png"), full_page=True)
    return number, agree(leg, number, payload.split(":")[1], artifacts)


def agree(leg: Leg, number: str, token: str, artifacts) -> dict[str, str]:
    """Sender's screen = receiver's screen = BAST page = BAST PDF = ledger (API)."""
    r = leg.receiver
    on_receiver, on_sender = lists(r), lists(leg.sender)
    api = r.request.get(f"/api/v1/handovers/{token}").json()
    in_ledger = {item["sscc"]: item["outcome"] for item in api["items"]}
    page = r.context.new_page()
    page.goto(f"/bast/{number}")
    expect(page.locator("#pdf-check")).to_contain_text("✔")
    rows = page.locator("#bast-items li[data-sscc]")
    on_page = {row.get_attribute("data-sscc"): row.get_attribute("data-outcome") for row in rows.all()}
    page.screenshot(path=str(artifacts / f"chain-{leg.name}-6-bast-page.png"), full_page=True)
    pdf = r.request.get(f"/bast/{number}.pdf")
    text = "".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(pdf.body()))
    assert on_receiver == on_sender == in_ledger == on_page, (on_receiver, on_sender, in_ledger, on_page)
    counts = api["counts"]
    assert (
        f"diterima {counts['received']}, tidak ada {counts['missing']}, "
        f"tidak diharapkan {counts['unexpected']}, ditolak {counts['refused']}" in " ".join(text.split())
    )
    for sscc, outcome in in_ledger.items():
        assert sscc in text
        if outcome != "received":
            assert f"{sscc}: {PDF_OUTCOME[outcome]}" in text
    page.close()
    return in_ledger


def test_the_whole_chain_on_phones(browser, browser_context_args, live_app, artifacts):
    scene = set_scene(live_app)
    people = {
        name: phone(browser, browser_context_args, name, password)
        for name, password in (
            ("percetakan", "jejak-percetakan"),
            ("ekspedisi", "jejak-ekspedisi"),
            ("gudang", "jejak-gudang"),
            ("kurir", "jejak-kurir"),
            ("petugas", "jejak-petugas"),
            ("pps-chain", "jejak-petugas-rantai"),
            ("kpps-chain", "jejak-petugas-rantai"),
        )
    }
    boxes, cartons = scene.boxes, scene.cartons

    # Printer > courier > warehouse: the printer's cartons, the courier's phone with no site code typed.
    hand_over(
        Leg("1-printer-courier", people["percetakan"], people["ekspedisi"], "courier:ekspedisi", cartons, cartons),
        artifacts,
    )
    courier = people["ekspedisi"]
    courier.goto("/handover")
    courier.get_by_role("button", name="Saya menyerahkan kotak").click()
    expect(courier.locator("#s-from")).to_contain_text("kurir ekspedisi")
    expect(courier.locator("#s-to option")).to_have_count(1)  # the warehouse the cartons are bound for
    hand_over(Leg("2-courier-warehouse", courier, people["gudang"], WAREHOUSE, cartons, cartons), artifacts)

    station = people["gudang"]
    for n, sscc in enumerate(boxes):
        pack(station, sscc)
        station.get_by_label("Nomor segel").fill(f"SG-{n}A, SG-{n}B")
        station.get_by_role("button", name="Segel kotak").click()
        expect(station.locator("#sealed")).to_have_text(f"Tersegel (SG-{n}A, SG-{n}B): siap dikirim")
    station.screenshot(path=str(artifacts / "chain-2b-packed-and-sealed.png"), full_page=True)

    # Warehouse > courier > PPK, with a box of another kecamatan at the door, a wrong seal and a missing box.
    hand_over(Leg("3-warehouse-courier", people["gudang"], people["kurir"], "courier:kurir", boxes, boxes), artifacts)
    missing, wrong_seal = boxes[3], boxes[1]
    onward = boxes[:3]
    _number, listed = hand_over(
        Leg("4-courier-ppk", people["kurir"], people["petugas"], PPK, boxes, onward, strays=(scene.stray,),
            wrong_seal=(wrong_seal, ["SG-1A", "SG-1B"])),
        artifacts,
    )  # fmt: skip
    assert listed == {boxes[0]: "received", wrong_seal: "received", boxes[2]: "received", missing: "missing",
                      scene.stray: "refused"}  # fmt: skip
    with live_app.app_context():  # the box at the wrong door raised an alert; it was not counted
        kinds = db.session.scalars(select(Alert.kind).where(Alert.code == scene.stray)).all()
        assert "wrong_destination" in kinds

    hand_over(Leg("5-ppk-pps", people["petugas"], people["pps-chain"], PPS, onward, onward), artifacts)
    hand_over(Leg("6-pps-tps", people["pps-chain"], people["kpps-chain"], scene.tps, onward, onward), artifacts)

    # Voting day at the TPS: each box opened for the count, then resealed with new seals, on the KPPS's phone.
    kpps = people["kpps-chain"]
    kpps.goto("/scan")
    expect(kpps.locator("body")).to_have_attribute("data-ready", "true")
    for action, seals in (("open", None), ("reseal", "RS-1, RS-2")):
        kpps.get_by_label("Tindakan").select_option(action)
        if seals:
            kpps.get_by_label("Nomor segel").fill(seals)
        for sscc in onward:
            if seals:
                kpps.get_by_label("Nomor segel").fill(seals)
            kpps.locator("#code").fill(sscc)
            kpps.locator("#code").press("Enter")
            expect(kpps.locator("#verdict")).to_have_class("verdict-screen verdict-accepted")
            kpps.locator("#verdict").click()
        kpps.screenshot(path=str(artifacts / f"chain-7-tps-{action}.png"), full_page=True)
    expect(kpps.locator("#pending")).to_have_attribute("data-count", "0", timeout=15_000)
    for sscc in onward:
        events = kpps.request.get(f"/api/v1/boxes/{sscc}/events").json()["events"]
        assert [e["kind"] for e in events[-2:]] == ["open", "reseal"] and events[-1]["seals"] == ["RS-1", "RS-2"]

    # And back after the count: TPS > PPS > PPK > warehouse, each a BAST of its own.
    hand_over(Leg("8-tps-pps", kpps, people["pps-chain"], PPS, onward, onward), artifacts)
    hand_over(Leg("9-pps-ppk", people["pps-chain"], people["petugas"], PPK, onward, onward), artifacts)
    hand_over(Leg("10-ppk-warehouse", people["petugas"], people["gudang"], WAREHOUSE, onward, onward), artifacts)
