"""The installable app: web app manifest, service worker, offline page, and the scanner's app shell.

The shell pages carry no user data (who is logged in, which site, the CSRF token all come from
`GET /api/v1/me` at run time), so the service worker can precache them and serve them offline.
The service worker's cache name carries a version: a hash of every file in the shell and of the static tree's
version, so a deploy that changes any of them installs a new cache, deletes the old one, and the page offers a
reload. The shell's static URLs are the versioned ones (`/static/v/<version>/...`, webapp/core/assets.py).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.auth.access import roles_required
from webapp.auth.models import Role
from webapp.custody.actions import ACTIONS

bp = Blueprint("pwa", __name__)

STATIC_SHELL = (
    "css/app.css",
    "js/app.js",
    "js/pwa.js",
    "js/codes.js",
    "js/scanner.js",
    "js/scan/store.js",
    "js/scan/judge.js",
    "js/scan/sync.js",
    "js/scan/camera.js",
    "js/scan/feedback.js",
    "js/scan/ui.js",
    "js/scan/session.js",
    "js/scan/signature.js",
    "js/scan/incident.js",
    "js/scan/status.js",
    "js/scan/arrivals.js",
    "js/handover.js",
    "vendor/idb/idb.js",
    "vendor/qrcode-generator/qrcode.mjs",
    "vendor/barcode-detector/ponyfill.js",
    "vendor/barcode-detector/zxing-exported.js",
    "vendor/zxing-wasm/zxing_reader.wasm",
    "img/icon.svg",
    "img/icon-192.png",
    "img/icon-512.png",
    "img/icon-maskable-512.png",
)
SHELL_TEMPLATES = (
    "pwa/scan.html",
    "pwa/handover.html",
    "pwa/offline.html",
    "pwa/sw.js",
    "pwa/_head.html",
    "pwa/_verdict.html",
    "pwa/_messages.html",
)
THEME = "#0b3d2e"


@cache
def _version(static_folder: str, template_folder: str, translations: str) -> str:
    """A hash over every file of the shell (and the translations it renders): the cache's version."""
    digest = hashlib.sha256()
    paths = [Path(static_folder) / name for name in STATIC_SHELL]
    paths += [Path(template_folder) / name for name in SHELL_TEMPLATES]
    paths += sorted(Path(translations).rglob("*.mo"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def shell_version() -> str:
    """The shell's version, with the static tree's (webapp/core/assets.py) folded in: the shell's static URLs
    carry that one, so a deploy that changes any static file names a new cache and the old one (with its old
    URLs) is deleted, rather than growing the same cache at every deploy."""
    root = Path(current_app.root_path)
    shell = _version(current_app.static_folder, str(root.parent / "templates"), str(root / "translations"))
    return hashlib.sha256(f"{shell}:{current_app.config['STATIC_VERSION']}".encode()).hexdigest()[:16]


def shell_urls() -> list[str]:
    return [url_for("pwa.scan"), url_for("pwa.handover"), url_for("pwa.offline")] + [
        url_for("static", filename=name) for name in STATIC_SHELL
    ]


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: installable, standalone, opening on the scanner."""
    icon = "static"
    body = {
        "id": "/scan",
        "name": _("Jejak: election logistics"),
        "short_name": "Jejak",
        "description": _("Scan ballot boxes at every handover, online or offline."),
        "lang": "id",
        # The icon opens /start, which sends each person to their own first screen (see `start`).
        "start_url": url_for("pwa.start"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME,
        "background_color": THEME,
        "icons": [
            {
                "src": url_for(icon, filename="img/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": url_for(icon, filename="img/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": url_for(icon, filename="img/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.route("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is the whole app; never cached by HTTP."""
    body = render_template("pwa/sw.js", version=shell_version(), shell=shell_urls())
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


# The screen the home-screen icon opens on, by role: the people who scan go to the scanner, a supervisor
# to the readiness dashboard of their area, an observer to the box search (a box's trace and whether its
# chain verifies), an admin to their home page.
START_BY_ROLE = {
    Role.WAREHOUSE: "pwa.scan",
    Role.OFFICER: "pwa.scan",
    Role.COURIER: "pwa.scan",
    Role.SUPERVISOR: "readiness.dashboard_home",
    Role.OBSERVER: "geo.search",
    Role.ADMIN: "main.home",
}


@bp.route("/start")
@roles_required()
def start():
    """Where the installed app opens: the right screen for the logged-in person's role (one tap from the
    icon). Not logged in, the login page first, then here again. Offline, the service worker opens the
    scanner instead (it works without the network)."""
    return redirect(url_for(START_BY_ROLE.get(current_user.role, "main.home")))


@bp.route("/offline")
def offline():
    """What a page that needs the network shows without one."""
    return _shell_page(render_template("pwa/offline.html"))


@bp.route("/scan")
def scan():
    """The scanner: an app shell with no user data (the API says who and where once online). Each action
    names the roles that may do it (custody/actions.py), so the phone offers a person only their own."""
    roles = {kind.value: " ".join(sorted(action.roles)) for kind, action in ACTIONS.items()}
    return _shell_page(render_template("pwa/scan.html", version=shell_version(), roles=roles))


def _shell_page(body: str) -> Response:
    """A shell page, marked with the shell's version: the service worker serves the copy it keeps at once and
    keeps the fresh one for next time only when it is of its own version (sw.js)."""
    response = Response(body, mimetype="text/html")
    response.headers["X-Jejak-Shell"] = shell_version()
    return response


@bp.route("/handover")
def handover():
    """The digital BAST on the phone: an app shell like the scanner (sender and receiver screens)."""
    return _shell_page(render_template("pwa/handover.html", version=shell_version()))
