"""Bytes on a slow link: static files precompressed (br, gzip) at versioned URLs cached for good, pages and JSON
compressed when the client accepts it, the service worker precaching the versioned URLs (issue 16, part 1)."""

from __future__ import annotations

import gzip
import json
import re

import brotli
import pytest

from config import BASE_DIR, TestConfig
from webapp import create_app
from webapp.core.assets import BUILT, IMMUTABLE, build_static, static_version
from webapp.pwa.views import STATIC_SHELL

BOTH = {"Accept-Encoding": "br, gzip"}
GZIP = {"Accept-Encoding": "gzip"}
NONE = {"Accept-Encoding": "identity"}


def app_with_build(build_dir: str):
    class Config(TestConfig):
        STATIC_BUILD_DIR = build_dir

    return create_app(Config)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An app serving a fresh precompressed build of static/ (what `make setup` writes into build/static)."""
    root = tmp_path_factory.mktemp("static-build")
    target = build_static(BASE_DIR / "static", root)
    assert target.name == static_version(str(BASE_DIR / "static")) and (target / BUILT).exists()
    return app_with_build(str(root))


def get(client, path: str, headers: dict):
    response = client.get(path, headers=headers)
    response.get_data()
    response.close()
    return response


def decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](response.data)


@pytest.mark.parametrize("name", ["js/scanner.js", "css/app.css", "vendor/zxing-wasm/zxing_reader.wasm"])
def test_a_static_file_at_its_versioned_url_is_precompressed_and_immutable(built, name):
    client = built.test_client()
    with built.test_request_context():
        from flask import url_for

        url = url_for("static", filename=name)
    assert url == f"/static/v/{built.config['STATIC_VERSION']}/{name}"
    original = (BASE_DIR / "static" / name).read_bytes()
    for headers, encoding in ((BOTH, "br"), (GZIP, "gzip"), (NONE, None)):
        response = get(client, url, headers)
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == encoding, (name, headers)
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert decoded(response) == original
        if encoding:
            assert int(response.headers["Content-Length"]) < len(original) * 0.6
    # The plain URL still answers, with a short cache only; another version's URL does not.
    plain = get(client, f"/static/{name}", BOTH)
    assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]
    assert decoded(plain) == original
    assert get(client, f"/static/v/0123456789ab/{name}", BOTH).status_code == 404


def test_without_a_build_the_originals_are_served_uncompressed(tmp_path):
    app = app_with_build(str(tmp_path / "nothing-built"))
    client = app.test_client()
    url = f"/static/v/{app.config['STATIC_VERSION']}/js/scanner.js"
    response = get(client, url, BOTH)
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert response.data == (BASE_DIR / "static/js/scanner.js").read_bytes()
    assert response.headers["Cache-Control"] == IMMUTABLE


def test_a_build_of_other_files_is_never_served(tmp_path):
    """A stale build (static/ changed since) is another version's directory: the app serves static/ itself."""
    (tmp_path / "0123456789ab").mkdir()
    (tmp_path / "0123456789ab" / BUILT).write_text("old")
    app = app_with_build(str(tmp_path))
    response = get(app.test_client(), "/static/js/scanner.js", BOTH)
    assert response.status_code == 200 and response.data == (BASE_DIR / "static/js/scanner.js").read_bytes()


def test_the_static_version_follows_every_file(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("one")
    before = static_version(str(tmp_path))
    static_version.cache_clear()
    (tmp_path / "js" / "a.js").write_text("two")
    assert static_version(str(tmp_path)) != before
    static_version.cache_clear()


def test_json_over_a_kilobyte_is_compressed_only_when_accepted(client):
    plain = client.get("/api/v1/openapi.json", headers=NONE)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert len(plain.data) > 1024
    for headers, encoding in ((BOTH, "br"), (GZIP, "gzip")):
        response = client.get("/api/v1/openapi.json", headers=headers)
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert json.loads(decoded(response)) == plain.json
        assert len(response.data) < len(plain.data) / 3


def test_a_small_response_is_not_compressed(client):
    response = client.get("/healthz", headers=BOTH)
    assert response.status_code == 200 and len(response.data) < 1024
    assert "Content-Encoding" not in response.headers


def test_pages_are_compressed_and_keep_their_security_headers(client):
    plain = client.get("/login", headers=NONE)
    response = client.get("/login", headers=BOTH)
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "br"
    assert decoded(response).decode().count("<form") == plain.text.count("<form") >= 1
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert response.headers[header] == plain.headers[header], header
    assert "script-src 'self' 'wasm-unsafe-eval'" in response.headers["Content-Security-Policy"]


def test_the_service_worker_precaches_the_versioned_urls_and_each_answers(built):
    client = built.test_client()
    body = get(client, "/sw.js", NONE).text
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    static = [url for url in shell if url.startswith("/static/")]
    version = built.config["STATIC_VERSION"]
    assert sorted(static) == sorted(f"/static/v/{version}/{name}" for name in STATIC_SHELL)
    for url in shell:
        response = get(client, url, BOTH)
        assert response.status_code == 200, url
        if url.startswith("/static/"):
            assert response.headers["Cache-Control"] == IMMUTABLE
    # The pages name the same versioned URLs the worker caches, so an offline page finds them.
    scan = get(client, "/scan", NONE).text
    assert f"/static/v/{version}/js/scanner.js" in scan and f"/static/v/{version}/css/app.css" in scan


def test_a_new_static_version_names_a_new_shell_cache(built):
    """Every static URL of the shell changes with the static tree's version: the worker's cache must change
    name with it, so the old cache (holding the old URLs) is deleted instead of growing at each deploy."""
    from webapp.pwa.views import shell_version

    with built.test_request_context():
        before = shell_version()
        kept = built.config["STATIC_VERSION"]
        try:
            built.config["STATIC_VERSION"] = "0123456789ab"
            assert shell_version() != before
        finally:
            built.config["STATIC_VERSION"] = kept
        assert shell_version() == before
    assert f'const VERSION = "{before}";' in get(built.test_client(), "/sw.js", NONE).text
