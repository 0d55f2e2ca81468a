"""Browser tests: the real app on 127.0.0.1 in a thread, driven by Playwright in Debian's Chromium.

They skip with a reason where /usr/bin/chromium is missing; CI installs it (see .ci/run).
Screenshots go to test-artifacts/ (not in git).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from config import BASE_DIR, TestConfig
from webapp import create_app
from webapp.auth.services import ensure_demo_users
from webapp.extensions import db
from webapp.geo.seed import seed_region
from webapp.geo.services import import_regions

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = BASE_DIR / "test-artifacts"
E2E_REGION = "31.01"  # Kepulauan Seribu: small, real, in DKI

if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app with the demo accounts, served on an ephemeral loopback port."""

    class E2EConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
        WTF_CSRF_ENABLED = True  # the browser goes through the real forms

    app = create_app(E2EConfig)
    with app.app_context():
        upgrade()
        import_regions(db.session)
        seed_region(db.session, E2E_REGION, app.config)
        ensure_demo_users(db.session, E2E_REGION)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    LIVE["app"] = app
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


LIVE: dict = {}


@pytest.fixture(scope="session")
def live_app(live_server):
    """The live server's app, for a test to set the scene in its database and check what arrived."""
    return LIVE["app"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {
        **browser_context_args,
        "base_url": live_server,
        "viewport": {"width": 360, "height": 780},
        "is_mobile": True,
        "has_touch": True,
        "locale": "id-ID",
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS / "screens", ignore_errors=True)
    (ARTIFACTS / "screens").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "screens"
