"""Box labels as vector PDF, laid out as GS1 logistic labels (A6, 105 x 148 mm, four to an A4 sheet, or
100 x 150 mm thermal): a from-block (the printer or warehouse printing it), a to-block (destination TPS,
desa, kecamatan, kab/kota, contest and dapil, box n of N, and a QR code with the GS1 Digital Link URI),
and the SSCC block (the "SSCC" title, the SSCC in text, a GS1-128 barcode with AI (00)).

The QR matrix comes from `qrcode` (with its standard mask selection) and the GS1-128 modules from
`python-barcode`; both are drawn as PDF rectangles, never as raster images. Computing a QR matrix is
the expensive part (about 4 ms in pure Python), so worker processes compute the codes' drawing
operators in parallel while this process lays out the pages, in order.
"""

from __future__ import annotations

import functools
import hashlib
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
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.units import inch, mm
from reportlab.pdfgen.canvas import Canvas

# Page streams stay binary (zlib only): ReportLab's default ASCII85 layer on top is pure Python and
# took a third of the drawing time, for a PDF 25% larger.
rl_config.useA85 = 0

FORMATS = ("a4", "thermal")
THERMAL = (100 * mm, 150 * mm)
A4_LABEL = (105 * mm, 148 * mm)  # A6: 2 x 2 labels on an A4 sheet
A4_COLUMNS, A4_ROWS = 2, 2
QUIET_QR = 4  # modules of white around a QR code (ISO/IEC 18004), to the label's edge and any other drawing
QUIET_BARCODE = 10  # modules of white either side of a GS1-128 symbol

# The GS1 logistic label's geometry (GS1 General Specifications, GS1-128 for the SSCC of a logistic unit,
# and the GS1 logistic label guideline):
# GS1-128 at an X dimension of 0.495-1.016 mm with bars at least 31.75 mm tall, in the SSCC block at the
# bottom; the from-block and the to-block above it.
# The X dimension and the bars are whole dots of a 600 dpi printer (also whole or half dots at 300 and 150
# dpi), the symbol starting on a dot: every bar edge then falls where the printer can put it.
DOT = inch / 600
BAR_X_DOTS = 14  # X at most (0.593 mm); fewer dots when the label cannot hold the symbol and its quiet zones
# Bar width reduction: the bars are printed narrower than their modules, down to BAR_DOTS, to make up for the
# spread of toner, of a thermal printer's dots and of rasterisers that round bars out to whole pixels (which
# closes the narrow spaces when the image is blurred).
BAR_DOTS = 12  # the narrowest bar as printed: 0.508 mm, GS1 asks at least 0.495 mm
SSCC_MODULES = 156  # a GS1-128 of (00) and 18 digits: start C, FNC1, 10 pairs, check, stop
BAR_HEIGHT = 32.5 * mm
BAR_BOTTOM = 9.5 * mm  # above the human-readable line
HRI_BASELINE = 4 * mm
SSCC_BLOCK = 56 * mm  # the SSCC block's height, from the label's bottom edge
BAND = 8 * mm  # the contest's colour band at the top
FROM_BLOCK = 11 * mm  # under the band: who printed the label (a printer or a warehouse)
PAD = 4 * mm
QR_SIDE = 30 * mm  # the QR code's dark area, without its quiet zone
QR_GAP = 1.5 * mm  # between the QR's quiet zone and the from-block's rule
QR_EDGE = 1.5 * mm  # between the QR's quiet zone and the label's edge
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
    sender: str | None = None  # the from-block: the printer or warehouse that prints the label
    kabkota: str = ""
    prefix_length: int = 0  # the GS1 company prefix's length, to print the SSCC in its parts


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


def gs1_128_ops(sscc: str, reduction: float = 0.0) -> tuple[int, str]:
    """GS1-128 with AI (00) (FNC1 first, Code 128 set C) as PDF `re` operators, one per bar, each
    `reduction` modules narrower than its modules (half on either side)."""
    modules = _GS1_128("00" + sscc).build()[0]
    rects, x = [], 0
    while x < len(modules):
        if modules[x] == "1":
            start = x
            while x < len(modules) and modules[x] == "1":
                x += 1
            if reduction:
                rects.append(f"{start + reduction / 2:.4f} 0 {x - start - reduction:.4f} 1 re")
            else:
                rects.append(f"{start} 0 {x - start} 1 re")
        else:
            x += 1
    return len(modules), " ".join(rects) + " f"


def bar_geometry(label_width: float) -> tuple[float, float]:
    """The X dimension of a label's GS1-128 (points) and its bar width reduction (in modules)."""
    dots = min(BAR_X_DOTS, int(label_width / (SSCC_MODULES + 2 * QUIET_BARCODE) / DOT))
    return dots * DOT, max(0, dots - BAR_DOTS) / dots


def codes_for(spec: LabelSpec, reduction: float = 0.0) -> Codes:
    size, qr = qr_ops(spec.uri)
    modules, bars = gs1_128_ops(spec.sscc, reduction)
    return Codes(size, qr, modules, bars)


def _draw_codes(canvas: Canvas, ops: str, x: float, y: float, sx: float, sy: float) -> None:
    """Draw module-unit operators with their origin at (x, y) (top left for a QR: sy < 0), in black: one
    path in its own graphics state (one `cm` for the translation and the scale together)."""
    canvas.addLiteral(f"q 0 0 0 rg {fp_str(sx, 0, 0, sy, x, y)} cm {ops} Q")


def sscc_text(sscc: str, prefix_length: int = 0) -> str:
    """The SSCC as the guideline prints it: extension digit, company prefix, serial reference, check
    digit ("0 0614141 123456789 0"); without a known prefix length, extension, the rest, check digit."""
    if 6 <= prefix_length <= 12:
        return f"{sscc[0]} {sscc[1 : 1 + prefix_length]} {sscc[1 + prefix_length : 17]} {sscc[17]}"
    return f"{sscc[0]} {sscc[1:17]} {sscc[17]}"


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to `size` at which `text` fits in `width`."""
    needed = canvas.stringWidth(text, font, size)
    return size if needed <= width else max(5.0, size * width / needed)


def _text(canvas: Canvas, text: str, x: float, y: float, font: str, size: float, width: float) -> None:
    canvas.setFont(font, _fit(canvas, text, font, size, width))
    canvas.drawString(x, y, text)


def _label_form(canvas: Canvas, spec: LabelSpec, w: float, h: float) -> str:
    """The name of a Form XObject with what labels of one contest, sender and reprint number share, in
    the label's own coordinates: the colour band and its text, the from-block, the two rules, "Kepada:"
    and the SSCC block's title. Drawn once a PDF, then placed on each label with one `Do`."""
    key = (round(w, 3), round(h, 3), spec.colour, spec.contest, spec.contest_label, spec.reprint, spec.sender)
    name = "label" + hashlib.sha1(repr(key).encode()).hexdigest()[:16]
    if canvas.hasForm(name):
        return name
    canvas.beginForm(name, 0, 0, w, h)
    canvas.setFillColor(HexColor(spec.colour))
    canvas.rect(0, h - BAND, w, BAND, stroke=0, fill=1)
    light_band = spec.contest == "DPR"  # black on the yellow band, white on the others
    canvas.setFillColorRGB(*((0, 0, 0) if light_band else (1, 1, 1)))
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(PAD, h - BAND + 2.3 * mm, spec.contest_label.upper())
    if spec.reprint:
        canvas.drawRightString(w - PAD, h - BAND + 2.3 * mm, f"REPRINT {spec.reprint}")
    canvas.setFillColorRGB(0, 0, 0)
    canvas.setLineWidth(0.6)
    top = h - BAND
    if spec.sender:
        _text(canvas, f"Dari {spec.sender}", PAD, top - 7 * mm, "Helvetica-Bold", 12, w - 2 * PAD)
    to_top = top - FROM_BLOCK
    canvas.line(PAD, to_top, w - PAD, to_top)
    canvas.line(PAD, SSCC_BLOCK, w - PAD, SSCC_BLOCK)
    canvas.setFont("Helvetica", 7)
    canvas.drawString(PAD, to_top - 3.5 * mm, "Kepada:")
    canvas.setFont("Helvetica-Bold", 13)  # the data title, capitals 3.3 mm tall
    canvas.drawString(PAD, SSCC_BLOCK - 5.8 * mm, "SSCC")
    canvas.endForm()
    return name


def draw_label(canvas: Canvas, spec: LabelSpec, codes: Codes, x: float, y: float, w: float, h: float) -> None:
    """One GS1 logistic label in the box (x, y, w, h), y at the bottom, top to bottom: the contest's colour
    band, the from-block (who printed it), the to-block (where it goes, with the QR code and box n of N),
    and the SSCC block (title, the SSCC in text, the GS1-128 symbol and its human-readable line).

    What labels share is one Form XObject (`_label_form`); each label adds its two codes (a path each)
    and one text object with its own lines."""
    form = _label_form(canvas, spec, w, h)
    canvas.saveState()
    canvas.translate(x, y)
    canvas.doForm(form)
    canvas.restoreState()

    # to-block: the QR at the right with its quiet zone, the destination at the left
    to_top = y + h - BAND - FROM_BLOCK
    sscc_top = y + SSCC_BLOCK
    qr_module = QR_SIDE / codes.qr_size
    quiet = QUIET_QR * qr_module
    qr_left = x + w - QR_EDGE - quiet - QR_SIDE  # the quiet zone ends QR_EDGE inside the label's edge
    qr_top = to_top - QR_GAP - quiet
    _draw_codes(canvas, codes.qr_ops, qr_left, qr_top, qr_module, -qr_module)
    # SSCC block: GS1-128 with AI (00)
    bar_module = bar_geometry(w)[0]
    bar_left = round((x + (w - codes.bar_modules * bar_module) / 2) / DOT) * DOT  # on a printer's dot
    _draw_codes(canvas, codes.bar_ops, bar_left, y + BAR_BOTTOM, bar_module, BAR_HEIGHT)

    text = canvas.beginText()
    font_now = None

    def put(line: str, left: float, baseline: float, font: str, size: float) -> None:
        nonlocal font_now
        if font_now != (font, size):
            text.setFont(font, size)
            font_now = (font, size)
        text.setTextOrigin(left, baseline)
        text.textLine(line)  # unlike textOut, no string width to compute

    def centred(line: str, centre: float, baseline: float, font: str, size: float) -> None:
        put(line, centre - canvas.stringWidth(line, font, size) / 2, baseline, font, size)

    text_x, text_width = x + PAD, qr_left - quiet - x - PAD - 1 * mm
    lines = _carton_lines(spec) if spec.order_ref else _box_lines(spec)
    line_y = to_top - 3.5 * mm - 10 * mm
    for line, font, size in lines:
        put(line, text_x, line_y, font, _fit(canvas, line, font, size, text_width))
        line_y -= size * 1.3
    count = spec.quantity if spec.quantity and not spec.order_ref else None
    if count is None:
        count = f"{'Karton' if spec.order_ref else 'Kotak'} {spec.box_index} dari {spec.box_count}"
    centre = qr_left + QR_SIDE / 2
    size = _fit(canvas, count, "Helvetica-Bold", 16, QR_SIDE + 2 * quiet)
    centred(count, centre, qr_top - QR_SIDE - quiet - 6 * mm, "Helvetica-Bold", size)
    centred(spec.tps_code, centre, qr_top - QR_SIDE - quiet - 11 * mm, "Courier", 9)

    # SSCC block: the SSCC in text beside the title, the human-readable line under the symbol
    readable = sscc_text(spec.sscc, spec.prefix_length)
    put(readable, x + PAD + 16 * mm, sscc_top - 5.8 * mm, "Helvetica-Bold", 16)
    centred(f"(00) {readable}", x + w / 2, y + HRI_BASELINE, "Helvetica", 13)  # digits 3.2 mm tall
    canvas.drawText(text)


def _box_lines(spec: LabelSpec) -> list[tuple[str, str, float]]:
    """A box's (or a packet's) destination: TPS, desa, kecamatan, kab/kota, dapil or contest."""
    return [
        (f"TPS {spec.tps_code.rsplit('-', 1)[-1][-3:]}", "Helvetica-Bold", 28),
        (f"Kel./Desa {spec.desa}", "Helvetica-Bold", 13),
        (f"Kec. {spec.kecamatan}", "Helvetica", 12),
        (spec.kabkota, "Helvetica", 12),
        (spec.dapil or spec.contest_label, "Helvetica-Bold", 12),
    ]


def _carton_lines(spec: LabelSpec) -> list[tuple[str, str, float]]:
    """A vendor carton's destination: the warehouse it goes to, its order, what it holds."""
    return [
        (spec.tps_code, "Helvetica-Bold", 22),
        (spec.tps_name, "Helvetica", 11),
        (f"Pesanan {spec.order_ref}", "Helvetica-Bold", 13),
        (spec.dapil or spec.contest_label, "Helvetica-Bold", 12),
        (spec.quantity or "", "Helvetica-Bold", 12),
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


def _codes(specs: list[LabelSpec], processes: int, reduction: float) -> Iterator[Codes]:
    work = functools.partial(codes_for, reduction=reduction)
    if processes <= 1 or len(specs) < 64:
        yield from map(work, specs)
        return
    # fork is quickest, but only safe from a process with one thread: in the job worker (threads) another
    # thread may hold a lock at the moment of the fork, which the child would wait on forever. There the
    # drawing processes come from a fresh single-threaded server process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    with multiprocessing.get_context(method).Pool(processes) as pool:
        yield from pool.imap(work, specs, chunksize=32)


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
    reduction = bar_geometry(slots[0][2])[1]  # every label of a format has the same width
    codes = _codes(specs, processes or os.cpu_count() or 1, reduction)
    for count, (spec, label_codes) in enumerate(zip(specs, codes, strict=True), 1):
        slot = slots[(count - 1) % len(slots)]
        draw_label(canvas, spec, label_codes, *slot)
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
