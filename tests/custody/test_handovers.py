"""The digital BAST through the API: a handover's boxes are read back from the ledger, both parties
must sign before it closes, a closed BAST is frozen, and bad requests get clear errors."""

from __future__ import annotations

import base64
import io
import uuid

import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import TPS
from webapp.custody.models import Handover
from webapp.geo.zones import local_time

PPK = "PPK-310101"


def png(colour: str = "black") -> str:
    image = Image.new("RGB", (120, 40), "white")
    image.paste(Image.new("RGB", (80, 4), colour), (20, 18))
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def handover(client, world):
    """Two DKI boxes handed from the warehouse to the PPK under one token, one of them received."""
    token = str(uuid.uuid4())
    boxes = [world.box(), world.box(contest="DPR")]
    for box in boxes:
        world.scan(world.gudang, "commission", box, "KPU-3101")
        world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-9"])  # sealed before it leaves
    login(client, world.gudang.username)
    response = client.post("/api/v1/handovers", json={"token": token, "site": "KPU-3101", "to": PPK})
    assert response.status_code == 201, response.json
    assert client.post("/api/v1/handovers", json={"token": token, "site": "KPU-3101", "to": PPK}).status_code == 200
    for box in boxes:
        assert world.scan(world.gudang, "dispatch", box, "KPU-3101", to=PPK, handover=token).verdict == "accepted"
    client.post("/logout")
    assert world.scan(world.ppk, "receive", boxes[0], PPK, handover=token, seals=["S-9"]).verdict == "accepted"
    login(client, world.ppk.username)
    return token, boxes


def test_a_handover_lists_what_the_ledger_says(client, handover):
    token, boxes = handover
    body = client.get(f"/api/v1/handovers/{token}").json
    assert [(i["sscc"], i["outcome"]) for i in body["items"]] == [
        (boxes[0].sscc, "received"),
        (boxes[1].sscc, "missing"),
    ]
    assert body["items"][0]["seals"] == ["S-9"] and body["counts"] == {
        "received": 1,
        "missing": 1,
        "unexpected": 0,
        "refused": 0,
    }
    assert body["receiver"]["site"] == PPK and body["status"] == "open" and body["number"] is None


def test_closing_needs_both_signatures_then_numbers_and_freezes_the_bast(client, handover, world):
    token, boxes = handover
    refused = client.post(f"/api/v1/handovers/{token}/close", json={})
    assert refused.status_code == 400 and "Kedua pihak harus menandatangani" in refused.json["error"]["message"]
    for role, name in (("sender", "Budi"), ("receiver", "Siti"), ("witness", "Agus")):
        body = {"role": role, "name": name, "image": png()}
        if role == "witness":
            body["organisation"] = "Panwas"
        assert client.post(f"/api/v1/handovers/{token}/signatures", json=body).status_code == 201
    closed = client.post(f"/api/v1/handovers/{token}/close", json={})
    assert closed.status_code == 200 and closed.json["number"].startswith("BAST-")
    number = closed.json["number"]
    # A scan after closing does not change what the closed BAST says.
    assert world.scan(world.ppk, "receive", boxes[1], PPK, handover=token).verdict == "accepted"
    assert client.get(f"/api/v1/handovers/{token}").json["counts"] == {
        "received": 1,
        "missing": 1,
        "unexpected": 0,
        "refused": 0,
    }
    late = client.post(f"/api/v1/handovers/{token}/signatures", json={"role": "witness", "name": "X Y", "image": png()})
    assert late.status_code == 409
    pdf = client.get(f"/bast/{number}.pdf")
    text = pdfium.PdfDocument(pdf.data).get_page(0).get_textpage().get_text_range()
    assert number in text and "Agus" in text and "Panwas" in text and f"{boxes[1].sscc}: TIDAK ADA" in text
    page = client.get(f"/bast/{number}")
    assert page.status_code == 200 and "✔" in page.text
    handover_row = world.session.scalar(select(Handover).where(Handover.number == number))
    assert len(handover_row.pdf_sha256) == 64
    # The closing time in the sender's zone (Jakarta: WIB, UTC+7), on the PDF and on the page alike.
    closed = local_time(handover_row.closed_at, handover_row.sender_site)
    assert closed.endswith(" WIB") and f"Ditutup: {closed}" in text and "UTC" not in text
    assert closed in page.text


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"role": "mayor", "name": "Budi", "image": png()}, 400, "role"),
        ({"role": "sender", "name": "B", "image": png()}, 400, "name"),
        (
            {"role": "sender", "name": "Budi", "image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"},
            400,
            "PNG",
        ),
        ({"role": "sender", "name": "Budi", "image": "data:image/jpeg;base64,AAAA" + "A" * 40}, 400, "image"),
    ],
)
def test_a_bad_signature_is_refused_clearly(client, handover, body, status, fragment):
    token, _ = handover
    response = client.post(f"/api/v1/handovers/{token}/signatures", json=body)
    assert response.status_code == status and fragment in str(response.json["error"])


def test_handovers_are_private_to_their_parties_and_areas(client, handover, world):
    token, _ = handover
    client.post("/logout")
    login(client, world.other_kpps.username)  # a KPPS of another kecamatan
    assert client.get(f"/api/v1/handovers/{token}").status_code == 404
    assert client.get(f"/api/v1/handovers/{uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"token": "not-a-uuid", "site": "KPU-3101", "to": PPK}, "invalid_request"),
        ({"token": str(uuid.uuid4()), "site": "KPU-3101", "to": "PPK-999999"}, "invalid_request"),
        ({"token": str(uuid.uuid4()), "site": "KPU-3101", "to": "courier:nobody"}, "invalid_request"),
        ({"token": str(uuid.uuid4()), "site": TPS, "to": PPK}, "forbidden"),
    ],
)
def test_opening_a_handover_checks_its_parties(client, world, body, code):
    login(client, world.gudang.username)
    response = client.post("/api/v1/handovers", json=body)
    assert response.json["error"]["code"] == code


def jpeg(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def test_incident_photos_are_checked_kept_once_and_shown_only_within_scope(client, world):
    login(client, world.gudang.username)
    assert client.post("/api/v1/photos", data=jpeg(), content_type="image/png").status_code == 415
    assert client.post("/api/v1/photos", data=b"not a photo", content_type="image/jpeg").status_code == 400
    too_big = client.post("/api/v1/photos", data=b"\xff" * 700_000, content_type="image/jpeg")
    assert too_big.status_code == 400 and "600 kB" in too_big.json["error"]["message"]
    first = client.post("/api/v1/photos", data=jpeg(), content_type="image/jpeg")
    assert first.status_code == 201
    digest = first.json["sha256"]
    assert client.post("/api/v1/photos", data=jpeg(), content_type="image/jpeg").status_code == 200
    assert client.get(f"/photos/{digest}.jpg").status_code == 404  # no event names it yet
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    result = world.scan(world.gudang, "damage", box, "KPU-3101", note=f"basah · foto sha256:{digest}")
    assert result.verdict == "accepted"
    shown = client.get(f"/photos/{digest}.jpg")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg" and shown.data == jpeg()
    assert f"/photos/{digest}.jpg" in client.get(f"/boxes/{box.sscc}").text
    client.post("/logout")
    login(client, world.other_kpps.username)
    assert client.get(f"/photos/{digest}.jpg").status_code == 403
    assert client.get("/photos/nothex.jpg").status_code == 404


def test_only_the_parties_sign_and_only_their_own_scans_count(client, handover, world):
    from tests.factories import UserFactory

    token, boxes = handover
    # The PPK sends the received box on, quoting the token: not this BAST's business.
    assert world.scan(world.ppk, "dispatch", boxes[0], PPK, to="PPS-3101011001", handover=token).verdict == "accepted"
    assert client.get(f"/api/v1/handovers/{token}").json["counts"] == {
        "received": 1,
        "missing": 1,
        "unexpected": 0,
        "refused": 0,
    }
    onlooker = UserFactory(role="warehouse", scope_region_code="31.01")  # sees both ends, is neither
    world.session.commit()
    client.post("/logout")
    login(client, onlooker.username)
    assert client.get(f"/api/v1/handovers/{token}").status_code == 200
    body = {"role": "sender", "name": "Budi", "image": png()}
    assert client.post(f"/api/v1/handovers/{token}/signatures", json=body).status_code == 404
    assert client.post(f"/api/v1/handovers/{token}/close", json={}).status_code == 404
    opened = client.post("/api/v1/handovers", json={"token": str(uuid.uuid4()), "site": PPK, "to": "KPU-3101"})
    assert opened.status_code == 403  # not their site to hand over from


def test_a_witness_signing_again_replaces_the_first_signature(client, handover):
    token, _ = handover
    for _attempt in range(2):  # a retried close re-sends every signature
        body = {"role": "witness", "name": "Agus", "organisation": "Panwas", "image": png()}
        assert client.post(f"/api/v1/handovers/{token}/signatures", json=body).status_code == 201
    signers = client.get(f"/api/v1/handovers/{token}").json["signatures"]
    assert [s["name"] for s in signers] == ["Agus"]
    nul = client.post(
        f"/api/v1/handovers/{token}/signatures", json={"role": "witness", "name": "A\x00B", "image": png()}
    )
    assert nul.status_code == 400
