"""Box labels are GS1 logistic labels, measured on the printed page: the PDFs are rasterised (pypdfium2) and
the codes found with an independent decoder (zxing-cpp); sizes are measured in pixels of the image.

GS1 General Specifications and the GS1 logistic label guideline: A6 labels (105 x 148 mm), GS1-128 with an
X dimension of at least 0.495 mm and bars at least 31.75 mm tall, an "SSCC" data title and the SSCC in text
at least 3 mm tall, and a QR code with 4 modules of white all round."""

from __future__ import annotations

import io
import itertools
from dataclasses import replace

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import select

from webapp.geo.models import Site
from webapp.labels.render import render_pdf, sscc_text
from webapp.labels.services import label_specs

BASE = "https://jejak.kpu.go.id"
DPI = 600
PX = DPI / 25.4  # pixels a millimetre
PT = 72 / 25.4  # PDF points a millimetre
A6 = (105, 148)
THERMAL = (100, 150)
A4 = (210, 297)


def render(specs, fmt: str) -> pdfium.PdfDocument:
    out = io.BytesIO()
    assert render_pdf(specs, out, fmt, processes=1) == len(specs)
    return pdfium.PdfDocument(out.getvalue())


def raster(page, dpi: int = DPI, mode: str = "L") -> Image.Image:
    return page.render(scale=dpi / 72).to_pil().convert(mode)


def row(image: Image.Image, y: int, x0: int = 0, x1: int | None = None) -> bytes:
    return image.crop((x0, y, image.width if x1 is None else x1, y + 1)).tobytes()


def column(image: Image.Image, x: int, y0: int = 0, y1: int | None = None) -> bytes:
    return image.crop((x, y0, x + 1, image.height if y1 is None else y1)).tobytes()


def dark_runs(pixels: bytes, threshold: int = 128) -> list[tuple[int, int]]:
    """(start, length) of every run of dark pixels."""
    runs, start = [], None
    for i, value in enumerate(pixels):
        if value < threshold and start is None:
            start = i
        elif value >= threshold and start is not None:
            runs.append((start, i - start))
            start = None
    if start is not None:
        runs.append((start, len(pixels) - start))
    return runs


def bounds(result) -> tuple[int, int, int, int]:
    p = result.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    return min(xs), min(ys), max(xs), max(ys)


def label_slots(fmt: str) -> list[tuple[int, int, int, int]]:
    """Where each label should be on the page, in pixels (left, top, right, bottom)."""
    if fmt == "thermal":
        return [(0, 0, round(THERMAL[0] * PX), round(THERMAL[1] * PX))]
    left, top = (A4[0] - 2 * A6[0]) / 2, (A4[1] - 2 * A6[1]) / 2
    return [
        (
            round((left + col * A6[0]) * PX),
            round((top + r * A6[1]) * PX),
            round((left + (col + 1) * A6[0]) * PX),
            round((top + (r + 1) * A6[1]) * PX),
        )
        for r in range(2)
        for col in range(2)
    ]


@pytest.fixture
def one_tps(seeded, app):
    """The four boxes bound for the first TPS (one per contest, so four band colours)."""
    tps = seeded.scalar(select(Site.code).where(Site.kind == "tps").order_by(Site.code).limit(1))
    with app.app_context():  # as the command, the page and the job worker run it
        specs = label_specs(seeded, tps, BASE)
    assert len(specs) == 4 and len({s.colour for s in specs}) == 4
    return specs


def test_a4_sheets_hold_four_a6_labels_and_thermal_labels_are_100_by_150(one_tps):
    a4 = render(one_tps, "a4")
    assert len(a4) == 1  # four labels, one sheet
    page = a4[0]
    assert [round(v / PT) for v in page.get_size()] == list(A4)
    image = raster(page, mode="RGB")
    # Each label starts with its contest's colour band, the label's full width: two bands side by side in
    # each row of labels, each 105 mm wide; the second row's bands start 148 mm below the first's.
    left, top, _, _ = label_slots("a4")[0]
    band_row = top + round(7.5 * PX)  # under the band's text
    widths = colour_runs(image, y=band_row)
    assert [round(w / PX, 1) for w in widths] == [105.0, 105.0]
    tops = [start for start, _ in colour_runs(image, x=left + round(1.5 * PX), starts=True)]
    assert len(tops) == 2 and abs((tops[1] - tops[0]) / PX - A6[1]) < 0.2, [t / PX for t in tops]
    assert abs(tops[0] / PX - (A4[1] - 2 * A6[1]) / 2) < 0.2

    thermal = render(one_tps, "thermal")
    assert len(thermal) == 4  # one label a page
    for page in thermal:
        assert [round(v / PT) for v in page.get_size()] == list(THERMAL)
    image = raster(thermal[0], mode="RGB")
    assert [round(w / PX, 1) for w in colour_runs(image, y=round(7.5 * PX))] == [100.0]


def colour_runs(image: Image.Image, *, y: int | None = None, x: int | None = None, starts: bool = False) -> list:
    """Runs (longer than 5 mm) of one non-white colour along a row or a column: their lengths, or
    (start, length) with `starts`."""
    line = image.crop((0, y, image.width, y + 1)) if y is not None else image.crop((x, 0, x + 1, image.height))
    pixels = list(line.get_flattened_data())
    runs, start = [], 0
    for i in range(1, len(pixels) + 1):
        if i == len(pixels) or pixels[i] != pixels[start]:
            if pixels[start] != (255, 255, 255) and i - start > 5 * PX:
                runs.append((start, i - start))
            start = i
    return runs if starts else [length for _, length in runs]


def symbols(one_tps, fmt: str, kind):
    """Each symbol of one kind on the labels' pages at 600 dpi: (the page's image, what zxing-cpp found)."""
    for page in render(one_tps, fmt):
        image = raster(page)
        for result in zxingcpp.read_barcodes(image, formats=kind):
            yield image, result


@pytest.mark.parametrize("fmt", ["a4", "thermal"])
def test_the_gs1_128_has_bars_31_75_mm_tall_at_an_x_of_0_495_mm_or_more(one_tps, fmt):
    found = 0
    for image, result in symbols(one_tps, fmt, zxingcpp.BarcodeFormat.Code128):
        found += 1
        x0, y0, x1, y1 = bounds(result)
        y = (y0 + y1) // 2
        margin = min(round(4 * PX), x0)  # a little of the quiet zone, and never off the page
        bars = dark_runs(row(image, y, x0 - margin, x1 + margin))
        symbol_start = bars[0][0]
        symbol_width = bars[-1][0] + bars[-1][1] - symbol_start
        assert symbol_width / 156 / PX >= 0.495  # (00) + 18 digits: 156 modules
        # the narrowest bar, its width in ink: the darkness summed across it (edges are anti-aliased)
        line = row(image, y, x0 - margin, x1 + margin)
        inked = [sum(255 - v for v in line[start - 1 : start + length + 1]) / 255 for start, length in bars]
        assert min(inked) / PX >= 0.495, f"narrowest bar {min(inked) / PX:.3f} mm"
        spaces = [b[0] - (a[0] + a[1]) for a, b in itertools.pairwise(bars)]
        assert min(spaces) / PX >= 0.495 - 1 / PX  # the narrowest space (one pixel of anti-aliasing)
        for start, length in bars:  # every bar, measured up and down its middle
            x = x0 - margin + start + length // 2
            runs = [r for r in dark_runs(column(image, x)) if r[0] <= y < r[0] + r[1]]
            assert runs[0][1] / PX >= 31.75, f"bar at x={x} is {runs[0][1] / PX:.2f} mm tall"
        # the quiet zones: 10 X of white either side of the symbol, on the label
        left = x0 - margin + symbol_start
        slot = next(s for s in label_slots(fmt) if s[0] <= left < s[2] and s[1] <= y < s[3])
        quiet = round(10 * 0.495 * PX)
        assert left - quiet >= slot[0] and left + symbol_width + quiet <= slot[2]
        assert not dark_runs(row(image, y, left - quiet, left - 1))
        assert not dark_runs(row(image, y, left + symbol_width + 1, left + symbol_width + quiet))
    assert found == len(one_tps)


@pytest.mark.parametrize("fmt", ["a4", "thermal"])
def test_the_qr_code_has_four_modules_of_white_to_every_edge_and_drawing(one_tps, fmt):
    found = 0
    for image, result in symbols(one_tps, fmt, zxingcpp.BarcodeFormat.QRCode):
        found += 1
        x0, y0, x1, y1 = bounds(result)
        # the symbol's exact extent: every non-white pixel near the corners the decoder found
        near = image.crop((x0 - 6, y0 - 6, x1 + 6, y1 + 6)).point(lambda v: 255 if v < 250 else 0)
        bx0, by0, bx1, by1 = near.getbbox()
        left, top, right, bottom = x0 - 6 + bx0, y0 - 6 + by0, x0 - 6 + bx1, y0 - 6 + by1
        # a module: the finder pattern's top edge is 7 modules of dark
        module = dark_runs(row(image, top + 3, left, right))[0][1] / 7
        assert abs((right - left) / module - round((right - left) / module)) < 0.3  # whole modules
        quiet = 4 * module
        zone = (round(left - quiet), round(top - quiet), round(right + quiet), round(bottom + quiet))
        slot = next(s for s in label_slots(fmt) if s[0] <= left < s[2] and s[1] <= top < s[3])
        assert slot[0] <= zone[0] and slot[1] <= zone[1] and zone[2] <= slot[2] and zone[3] <= slot[3]
        ring = image.crop(zone).point(lambda v: 255 if v < 250 else 0)
        ring.paste(0, (left - zone[0], top - zone[1], right - zone[0], bottom - zone[1]))
        assert ring.getbbox() is None, "something drawn in the QR code's quiet zone"
    assert found == len(one_tps)


def test_the_sscc_block_has_its_title_and_the_sscc_in_text_3_mm_tall(one_tps, app):
    spec = one_tps[0]
    page = render([spec], "thermal")[0]
    text = page.get_textpage()
    content = text.get_text_range()
    n = len(app.config["GS1_COMPANY_PREFIX"])  # extension digit, company prefix, serial reference, check digit
    readable = f"{spec.sscc[0]} {spec.sscc[1 : 1 + n]} {spec.sscc[1 + n : 17]} {spec.sscc[17]}"
    assert "SSCC" in content and readable in content
    hri = f"(00) {readable}"
    assert hri in content
    for line in ("SSCC", hri):
        start = content.index(line)
        assert text.get_text_range(start, len(line)) == line  # the text's indices are the characters' indices
        heights = [
            (box[3] - box[1]) / PT
            for i in range(start, start + len(line))
            if content[i].isalnum()
            for box in [text.get_charbox(i)]
        ]
        assert min(heights) >= 3.0, f"{line!r}: characters {min(heights):.2f} mm tall"


@pytest.mark.parametrize("fmt", ["a4", "thermal"])
def test_the_gs1_128_decodes_at_150_dpi_with_a_blur(seeded, app, fmt):
    """200 labels rasterised at 150 dpi, each as it is scanned once stuck on its box (with 5 mm of the box's
    white around it), blurred with a Gaussian of 2 px (a worn print, a poor camera): the GS1-128 alone
    gives the right SSCC with its AI (00), as a GS1 symbol (]C1), on at least 95% of them."""
    with app.app_context():
        specs = label_specs(seeded, "31.01", BASE)[:200]
    assert len(specs) == 200
    scale = 150 / DPI
    per_page = len(label_slots(fmt))
    decoded = 0
    for number, page in enumerate(render(specs, fmt)):
        image = raster(page, dpi=150)
        for slot, spec in zip(label_slots(fmt), specs[number * per_page : (number + 1) * per_page], strict=False):
            label = image.crop(tuple(round(v * scale) for v in slot))
            label = ImageOps.expand(label, round(5 * 150 / 25.4), fill=255).filter(ImageFilter.GaussianBlur(2))
            read = zxingcpp.read_barcodes(label, formats=zxingcpp.BarcodeFormat.Code128)
            decoded += any(r.text == f"(00){spec.sscc}" and r.symbology_identifier == "]C1" for r in read)
    assert decoded >= 190, f"{decoded} of 200 decoded"


def test_labels_sharing_a_sheet_each_show_their_own_band_sender_and_reprint(one_tps):
    """What labels have in common is drawn once a PDF and reused: each label must still show its own
    contest, sender and reprint number, whatever the labels before it on the sheet showed."""
    senders = ["Gudang KPU Kota Jakarta Timur", "PT Percetakan Nusantara"]
    specs = [replace(spec, reprint=(0, 2, 1)[i % 3], sender=senders[i // 4]) for i, spec in enumerate(one_tps * 2)]
    document = render(specs, "a4")
    assert len(document) == 2
    for number, page in enumerate(document):
        text = page.get_textpage()
        for (left, top, right, bottom), spec in zip(label_slots("a4"), specs[number * 4 : number * 4 + 4], strict=True):
            shown = text.get_text_bounded(
                left / PX * PT, (A4[1] - bottom / PX) * PT, right / PX * PT, (A4[1] - top / PX) * PT
            )
            assert spec.contest_label.upper() in shown
            assert f"Dari {spec.sender}" in shown
            assert ("REPRINT" in shown) == bool(spec.reprint)
            if spec.reprint:
                assert f"REPRINT {spec.reprint}" in shown
            assert f"(00) {sscc_text(spec.sscc, spec.prefix_length)}" in shown
