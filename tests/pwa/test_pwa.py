"""The installable app: manifest, icons, service worker, a shell without user data, and the weight of
what a phone downloads before it can scan."""

from __future__ import annotations

import gzip
import io
import re

from PIL import Image

from config import BASE_DIR
from tests.conftest import login
from tests.factories import UserFactory
from webapp.pwa.views import STATIC_SHELL, _version

SCANNER_BUDGET = 150 * 1024  # gzipped JS and CSS of the scanner page, without the cached WASM


def fetch(client, path: str):
    """A static file's response, read and closed (send_file keeps the file open until then)."""
    response = client.get(path)
    response.get_data()  # buffer it, then let the file go
    response.close()
    return response


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["name"] and manifest["short_name"] == "Jejak"
    assert manifest["start_url"] == "/scan" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {}
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(fetch(client, icon["src"]).data))
        assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"]
        sizes[icon["purpose"]] = sizes.get(icon["purpose"], set()) | {icon["sizes"]}
    assert sizes == {"any": {"192x192", "512x512"}, "maskable": {"512x512"}}
    page = client.get("/login").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_the_service_worker_is_served_fresh_and_precaches_a_versioned_shell(client, app):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["Service-Worker-Allowed"] == "/"
    body = response.text
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', body).group(1)
    shell = re.search(r"const SHELL = (\[.*?\]);", body).group(1)
    for name in STATIC_SHELL:
        assert f'"/static/{name}"' in shell and fetch(client, f"/static/{name}").status_code == 200
    assert '"/scan"' in shell and '"/offline"' in shell and "/api/" not in shell
    assert 'url.pathname.startsWith("/api/")' in body  # the API is never answered from a cache
    assert fetch(client, "/static/vendor/zxing-wasm/zxing_reader.wasm").mimetype == "application/wasm"
    assert version == client.get("/sw.js").text.split('"')[1]  # stable between requests


def test_a_changed_shell_file_changes_the_cache_version(tmp_path):
    static, templates, translations = tmp_path / "static", tmp_path / "templates", tmp_path / "translations"
    for name in STATIC_SHELL:
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text(name)
    (templates / "pwa").mkdir(parents=True)
    for name in (
        "scan.html",
        "handover.html",
        "offline.html",
        "sw.js",
        "_head.html",
        "_verdict.html",
        "_messages.html",
    ):
        (templates / "pwa" / name).write_text(name)
    translations.mkdir()
    before = _version(str(static), str(templates), str(translations))
    (static / "js/scanner.js").write_text("changed")
    _version.cache_clear()
    assert _version(str(static), str(templates), str(translations)) != before
    _version.cache_clear()


def test_the_shell_pages_carry_no_user_data(client, session):
    user = UserFactory(username="rahasia-petugas", role="officer")
    session.commit()
    login(client, user.username)
    for path in ("/scan", "/offline"):
        page = client.get(path)
        assert page.status_code == 200
        assert user.username not in page.text and "csrf" not in page.text.lower()
    me = client.get("/api/v1/me").json
    assert me["username"] == user.username and me["csrf_token"]


def test_the_scanner_page_s_own_code_fits_a_slow_phone_s_budget():
    files = [name for name in STATIC_SHELL if name.endswith((".js", ".css"))]
    total = sum(len(gzip.compress((BASE_DIR / "static" / name).read_bytes(), 9)) for name in files)
    assert total < SCANNER_BUDGET, f"{total} bytes gzipped"
