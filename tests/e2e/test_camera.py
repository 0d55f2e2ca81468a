"""A fake camera showing a real Jejak label: the phone decodes it and records the scan, once from the
label's QR code and once from its GS1-128 barcode (barcode-detector over zxing-wasm, served by us)."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_scanner import PPK, open_scanner, send_to_ppk, verdict
from webapp.boxes.models import Box
from webapp.custody.models import CustodyEvent
from webapp.extensions import db
from webapp.geo.models import Site
from webapp.labels.render import render_pdf
from webapp.labels.services import label_specs

FRAME = (640, 480)


def label_image(app, sscc: str) -> Image.Image:
    """The box's thermal label as printed (vector PDF), rasterised at 200 dpi."""
    with app.app_context():
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        tps = db.session.get(Site, box.destination_id)
        [spec] = [s for s in label_specs(db.session, tps.code, app.config["PUBLIC_BASE_URL"]) if s.sscc == sscc]
    out = io.BytesIO()
    render_pdf([spec], out, "thermal", processes=1)
    return pdfium.PdfDocument(out.getvalue())[0].render(scale=200 / 72).to_pil().convert("RGB")


def symbol(label: Image.Image, kind: zxingcpp.BarcodeFormat) -> Image.Image:
    """One symbol cut out of the label with a white margin, scaled to fill most of a camera frame."""
    [found] = [r for r in zxingcpp.read_barcodes(label) if r.format == kind]
    xs = [
        found.position.top_left.x,
        found.position.top_right.x,
        found.position.bottom_left.x,
        found.position.bottom_right.x,
    ]
    ys = [
        found.position.top_left.y,
        found.position.top_right.y,
        found.position.bottom_left.y,
        found.position.bottom_right.y,
    ]
    margin = 30
    box = (min(xs) - margin, min(ys) - margin, max(xs) + margin, max(ys) + margin)
    if kind != zxingcpp.BarcodeFormat.QRCode:  # a 1-D symbol's position is a line: take its bars' height
        box = (min(xs) - margin, min(ys) - 60, max(xs) + margin, max(ys) + 60)
    cut = label.crop(box)
    scale = min(FRAME[0] * 0.9 / cut.width, FRAME[1] * 0.9 / cut.height)
    cut = cut.resize((int(cut.width * scale), int(cut.height * scale)), Image.NEAREST)
    frame = Image.new("RGB", FRAME, "white")
    frame.paste(cut, ((FRAME[0] - cut.width) // 2, (FRAME[1] - cut.height) // 2))
    decoded = zxingcpp.read_barcodes(frame)
    assert [r.format for r in decoded] == [kind]  # the video shows this symbol and only this one
    return frame


def write_y4m(frame: Image.Image, path, frames: int = 10) -> None:
    """A Y4M video (YUV 4:2:0) of one still frame: what Chromium plays as its fake camera."""
    y, u, v = frame.convert("YCbCr").split()
    half = (frame.width // 2, frame.height // 2)
    planes = y.tobytes() + u.resize(half).tobytes() + v.resize(half).tobytes()
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n" + planes)


@pytest.mark.parametrize(
    ("kind", "name"), [(zxingcpp.BarcodeFormat.QRCode, "qr"), (zxingcpp.BarcodeFormat.Code128, "gs1-128")]
)
def test_a_fake_camera_showing_a_label_is_decoded_and_recorded(
    playwright, live_server, live_app, tmp_path, artifacts, kind, name
):
    [sscc] = send_to_ppk(live_app, 1)
    video = tmp_path / f"{name}.y4m"
    write_y4m(symbol(label_image(live_app, sscc), kind), video)
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(
            base_url=live_server, viewport={"width": 360, "height": 780}, locale="id-ID", permissions=["camera"]
        )
        outside = []
        context.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None)
        page = context.new_page()
        open_scanner(page)
        page.get_by_role("button", name="Pindai dengan kamera").click()
        verdict(page, "accepted")
        expect(page.locator("#verdict-note")).to_contain_text(sscc)
        page.screenshot(path=str(artifacts / f"camera-{name}-360.png"))
        expect(page.locator("#pending")).to_have_attribute("data-count", "0", timeout=15_000)
        assert outside == []  # the WebAssembly decoder came from us, not a CDN
    finally:
        browser.close()
    with live_app.app_context():
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        event = db.session.scalar(
            select(CustodyEvent).where(CustodyEvent.box_id == box.id, CustodyEvent.kind == "receive")
        )
        assert event is not None and event.site.code == PPK
