"""Incident photos and signatures are measured from their header before they are decoded: a small file
claiming a huge picture is refused with a clear message, the worker's memory does not grow, and nothing
is kept. (Production does not turn Pillow's DecompressionBombWarning into an error; these tests don't either.)"""

from __future__ import annotations

import base64
import io
import struct
import uuid
import warnings
import zlib
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.conftest import login
from tests.memory import peak_growth_mb
from webapp.custody.models import Handover, HandoverSignature, IncidentPhoto

PPK = "PPK-310101"


def jpeg_claiming(side: int) -> bytes:
    """A real grey JPEG of side x side pixels, made without drawing it: with optimised Huffman tables each
    8x8 block of a flat grey picture is two zero bits, so 10000 x 10000 is about 390 kB (the audit's file)."""
    out = io.BytesIO()
    Image.new("L", (32, 32), 128).save(out, "JPEG", optimize=True)
    small = out.getvalue()
    sos = small.find(b"\xff\xda")
    head = small[: sos + 2 + int.from_bytes(small[sos + 2 : sos + 4], "big")]
    sof = head.find(b"\xff\xc0")
    head = head[: sof + 5] + struct.pack(">HH", side, side) + head[sof + 9 :]
    return head + bytes((side // 8) ** 2 // 4) + b"\xff\xd9"


def png_claiming(width: int, height: int) -> bytes:
    """A white 1-bit PNG of width x height, compressed row by row: about 20 kB for 13000 x 13000."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte, then the row's pixels
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def drawn(size: tuple[int, int], kind: str = "JPEG", **options) -> bytes:
    """A one-colour picture drawn by Pillow."""
    out = io.BytesIO()
    Image.new("RGB" if kind == "JPEG" else "RGBA", size, (120, 80, 40)).save(out, kind, **options)
    return out.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def post(client, path: str, **kwargs):
    """A request, and how far the worker's memory rose while it was answered (in MB)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # as in production
        return peak_growth_mb(lambda: client.post(path, **kwargs))


def test_a_photo_claiming_10000_pixels_a_side_is_refused_before_it_is_decoded(client, world):
    photo = jpeg_claiming(10_000)
    assert len(photo) < 400_000
    login(client, world.gudang.username)
    response, growth = post(client, "/api/v1/photos", data=photo, content_type="image/jpeg")
    assert growth < 10, f"the worker grew {growth:.0f} MB"
    assert response.status_code == 400 and "4000" in response.json["error"]["message"]
    assert count(world.session, IncidentPhoto) == 0


def test_a_photo_of_4000_pixels_is_kept_and_read_at_an_eighth_of_its_size(client, world):
    photo = drawn((4000, 3000))  # a camera's full size (the phone itself sends 1280 px)
    login(client, world.gudang.username)
    response, growth = post(client, "/api/v1/photos", data=photo, content_type="image/jpeg")
    assert response.status_code == 201, response.json
    assert growth < 10, f"the worker grew {growth:.0f} MB"  # decoded whole: 36 MB


def test_a_progressive_photo_is_taken_only_as_large_as_the_phone_sends(client, world):
    """A progressive JPEG keeps every coefficient of the picture while it decodes, whatever the scale."""
    login(client, world.gudang.username)
    response, growth = post(
        client, "/api/v1/photos", data=drawn((4000, 4000), progressive=True), content_type="image/jpeg"
    )
    assert response.status_code == 400 and "1280" in response.json["error"]["message"]
    assert growth < 10, f"the worker grew {growth:.0f} MB"
    assert count(world.session, IncidentPhoto) == 0
    small = drawn((1280, 960), progressive=True)
    assert client.post("/api/v1/photos", data=small, content_type="image/jpeg").status_code == 201


@pytest.fixture
def handover(client, world) -> str:
    """A handover from the warehouse to the PPK, one box dispatched under it; the warehouse is logged in."""
    token = str(uuid.uuid4())
    login(client, world.gudang.username)
    assert client.post("/api/v1/handovers", json={"token": token, "site": "KPU-3101", "to": PPK}).status_code == 201
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to=PPK, handover=token)
    return token


def sign(client, token: str, png: bytes, role: str = "sender"):
    body = {"role": role, "name": "Budi Santoso", "image": data_url(png)}
    return post(client, f"/api/v1/handovers/{token}/signatures", json=body)


def test_a_signature_claiming_13000_pixels_a_side_is_refused_before_it_is_decoded(client, world, handover):
    signature = png_claiming(13_000, 13_000)
    assert len(signature) < 50_000
    response, growth = sign(client, handover, signature)
    assert growth < 10, f"the worker grew {growth:.0f} MB"
    assert response.status_code == 400
    assert response.json["error"]["message"] == "Tanda tangan paling besar 2000 x 1000 piksel."
    assert count(world.session, HandoverSignature) == 0


def test_a_signature_is_at_most_2000_by_1000_pixels(client, world, handover):
    """The pad is the page's width by 140 CSS px at the screen's pixel ratio, which the phone now caps."""
    too_wide, _ = sign(client, handover, drawn((2400, 350), "PNG"))  # 960 CSS px at a ratio of 2.5
    assert too_wide.status_code == 400 and "2000 x 1000" in too_wide.json["error"]["message"]
    assert count(world.session, HandoverSignature) == 0
    kept, _ = sign(client, handover, drawn((2000, 291), "PNG"))  # the same pad, capped
    assert kept.status_code == 201


def test_a_signature_kept_under_the_older_rule_is_refused_before_the_bast_draws_it(client, world, handover):
    """Up to 4000 x 4000 px was taken before: closing would decode it whole into the PDF."""
    for role in ("sender", "receiver"):
        assert sign(client, handover, drawn((600, 140), "PNG"), role)[0].status_code == 201
    stored = world.session.scalar(select(Handover).where(Handover.token == handover))
    world.session.add(
        HandoverSignature(
            handover_id=stored.id,
            role="witness",
            name="Agus",
            image=drawn((3000, 420), "PNG"),
            signed_at=datetime.now(UTC),
            recorded_by_id=world.gudang.id,
        )
    )
    world.session.commit()
    response = client.post(f"/api/v1/handovers/{handover}/close", json={})
    assert response.status_code == 400 and "2000 x 1000" in response.json["error"]["message"]
    assert client.get(f"/api/v1/handovers/{handover}").json["closed_at"] is None
