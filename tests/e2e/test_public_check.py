"""The public box page checks, in the reader's browser, that the box's latest record is in the checkpoint KPU
signed (its inclusion proof) and names the witnesses who cosigned it; until a checkpoint covers the record it
says so plainly; a checkpoint signed with another key is called out."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect

from tests.e2e.test_handover import commission
from webapp.core.database import begin_write
from webapp.custody import notes
from webapp.custody.checkpoints import make_checkpoint, signing_key
from webapp.custody.witnesses import register_witness, store_cosignature, witness_verifier
from webapp.extensions import db


def checkpoint_now(app) -> str:
    with app.app_context():
        begin_write(db.session)
        checkpoint = make_checkpoint(db.session, signing_key(app.config))
        db.session.commit()
        return checkpoint.note


def test_the_public_page_checks_the_box_in_the_signed_ledger_and_names_its_witness(page: Page, live_app, artifacts):
    [sscc] = commission(live_app, 1)
    page.goto(f"/00/{sscc}")
    result = page.locator("#ledger-check .ledger-result")
    if page.locator("#ledger-check").get_attribute("data-state") != "ok":
        # Other tests may have signed one already; if this box's record is newer, the page says it waits.
        expect(page.locator("#ledger-check")).to_have_attribute("data-state", "pending")
        expect(result).to_contain_text("belum masuk titik periksa bertanda tangan")
    note = checkpoint_now(live_app)
    witness_key = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    name = "bawaslu.example/uji"
    with live_app.app_context():
        register_witness(db.session, name, witness_verifier(name, witness_key).vkey, "Bawaslu (uji)", datetime.now(UTC))
        text = notes.split_note(note)[0]
        cosignature = notes.cosign(text, name, witness_key, int(datetime.now(UTC).timestamp()))
        store_cosignature(db.session, note + cosignature.line, datetime.now(UTC))
        db.session.commit()

    page.goto(f"/00/{sscc}")
    expect(page.locator("#ledger-check")).to_have_attribute("data-state", "ok")
    expect(result).to_contain_text("Diperiksa di ponsel ini: catatan terakhir kotak ini ada dalam buku besar")
    expect(result).to_contain_text(f"Saksi independen ikut menandatangani buku besar itu: {name} (")
    expect(result).to_contain_text(" WIB).")  # the witness's time in the zone of the box's TPS, as on the page
    page.screenshot(path=str(artifacts / "public-box-checked-360.png"), full_page=True)

    # A page whose published key is not the one the checkpoint is signed with must not say "checked".
    page.evaluate(
        """() => {
            const box = document.getElementById("ledger-check");
            box.dataset.logKey = box.dataset.logKey.replace(/^[^+]+/, "someone.else");
        }"""
    )
    page.add_script_tag(url="/static/js/public-box.js?again", type="module")
    expect(page.locator("#ledger-check")).to_have_attribute("data-state", "bad")
    expect(result).to_contain_text("Peringatan: pemeriksaan gagal")
