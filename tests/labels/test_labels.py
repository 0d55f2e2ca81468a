"""Box labels: every code printed decodes back to its box with an independent decoder (zxing-cpp),
on A4 sheets and thermal labels, drawn serially or by worker processes."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select, text

from config import TestConfig
from tests.factories import UserFactory
from webapp.boxes.models import Box, Packet
from webapp.custody.ledger import SigningKey
from webapp.custody.models import CustodyEvent
from webapp.custody.verification import verify_database
from webapp.geo.models import Site
from webapp.labels.render import render_pdf
from webapp.labels.services import label_specs

BASE = "https://jejak.kpu.go.id"


def decoded(pdf_bytes: bytes) -> tuple[list[str], list[str], list[str]]:
    """(QR texts, GS1-128 texts, page texts) of a PDF rasterised at 300 dpi."""
    qr, linear, texts = [], [], []
    document = pdfium.PdfDocument(pdf_bytes)
    for page in document:
        texts.append(page.get_textpage().get_text_range())
        for result in zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil()):
            (qr if result.format == zxingcpp.BarcodeFormat.QRCode else linear).append(result.text)
    return qr, linear, texts


def render(specs, fmt: str, processes: int = 1) -> bytes:
    out = io.BytesIO()
    assert render_pdf(specs, out, fmt, processes) == len(specs)
    return out.getvalue()


@pytest.fixture
def one_desa(seeded, app):
    """The labels of every box bound for the TPS of one kelurahan."""
    desa = seeded.scalar(select(Site.region_code).where(Site.kind == "tps").order_by(Site.code).limit(1))
    with app.app_context():  # as the command, the page and the job worker run it
        specs = label_specs(seeded, desa, BASE)
    boxes = seeded.scalars(
        select(Box.sscc).join(Site, Box.destination_id == Site.id).where(Site.region_code == desa)
    ).all()
    assert sorted(s.sscc for s in specs) == sorted(boxes) and len(boxes) >= 8
    return specs


@pytest.mark.parametrize("fmt", ["a4", "thermal"])
def test_every_code_on_every_label_decodes_to_its_box(one_desa, fmt):
    specs = one_desa[:16]
    qr, linear, _ = decoded(render(specs, fmt))
    assert sorted(qr) == sorted(f"{BASE}/00/{s.sscc}" for s in specs)
    assert sorted(linear) == sorted(f"(00){s.sscc}" for s in specs)


def test_a_label_says_where_the_box_goes(one_desa, app):
    spec = one_desa[1]  # the DPR box of the first TPS: it has a dapil
    _, _, [text] = decoded(render([spec], "thermal"))
    n = len(app.config["GS1_COMPANY_PREFIX"])
    assert spec.kabkota and spec.desa and spec.kecamatan
    for expected in (
        f"TPS {spec.tps_code[-3:]}",
        f"Kel./Desa {spec.desa}",
        f"Kec. {spec.kecamatan}",
        spec.kabkota,
        spec.dapil,
        f"Kotak {spec.box_index} dari {spec.box_count}",
        "SSCC",
        f"(00) {spec.sscc[0]} {spec.sscc[1 : 1 + n]} {spec.sscc[1 + n : 17]} {spec.sscc[17]}",
        spec.contest_label.upper(),
    ):
        assert expected in text
    assert "REPRINT" not in text


def test_workers_draw_the_same_pdf_as_one_process(seeded):
    specs = label_specs(seeded, "31.01", BASE)[:100]
    assert len(specs) >= 64  # enough for the worker pool to start
    assert render(specs, "a4", processes=2) == render(specs, "a4", processes=1)


@pytest.fixture
def gudang(seeded):
    warehouse = seeded.scalar(select(Site).where(Site.code == "KPU-3101"))
    user = UserFactory(role="warehouse", scope_site=warehouse)
    seeded.commit()
    return user


def test_printing_commissions_each_box_and_a_reprint_says_so(seeded, runner, gudang, tmp_path):
    tps = seeded.scalar(select(Site.code).where(Site.kind == "tps").order_by(Site.code).limit(1))
    args = ["labels", "pdf", "--region", tps, "--format", "thermal", "--at", "KPU-3101", "--by", gudang.username]
    first = tmp_path / "first.pdf"
    result = runner.invoke(args=[*args, "--out", str(first)])
    assert result.exit_code == 0, result.output
    _, linear, texts = decoded(first.read_bytes())
    assert len(texts) == 4 and not any("REPRINT" in text for text in texts)
    warehouse = seeded.scalar(select(Site.name).where(Site.code == "KPU-3101"))
    assert all(f"Dari {warehouse}" in text for text in texts)  # the from-block: where it was printed
    boxes = seeded.scalars(select(Box).where(Box.sscc.in_([code.removeprefix("(00)") for code in linear]))).all()
    assert {box.status for box in boxes} == {"commissioned"}
    assert {(box.chain_length, box.holder_site.code) for box in boxes} == {(1, "KPU-3101")}

    again = tmp_path / "again.pdf"
    result = runner.invoke(args=[*args, "--out", str(again)])
    assert result.exit_code == 0, result.output
    _, _, texts = decoded(again.read_bytes())
    assert all("REPRINT 1" in text for text in texts)
    notes = seeded.scalars(
        select(CustodyEvent.note).where(CustodyEvent.box_id.in_([b.id for b in boxes])).order_by(CustodyEvent.id)
    ).all()
    assert notes == ["label printed"] * 4 + ["REPRINT 1"] * 4
    assert verify_database(seeded, SigningKey.from_text(TestConfig.LEDGER_SIGNING_KEY).public_text).ok


def test_a_box_held_elsewhere_gets_no_label(seeded, runner, gudang, tmp_path):
    """A label is only printed where the box is: one already sent on its way is refused, and said so."""
    tps = seeded.scalar(select(Site.code).where(Site.kind == "tps").order_by(Site.code).limit(1))
    args = ["labels", "pdf", "--region", tps, "--at", "KPU-3101", "--by", gudang.username]
    assert runner.invoke(args=[*args, "--out", str(tmp_path / "a.pdf")]).exit_code == 0
    box = seeded.scalar(select(Box).join(Site, Box.destination_id == Site.id).where(Site.code == tps).limit(1))
    seeded.execute(
        text("UPDATE box SET holder_site_id = (SELECT id FROM site WHERE code = 'PPK-310101') WHERE id = :id"),
        {"id": box.id},
    )
    seeded.commit()
    out = tmp_path / "b.pdf"
    result = runner.invoke(args=[*args, "--out", str(out)])
    assert result.exit_code == 1 and f"not printed: {box.sscc} (not_held_by_you)" in result.output
    _, linear, _ = decoded(out.read_bytes())
    assert len(linear) == 3 and f"(00){box.sscc}" not in linear


def test_the_cli_refuses_what_it_cannot_print(seeded, runner, gudang, tmp_path):
    tps = seeded.scalar(select(Site.code).where(Site.kind == "tps").order_by(Site.code).limit(1))
    missing = tmp_path / "none.pdf"
    who = ["--at", "KPU-3101", "--by", gudang.username, "--out", str(missing)]
    result = runner.invoke(args=["labels", "pdf", "--region", "99.99", *who])
    assert result.exit_code == 1 and "nothing written" in result.output
    result = runner.invoke(args=["labels", "pdf", "--region", tps, "--format", "a5", *who])
    assert result.exit_code == 2
    result = runner.invoke(
        args=["labels", "pdf", "--region", tps, "--at", "KPU-3101", "--by", "nobody", "--out", str(missing)]
    )
    assert result.exit_code == 2 and "no active user nobody" in result.output
    result = runner.invoke(
        args=[
            "labels",
            "pdf",
            "--region",
            tps,
            "--at",
            "TPS-3101011001001",
            "--by",
            gudang.username,
            "--out",
            str(missing),
        ]
    )
    assert result.exit_code == 1 and "(forbidden)" in result.output
    assert not missing.exists()


def test_packet_labels_decode_and_say_what_they_hold(seeded, runner, gudang, tmp_path):
    tps = seeded.scalar(select(Site).where(Site.kind == "tps").order_by(Site.code).limit(1))
    out = tmp_path / "packets.pdf"
    args = ["labels", "pdf", "--packets", "--region", tps.code, "--format", "thermal", "--out", str(out)]
    result = runner.invoke(args=[*args, "--at", "KPU-3101", "--by", gudang.username])
    assert result.exit_code == 0, result.output
    packets = seeded.scalars(select(Packet).where(Packet.tps_id == tps.id).order_by(Packet.id)).all()
    qr, linear, texts = decoded(out.read_bytes())
    assert sorted(linear) == sorted(f"(00){p.sscc}" for p in packets) and len(qr) == len(packets)
    ballots = next(i for i, p in enumerate(packets) if p.item_type.code == "SURAT_SUARA_DPR")
    assert f"{packets[ballots].quantity} lembar" in texts[ballots] and "Surat suara DPR".upper() in texts[ballots]
    assert seeded.scalar(select(CustodyEvent)) is None  # packets are not commissioned in the ledger
