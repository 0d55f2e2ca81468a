"""A damaged box reported from the phone with a photo (shrunk on the phone), a note and the position:
a ledger event that names the photo by its hash, an alert for the supervisor, the photo on the trace."""

from __future__ import annotations

import hashlib
import re

from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from tests.e2e.test_scanner import PPK, open_scanner, scan, send_to_ppk
from webapp.boxes.models import Box
from webapp.custody.models import Alert, CustodyEvent, IncidentPhoto
from webapp.extensions import db


def test_a_damaged_box_is_reported_with_photo_note_and_position(
    page: Page, context: BrowserContext, live_app, tmp_path, artifacts
):
    [sscc] = send_to_ppk(live_app, 1)
    photo = tmp_path / "rusak.jpg"
    Image.new("RGB", (3000, 2000), (150, 90, 40)).save(photo, quality=95)  # a phone camera's size
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": -5.7456, "longitude": 106.6151, "accuracy": 12})
    open_scanner(page)
    scan(page, sscc)  # received at the PPK first: the officer now holds it
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=10_000)
    page.locator("#action").select_option("damage")
    page.locator("#note").fill("Kotak basah terkena hujan, sudut sobek")
    page.locator("#photo").set_input_files(str(photo))
    page.screenshot(path=str(artifacts / "incident-form-360.png"), full_page=True)
    scan(page, sscc)
    expect(page.locator("#verdict-text")).to_have_text("Laporan tercatat: atasan diberi tahu.")
    expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=10_000)

    with live_app.app_context():
        session = db.session
        box = session.scalar(select(Box).where(Box.sscc == sscc))
        event = session.scalar(select(CustodyEvent).where(CustodyEvent.box_id == box.id, CustodyEvent.kind == "damage"))
        assert event.note.startswith("Kotak basah terkena hujan, sudut sobek · foto sha256:")
        assert (float(event.lat), float(event.lon), event.accuracy) == (-5.7456, 106.6151, 12)
        digest = re.search(r"sha256:([0-9a-f]{64})", event.note).group(1)
        stored = session.scalar(select(IncidentPhoto).where(IncidentPhoto.sha256 == digest))
        assert hashlib.sha256(stored.data).hexdigest() == digest
        assert len(stored.data) < 300_000  # shrunk on the phone (the original is 3000 x 2000)
        alert = session.scalar(select(Alert).where(Alert.box_id == box.id, Alert.kind == "damaged"))
        assert alert is not None and alert.state == "open"
        assert box.status == "damaged" and PPK

    page.goto(f"/boxes/{sscc}")
    image = page.locator("img.incident-photo")
    expect(image).to_be_visible()
    assert page.evaluate("document.querySelector('img.incident-photo').naturalWidth") == 1280
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # the hash wraps
    page.screenshot(path=str(artifacts / "incident-trace-360.png"), full_page=True)
