"""Static files: served by WhiteNoise, precompressed (br, gzip) at build time, cached for good when versioned.

The ES modules import each other by relative path (`./scan/camera.js`), so each file cannot get a hashed name of
its own; the whole tree is served a second time under a versioned prefix instead, `/static/v/<version>/...`,
where <version> is a hash of every file in static/ (computed once per process). `url_for('static', ...)` builds
the versioned URL, which is `Cache-Control: public, max-age=31536000, immutable`: a deploy that changes any
static file changes every URL, so a browser never holds a stale copy. The plain `/static/...` keeps working
with a short cache (old links, tests, tools).

The compressed copies are made once, by `python -m webapp.core.assets` (or `flask assets compress`; `make setup`
runs it), into STATIC_BUILD_DIR/<version>/: a copy of static/ with a `.br` and a `.gz` beside each file that
compresses well. The server serves that copy when it matches the files it has (same version), else static/
itself, uncompressed: a missing or stale build never serves the wrong bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

import click
from flask import Flask, abort, current_app
from flask.cli import AppGroup
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

log = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"  # a versioned URL's bytes never change
PLAIN_MAX_AGE = 300  # seconds: /static/... without a version may change at the next deploy
KEEP_BUILDS = 3  # versions kept in STATIC_BUILD_DIR, for a server still running the previous one
BUILT = ".complete"  # marks a finished build directory


@cache
def static_version(folder: str) -> str:
    """A hash over the name and bytes of every file under `folder`: the static tree's version."""
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def build_static(static_folder: str | Path, build_root: str | Path, *, quiet: bool = True) -> Path:
    """Copy static/ to `build_root`/<version>/ with precompressed .br and .gz copies beside each file worth
    compressing (WhiteNoise's compressor: not images, only when it saves 5% or more). Nothing to do when that
    version is built already. Older builds beyond the last KEEP_BUILDS are removed."""
    static_folder, build_root = Path(static_folder), Path(build_root)
    version = static_version(str(static_folder))
    target = build_root / version
    if (target / BUILT).exists():
        return target
    build_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=build_root))
    try:
        shutil.copytree(static_folder, work, dirs_exist_ok=True)
        compressor = Compressor(quiet=quiet)
        for dirpath, _dirs, files in os.walk(work):
            for name in files:
                if compressor.should_compress(name):
                    compressor.compress(os.path.join(dirpath, name))
        (work / BUILT).write_text(version + "\n")
        if target.exists():  # an unfinished build of the same version
            shutil.rmtree(target)
        work.rename(target)  # whole or not at all
    finally:
        if work.exists():
            shutil.rmtree(work)
    builds = sorted((p for p in build_root.iterdir() if (p / BUILT).exists()), key=lambda p: p.stat().st_mtime)
    for old in builds[:-KEEP_BUILDS]:
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def static_root(app: Flask) -> Path:
    """Where WhiteNoise reads the files: the build of this version when there is one, else static/ itself."""
    built = Path(app.config["STATIC_BUILD_DIR"]) / app.config["STATIC_VERSION"]
    if (built / BUILT).exists():
        return built
    log.info("no precompressed build at %s: serving static/ uncompressed (run `make setup`)", built)
    return Path(app.static_folder)


def _headers(prefix: str):
    def add_headers(headers, path: str, url: str) -> None:
        if url.startswith(prefix):
            headers["Cache-Control"] = IMMUTABLE
        headers["X-Content-Type-Options"] = "nosniff"  # as Talisman gives the app's own responses

    return add_headers


def static_view(filename: str, version: str | None = None):
    """Flask's own static view, for what WhiteNoise did not answer (a file added after start). A versioned URL
    serves this version only, never another's bytes under an old version's name."""
    if version is None:
        return current_app.send_static_file(filename)
    if version != current_app.config["STATIC_VERSION"]:
        abort(404)
    response = current_app.send_static_file(filename)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^"';]*?\bfrom\s*["'](\.{1,2}/[^"']+)["']|^\s*import\s*["'](\.{1,2}/[^"']+)["']""", re.M
)


@cache
def module_graph(folder: str, version: str, entry: str) -> tuple[str, ...]:
    """The static modules an entry module imports, directly or through others (paths under static/, entry
    excluded), in the order found: what a page lists as <link rel="modulepreload"> so that the browser fetches
    the whole graph at once instead of one level of imports per round trip. Cached per static version."""
    root = Path(folder).resolve()
    found: list[str] = []
    todo = [entry]
    while todo:
        name = todo.pop(0)
        text = (root / name).read_text(encoding="utf-8")
        for match in IMPORT.finditer(text):
            target = (root / name).parent / (match.group(1) or match.group(2))
            relative = target.resolve().relative_to(root).as_posix()
            if relative != entry and relative not in found:
                found.append(relative)
                todo.append(relative)
    return tuple(found)


def init_app(app: Flask) -> None:
    """Version the static URLs and put WhiteNoise in front of the app."""
    version = static_version(app.static_folder)
    app.config["STATIC_VERSION"] = version
    # The same endpoint with one more argument: Werkzeug builds the rule with the most arguments first, so
    # url_for('static', filename=...) gives /static/v/<version>/<filename> once the default below fills it in.
    app.add_url_rule(f"{app.static_url_path}/v/<version>/<path:filename>", endpoint="static")
    app.view_functions["static"] = static_view  # both rules: Flask's own view takes no version

    @app.url_defaults
    def _static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static":
            values.setdefault("version", version)

    prefix = f"{app.static_url_path}/v/{version}/"
    root = static_root(app)
    whitenoise = WhiteNoise(app.wsgi_app, max_age=PLAIN_MAX_AGE, add_headers_function=_headers(prefix))
    whitenoise.add_files(str(root), prefix=prefix)
    whitenoise.add_files(str(root), prefix=f"{app.static_url_path}/")
    # The build's own marker is no static file.
    for url in (prefix + BUILT, f"{app.static_url_path}/{BUILT}"):
        whitenoise.files.pop(url, None)
    app.wsgi_app = whitenoise
    app.cli.add_command(assets_cli)

    @app.template_global()
    def module_preloads(entry: str) -> tuple[str, ...]:
        return module_graph(app.static_folder, version, entry)


assets_cli = AppGroup("assets", help="Static files.")


@assets_cli.command("compress")
def compress_command() -> None:
    """Write the precompressed copy of static/ (br and gzip) into STATIC_BUILD_DIR."""
    target = build_static(current_app.static_folder, current_app.config["STATIC_BUILD_DIR"], quiet=True)
    click.echo(f"static files of version {target.name} compressed in {target}")


def main(argv: list[str] | None = None) -> int:
    """`python -m webapp.core.assets`: the same as `flask assets compress`, without building the app (the
    Makefile runs it before any configuration exists)."""
    from config import BASE_DIR, Config

    argv = sys.argv[1:] if argv is None else argv
    build_root = argv[0] if argv else Config.STATIC_BUILD_DIR
    target = build_static(BASE_DIR / "static", build_root)
    print(f"static files of version {target.name} compressed in {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
