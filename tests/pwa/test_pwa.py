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
    assert manifest["start_url"] == "/start" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {}
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(fetch(client, icon["src"]).data))
        assert image.format == "PNG" and f"{image.width}x{image.height}" == icon["sizes"]
        sizes[icon["purpose"]] = sizes.get(icon["purpose"], set()) | {icon["sizes"]}
    assert sizes == {"any": {"192x192", "512x512"}, "maskable": {"512x512"}}
    page = client.get("/login").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_the_installed_app_opens_on_each_role_s_own_screen(client, seeded):
    """One tap from the home-screen icon: the people who scan land on the scanner, a supervisor on the
    dashboard of their area, an observer on the box search, an admin at home; nobody logged in, the login
    page first and then the same screen."""
    from sqlalchemy import select

    from webapp.geo.models import Site

    ppk = seeded.scalar(select(Site).where(Site.code == "PPK-310101"))
    people = {
        "/scan": [UserFactory(role=r, scope_site=ppk) for r in ("officer", "warehouse")]
        + [UserFactory(role="courier", scope_region_code="31.01")],
        "/dashboard": [UserFactory(role="supervisor", scope_region_code="31.01")],
        "/search": [UserFactory(role="observer", scope_region_code="31.01")],
        "/": [UserFactory(role="admin", scope_region_code="31.01")],
    }
    seeded.commit()
    first = client.get("/start")
    assert first.status_code == 302 and "/login" in first.location and "start" in first.location
    for landing, users in people.items():
        for user in users:
            login(client, user.username)
            response = client.get("/start")
            assert response.status_code == 302 and response.location == landing, (user.role, response.location)
            client.post("/logout")
    sw = client.get("/sw.js").text  # offline, the icon opens the scanner from the shell cache
    assert 'const START = "/start";' in sw and "url.pathname === START ? SCANNER" in sw


def test_the_service_worker_is_served_fresh_and_precaches_a_versioned_shell(client, app):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache" and response.headers["Service-Worker-Allowed"] == "/"
    body = response.text
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', body).group(1)
    shell = re.search(r"const SHELL = (\[.*?\]);", body).group(1)
    static = f"/static/v/{app.config['STATIC_VERSION']}"  # the versioned URLs: a deploy changes them all
    for name in STATIC_SHELL:
        assert f'"{static}/{name}"' in shell and fetch(client, f"{static}/{name}").status_code == 200
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


def test_the_scanner_and_handover_pages_ask_for_their_whole_module_graph_at_once(client, session):
    """A slow link pays one round trip per level of imports unless the page names every module up front."""
    login(client, UserFactory(role="officer").username)
    for page, entry in (("/scan", "js/scanner.js"), ("/handover", "js/handover.js")):
        html = client.get(page).get_data(as_text=True)
        preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/v/[0-9a-f]+/([^"]+)">', html))
        assert preloaded, page
        loaded = preloaded | {entry}
        for module in loaded:
            assert fetch(client, f"/static/{module}").status_code == 200, module
            source = (BASE_DIR / "static" / module).read_text()
            for target in re.findall(r'from\s+"(\.{1,2}/[^"]+)"', source):
                imported = (BASE_DIR / "static" / module).parent.joinpath(target).resolve()
                assert imported.relative_to(BASE_DIR / "static").as_posix() in loaded, (page, module, target)
        assert '<link rel="preload" href="/api/v1/me" as="fetch" crossorigin="anonymous">' in html or page != "/scan"
