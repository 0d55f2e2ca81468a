"""Pages as a person meets them: headers, errors, language, nothing inline, nothing from a CDN."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import select

from config import BASE_DIR, TestConfig
from tests.conftest import login
from tests.factories import UserFactory
from webapp import create_app
from webapp.boxes.models import Box
from webapp.geo.models import Site


def test_security_headers_and_strict_csp(client, session):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=(self)" in response.headers["Permissions-Policy"]


def test_session_cookie_is_httponly(client, session):
    login(client, UserFactory().username)
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_templates_have_no_inline_code_and_nothing_from_the_internet():
    for path in (BASE_DIR / "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {path}"
        assert not re.search(r"\sstyle=|\son[a-z]+=", text), f"inline style or handler in {path}"
        assert not re.search(r"(src|href)=\"https?://", text), f"external asset in {path}"
    for path in (BASE_DIR / "static").rglob("*.*"):
        if path.suffix in {".css", ".js"} and "vendor" not in path.parts:
            assert not re.search(r"https?://", path.read_text()), f"URL in {path}"


def test_static_assets_are_served(client, session):
    for path, kind in (
        ("/static/css/app.css", "text/css"),
        ("/static/js/app.js", "javascript"),
        ("/static/img/icon.svg", "svg"),
    ):
        with client.get(path) as response:
            assert response.status_code == 200 and kind in response.content_type, path


def test_not_found_is_a_friendly_page_in_indonesian(client, session):
    response = client.get("/tidak-ada")
    assert response.status_code == 404
    assert "Tidak ditemukan" in response.text and "Kembali ke beranda" in response.text


def test_api_errors_use_one_envelope(client, session):
    login(client, UserFactory().username)
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found" and response.json["error"]["message"]
    response = client.post("/api/v1/me")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_unexpected_errors_show_a_friendly_page_without_a_trace(tmp_path, caplog):
    class Isolated(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'boom.db'}"

    app = create_app(Isolated)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals: table users")

    @app.route("/api/v1/boom")
    def api_boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Terjadi kesalahan" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text
    response = client.get("/api/v1/boom")
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text  # the operator still sees it in the log


def test_health_check(client, session):
    assert client.get("/healthz").json == {"status": "ok"}


def test_box_page_shows_destination_route_and_manifest(client, seeded):
    login(client, UserFactory(role="supervisor").username)
    site = seeded.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    box = seeded.scalar(select(Box).where(Box.destination_id == site.id, Box.contest == "DPRD_PROV"))
    text = client.get(f"/boxes/{box.sscc}").text
    assert "TPS-3101011001001" in text and "PPS-3101011001" in text and "KPU-3101" in text
    assert "Surat suara DPRD Provinsi" in text and f"{-(-site.dpt * 102 // 100)}" in text
    assert "kotak 4 dari 4" in text and "contest-band-DPRD_PROV" in text


def test_browse_from_country_to_box(client, seeded):
    login(client, UserFactory(role="observer").username)
    assert "Daerah Khusus Ibukota Jakarta" in client.get("/regions").text
    assert "Kabupaten Administrasi Kepulauan Seribu" in client.get("/regions/31").text
    assert "PPK-310101" in client.get("/regions/31.01.01").text
    assert "TPS-3101011001001" in client.get("/sites/PPS-3101011001").text
    text = client.get("/sites/TPS-3101011001001").text
    assert "/boxes/" in text and "Pemilih (DPT)" in text
    assert "TPS-3101011001001" in client.get("/search?q=3101011001001").text
    assert "Pulau Panggang" in client.get("/search?q=panggang").text


def test_every_message_has_an_indonesian_translation(tmp_path):
    """Extract the messages from the code now and check the Indonesian catalogue covers them all."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    po = Path(BASE_DIR / "webapp/translations/id/LC_MESSAGES/messages.po")
    with po.open("rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string and not m.fuzzy}
    assert sorted(wanted - translated) == []
