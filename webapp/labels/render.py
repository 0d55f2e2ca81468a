"""Box labels as vector PDF: a QR code with the GS1 Digital Link URI, a GS1-128 barcode with AI (00),
and the text a person needs (destination TPS, desa, kecamatan, contest and dapil, box n of N).

The QR matrix comes from `qrcode` (with its standard mask selection) and the GS1-128 modules from
`python-barcode`; both are drawn as PDF rectangles, never as raster images. Computing a QR matrix is
the expensive part (about 4 ms in pure Python), so worker processes compute the codes' drawing
operators in parallel while this process lays out the pages, in order.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import barcode
import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

# Page streams stay binary (zlib only): ReportLab's default ASCII85 layer on top is pure Python and
# took a third of the drawing time, for a PDF 25% larger.
rl_config.useA85 = 0

FORMATS = ("a4", "thermal")
THERMAL = (100 * mm, 150 * mm)
A4_LABEL = (100 * mm, 70 * mm)  # 2 x 4 labels on an A4 sheet
A4_COLUMNS, A4_ROWS = 2, 4
QUIET_QR = 4  # modules of white around a QR code (ISO/IEC 18004)
QUIET_BARCODE = 10  # modules of white either side of a GS1-128 symbol
_GS1_128 = barcode.get_barcode_class("gs1_128")


@dataclass(frozen=True)
class LabelSpec:
    """What one box label shows."""

    sscc: str
    uri: str  # GS1 Digital Link: https://<host>/00/<sscc>
    tps_code: str
    tps_name: str
    desa: str
    kecamatan: str
    contest: str
    contest_label: str
    colour: str
    dapil: str | None
    box_index: int
    box_count: int
    reprint: int = 0
    quantity: str | None = None  # a packet's label says what it holds ("306 lembar") instead of "box n of N"
    order_ref: str | None = None  # a vendor carton's label: its order and its printer, for its warehouse
    sender: str | None = None


@dataclass(frozen=True)
class Codes:
    """The drawing operators of a label's two codes, in module units (1 x 1 per QR module, 1 wide per bar)."""

    qr_size: int
    qr_ops: str
    bar_modules: int
    bar_ops: str


def qr_ops(data: str) -> tuple[int, str]:
    """A QR code (error correction M) as PDF `re` operators, one per run of dark modules in a row."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, box_size=1)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    rects = []
    for y, row in enumerate(matrix):
        x, width = 0, len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                rects.append(f"{start} {y} {x - start} 1 re")
            else:
                x += 1
    return len(matrix), " ".join(rects) + " f"


def gs1_128_ops(sscc: str) -> tuple[int, str]:
    """GS1-128 with AI (00) (FNC1 first, Code 128 set C) as PDF `re` operators, one per bar."""
    modules = _GS1_128("00" + sscc).build()[0]
    rects, x = [], 0
    while x < len(modules):
        if modules[x] == "1":
            start = x
            while x < len(modules) and modules[x] == "1":
                x += 1
            rects.append(f"{start} 0 {x - start} 1 re")
        else:
            x += 1
    return len(modules), " ".join(rects) + " f"


def codes_for(spec: LabelSpec) -> Codes:
    size, qr = qr_ops(spec.uri)
    modules, bars = gs1_128_ops(spec.sscc)
    return Codes(size, qr, modules, bars)


def _draw_codes(canvas: Canvas, ops: str, x: float, y: float, sx: float, sy: float) -> None:
    """Draw module-unit operators with their origin at (x, y) (top left for a QR: sy < 0)."""
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    canvas.translate(x, y)
    canvas.scale(sx, sy)
    canvas.addLiteral(ops)
    canvas.restoreState()


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to `size` at which `text` fits in `width`."""
    needed = canvas.stringWidth(text, font, size)
    return size if needed <= width else max(5.0, size * width / needed)


def _text(canvas: Canvas, text: str, x: float, y: float, font: str, size: float, width: float) -> None:
    canvas.setFont(font, _fit(canvas, text, font, size, width))
    canvas.drawString(x, y, text)


def draw_label(canvas: Canvas, spec: LabelSpec, codes: Codes, x: float, y: float, w: float, h: float) -> None:
    """One label in the box (x, y, w, h), y at the bottom. Tall boxes (thermal) put the QR on top."""
    band = 6 * mm
    canvas.setFillColor(HexColor(spec.colour))
    canvas.rect(x, y + h - band, w, band, stroke=0, fill=1)
    light_band = spec.contest == "DPR"  # black on the yellow band, white on the others
    canvas.setFillColorRGB(*((0, 0, 0) if light_band else (1, 1, 1)))
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(x + 3 * mm, y + h - band + 1.8 * mm, spec.contest_label.upper())
    if spec.reprint:
        canvas.drawRightString(x + w - 3 * mm, y + h - band + 1.8 * mm, f"REPRINT {spec.reprint}")
    canvas.setFillColorRGB(0, 0, 0)

    tall = h > w
    pad = 4 * mm
    bar_height = (18 if tall else 11) * mm
    bar_module = (w - 2 * pad) / (codes.bar_modules + 2 * QUIET_BARCODE)
    _draw_codes(canvas, codes.bar_ops, x + pad + QUIET_BARCODE * bar_module, y + pad + 4 * mm, bar_module, bar_height)
    canvas.setFont("Courier", 8)
    canvas.drawCentredString(x + w / 2, y + pad, f"(00) {spec.sscc}")

    top = y + h - band - 2 * mm
    if tall:
        qr_side = w - 2 * pad - 30 * mm
        qr_module = qr_side / (codes.qr_size + 2 * QUIET_QR)
        qr_x, qr_top = x + (w - qr_side) / 2, top
        text_x, text_top, text_width = x + pad, qr_top - qr_side - 6 * mm, w - 2 * pad
    else:
        qr_side = top - (y + pad + 4 * mm + bar_height) - 1 * mm
        qr_module = qr_side / (codes.qr_size + 2 * QUIET_QR)
        qr_x, qr_top = x + pad - QUIET_QR * qr_module, top
        text_x, text_top, text_width = x + pad + qr_side, top - 5 * mm, w - 2 * pad - qr_side
    _draw_codes(canvas, codes.qr_ops, qr_x + QUIET_QR * qr_module, qr_top - QUIET_QR * qr_module, qr_module, -qr_module)

    lines = (
        _carton_lines(spec, tall)
        if spec.order_ref
        else [
            (f"TPS {spec.tps_code.rsplit('-', 1)[-1][-3:]}", "Helvetica-Bold", 26 if tall else 18),
            (f"Kel./Desa {spec.desa}", "Helvetica-Bold", 13 if tall else 10),
            (f"Kec. {spec.kecamatan}", "Helvetica", 12 if tall else 9),
            (spec.dapil or spec.contest_label, "Helvetica-Bold", 12 if tall else 9),
            (
                spec.quantity or f"Kotak {spec.box_index} dari {spec.box_count}",
                "Helvetica-Bold" if spec.quantity else "Helvetica",
                12 if tall else 9,
            ),
            (spec.tps_code, "Courier", 9 if tall else 7),
        ]
    )
    line_y = text_top
    for text, font, size in lines:
        _text(canvas, text, text_x, line_y, font, size, text_width)
        line_y -= size * 1.25


def _carton_lines(spec: LabelSpec, tall: bool) -> list[tuple[str, str, float]]:
    """A vendor carton's text: the warehouse it goes to, its order and printer, what it holds."""
    return [
        (spec.tps_code, "Helvetica-Bold", 22 if tall else 16),
        (spec.tps_name, "Helvetica", 11 if tall else 8),
        (f"Pesanan {spec.order_ref}", "Helvetica-Bold", 13 if tall else 10),
        (f"Dari {spec.sender}", "Helvetica", 12 if tall else 9),
        (spec.dapil or spec.contest_label, "Helvetica-Bold", 12 if tall else 9),
        (f"{spec.quantity} \u00b7 Karton {spec.box_index} dari {spec.box_count}", "Helvetica-Bold", 12 if tall else 9),
    ]


def _pages(fmt: str) -> tuple[tuple[float, float], list[tuple[float, float, float, float]]]:
    """Page size and the label boxes on one page."""
    if fmt == "thermal":
        return THERMAL, [(0, 0, *THERMAL)]
    width, height = A4
    label_w, label_h = A4_LABEL
    left = (width - A4_COLUMNS * label_w) / 2
    bottom = (height - A4_ROWS * label_h) / 2
    slots = [
        (left + col * label_w, bottom + (A4_ROWS - 1 - row) * label_h, label_w, label_h)
        for row in range(A4_ROWS)
        for col in range(A4_COLUMNS)
    ]
    return A4, slots


def _codes(specs: list[LabelSpec], processes: int) -> Iterator[Codes]:
    if processes <= 1 or len(specs) < 64:
        yield from map(codes_for, specs)
        return
    # fork is quickest, but only safe from a process with one thread: in the job worker (threads) another
    # thread may hold a lock at the moment of the fork, which the child would wait on forever. There the
    # drawing processes come from a fresh single-threaded server process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    with multiprocessing.get_context(method).Pool(processes) as pool:
        yield from pool.imap(codes_for, specs, chunksize=32)


def render_pdf(specs: Iterable[LabelSpec], out, fmt: str = "a4", processes: int | None = None, progress=None) -> int:
    """Write the labels as one PDF to `out` (a path or a binary file); returns how many.

    `progress(done, total)` is called as pages are laid out.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    specs = list(specs)
    page_size, slots = _pages(fmt)
    # invariant: the same labels give the same bytes (no timestamps or random ids in the file)
    canvas = Canvas(
        str(out) if isinstance(out, os.PathLike) else out, pagesize=page_size, pageCompression=1, invariant=1
    )
    canvas.setTitle("Jejak box labels")
    canvas.setAuthor("Jejak")
    count = 0
    for count, (spec, codes) in enumerate(zip(specs, _codes(specs, processes or os.cpu_count() or 1), strict=True), 1):
        slot = slots[(count - 1) % len(slots)]
        draw_label(canvas, spec, codes, *slot)
        if count % len(slots) == 0:
            canvas.showPage()
            if progress:
                progress(count, len(specs))
    if count % len(slots) or not count:
        canvas.showPage()
    canvas.save()
    if progress:
        progress(count, len(specs))
    return count
