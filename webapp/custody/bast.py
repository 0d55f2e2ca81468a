"""The printable BAST: a numbered PDF listing the boxes, seals, condition, discrepancies and signatures,
with a QR code that opens its verification page. Drawn from the handover's frozen summary with
ReportLab in invariant mode, so the same BAST always gives the same bytes: the SHA-256 kept at closing
proves a printed copy was not altered."""

from __future__ import annotations

import hashlib
import io
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from webapp.custody.handovers import party
from webapp.custody.models import Handover
from webapp.geo.zones import local_time

OUTCOME = {
    "received": "Diterima",
    "missing": "TIDAK ADA (hilang)",
    "unexpected": "TIDAK DIHARAPKAN",
    "refused": "DITOLAK di serah terima",
}
ROLE = {"sender": "Pihak yang menyerahkan", "receiver": "Pihak yang menerima", "witness": "Saksi"}


def verify_url(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/bast/{number}"


def _qr(text: str, size: float) -> Drawing:
    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def bast_pdf(handover: Handover, base_url: str) -> tuple[bytes, str]:
    """(PDF bytes, their SHA-256) of a closed handover."""
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["BodyText"].clone("small", fontSize=8, leading=10)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"BAST {handover.number}",
        author="Jejak",
        invariant=1,
    )
    items = handover.summary["items"]
    story = _heading(handover, base_url, styles, body)
    story += [_box_table(items, small), Spacer(1, 4 * mm)]
    story += _totals(items, body)
    story += [_signatures(handover, small), Spacer(1, 4 * mm)]
    story.append(
        Paragraph(
            escape(
                f"Daftar kotak ini dibaca dari buku besar Jejak (token {handover.token}). "
                f"Periksa keaslian dokumen ini di {verify_url(base_url, handover.number)}."
            ),
            small,
        )
    )
    doc.build(story)
    data = out.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def _heading(handover: Handover, base_url: str, styles, body) -> list:
    closed = local_time(handover.closed_at, handover.sender_site)  # in the sender's zone: WIB, WITA or WIT
    return [
        Table(
            [
                [
                    Paragraph(
                        "<b>BERITA ACARA SERAH TERIMA</b><br/>LOGISTIK PEMILU"
                        f"<br/><br/>Nomor: <b>{escape(handover.number)}</b><br/>Ditutup: {closed}",
                        styles["Heading2"],
                    ),
                    _qr(verify_url(base_url, handover.number), 32 * mm),
                ]
            ],
            colWidths=[140 * mm, 40 * mm],
        ),
        Paragraph(f"Yang menyerahkan: <b>{escape(party(handover, 'sender'))}</b>", body),
        Paragraph(f"Yang menerima: <b>{escape(party(handover, 'receiver'))}</b>", body),
        Spacer(1, 4 * mm),
    ]


def _box_table(items: list[dict], small) -> Table:
    """One row per box, its outcome in words; every discrepancy shaded."""
    rows = [["No", "Kotak (SSCC)", "Tujuan", "Segel", "Kondisi", "Status"]]
    for n, item in enumerate(items, 1):
        rows.append(
            [
                str(n),
                item["sscc"],
                Paragraph(escape(f"{item['destination_name']} ({item['destination']})"), small),
                Paragraph(escape(_seals(item)), small),
                item["condition"] or ("-" if item["outcome"] == "missing" else "baik"),
                Paragraph(f"<b>{OUTCOME[item['outcome']]}</b>", small),
            ]
        )
    table = Table(rows, colWidths=[9 * mm, 38 * mm, 55 * mm, 30 * mm, 16 * mm, 32 * mm], repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#0b3d2e")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for n, item in enumerate(items, 1):
        if item["outcome"] != "received":
            style.append(("BACKGROUND", (0, n), (-1, n), colors.HexColor("#fdecea")))
    table.setStyle(TableStyle(style))
    return table


def _seals(item: dict) -> str:
    seals = ", ".join(item["seals"]) or "-"
    return f"{seals} (segel berbeda, disaksikan {item['witness']})" if item.get("witness") else seals


def _totals(items: list[dict], body) -> list:
    counts = {k: sum(1 for i in items if i["outcome"] == k) for k in OUTCOME}
    story = [
        Paragraph(
            f"Jumlah: {len(items)} kotak; diterima {counts['received']}, "
            f"<b>tidak ada {counts['missing']}</b>, <b>tidak diharapkan {counts['unexpected']}</b>, "
            f"<b>ditolak {counts['refused']}</b>.",
            body,
        )
    ]
    discrepancies = [i for i in items if i["outcome"] != "received"]
    if discrepancies:
        story.append(Paragraph("<b>Selisih:</b>", body))
        for item in discrepancies:
            why = f" ({item['message']})" if item.get("message") else ""
            story.append(Paragraph(escape(f"{item['sscc']}: {OUTCOME[item['outcome']]}{why}"), body))
    story.append(Spacer(1, 6 * mm))
    return story


def _signatures(handover: Handover, small) -> Table:
    cells = []
    for signature in handover.signatures:
        cells.append(
            [
                Paragraph(escape(ROLE[signature.role]), small),
                Image(io.BytesIO(signature.image), width=50 * mm, height=20 * mm, kind="proportional"),
                Paragraph(
                    f"<b>{escape(signature.name)}</b>"
                    + (f"<br/>{escape(signature.organisation)}" if signature.organisation else ""),
                    small,
                ),
            ]
        )
    signatures = Table(cells, colWidths=[45 * mm, 60 * mm, 75 * mm])  # one row per signer
    signatures.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("BOX", (0, 0), (-1, -1), 0.4, colors.grey)])
    )
    return signatures
