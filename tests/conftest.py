"""Shared fixtures: one migrated database per run, a rolled-back transaction per test.

The database is TEST_DATABASE_URL (PostgreSQL in CI's second pass) or a fresh SQLite file.
It is built by the Alembic migrations, never by create_all(), and gets the real region table.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, orm, text


def _sibling_database(parsed, suffix: str) -> str:
    """The URL of the PostgreSQL database `<name>_SUFFIX` beside `parsed`'s, created when missing."""
    name = f"{parsed.database}_{suffix}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _database_per_worker() -> None:
    """Under pytest-xdist each worker gets a database of its own: instance/test-gw0.db, or on PostgreSQL
    a sibling database `<name>_gw0`, created when missing (its name keeps 'test', so it may be emptied)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        instance = Path(__file__).resolve().parents[1] / "instance"
        os.environ["TEST_DATABASE_URL"] = f"sqlite:///{instance / f'test-{worker}.db'}"
        return
    if not url.startswith(("postgres://", "postgresql")):
        return
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1).replace("postgresql://", "postgresql+psycopg://", 1)
    )
    os.environ["TEST_DATABASE_URL"] = _sibling_database(parsed, worker)


_database_per_worker()

# The configuration reads TEST_DATABASE_URL when imported: these come after the worker's database is set.
from flask_migrate import upgrade  # noqa: E402

from config import INSTANCE_DIR, TestConfig  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.geo.services import import_regions  # noqa: E402

IS_POSTGRES = TestConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql")


def _seeded_uri(uri: str, suffix: str) -> str:
    """A database beside the test database, for regions seeded once: instance/test-gw0-SUFFIX.db, or on
    PostgreSQL `<name>_SUFFIX` (created when missing)."""
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(path.stem + '-' + suffix + path.suffix)}"
    return _sibling_database(make_url(uri), suffix)


def _reset_database(uri: str) -> None:
    """Start every run from an empty database."""
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    if "test" not in (make_url(uri).database or ""):
        raise RuntimeError(f"refusing to empty {uri}: a test database's name must contain 'test'")
    engine = create_engine(uri)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app():
    """The application on a migrated test database holding the real region table."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    _reset_database(TestConfig.SQLALCHEMY_DATABASE_URI)
    app = create_app(TestConfig)
    with app.app_context():
        upgrade()
        import_regions(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rate_limits_off_again():
    """One Limiter object serves every app a test builds: a test that builds one with limits on must not
    leave them on for the tests after it (the suite logs in far more than 10 times a minute)."""
    yield
    from webapp.extensions import limiter

    limiter.enabled = TestConfig.RATELIMIT_ENABLED


class _TestSession(orm.scoped_session):
    """One session for the whole test, shared by the test body and every request it makes."""

    def remove(self) -> None:
        """Flask-SQLAlchemy removes the session after each request; the test keeps its own."""

    def close_for_good(self) -> None:
        super().remove()


class _ThisThreadOnly:
    """`db.session` while a test runs: the test's own session in the test's thread, the usual one in any
    other (the browser tests' live server answers in threads of its own, and a late request of a page must
    not write into, or interleave savepoints with, the transaction of whatever test runs next)."""

    def __init__(self, mine: orm.scoped_session, others) -> None:
        self._owner, self._mine, self._others = threading.get_ident(), mine, others

    def _pick(self):
        return self._mine if threading.get_ident() == self._owner else self._others

    def __call__(self, *args, **kwargs):
        return self._pick()(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._pick(), name)


def _seeded_database(app, suffix: str, regions: tuple[str, ...]):
    """A database beside the test database, built as it is (migrations, the region table), with `regions`
    seeded and committed: the engine, for the tests that ask for it to run on, each inside its own
    rolled-back transaction, instead of seeding the same regions again."""
    from webapp.core.jobs import huey
    from webapp.geo.seed import seed_region

    class Seeded(TestConfig):
        SQLALCHEMY_DATABASE_URI = _seeded_uri(TestConfig.SQLALCHEMY_DATABASE_URI, suffix)

    _reset_database(Seeded.SQLALCHEMY_DATABASE_URI)
    seeded_app = create_app(Seeded)
    with seeded_app.app_context():
        upgrade()
        import_regions(db.session)
        for region in regions:
            seed_region(db.session, region, seeded_app.config)
        db.session.commit()
        engine = db.engine
    huey.init_app(app)  # the queue's tasks run for the tests' app, as before this second app was made
    return engine


@pytest.fixture(scope="session")
def seeded_engine(app):
    """Kepulauan Seribu (31.01) seeded once per run: about 2 s a test saved, over 400 tests."""
    engine = _seeded_database(app, "seeded", ("31.01",))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def jakarta_timur_engine(app):
    """Kepulauan Seribu and Jakarta Timur (31.75: 7,785 TPS, the demo's kab/kota) seeded once per run, for
    the few tests that need a real kab/kota's size (10 to 20 s each to seed)."""
    engine = _seeded_database(app, "jakarta", ("31.01", "31.75"))
    yield engine
    engine.dispose()


@pytest.fixture
def session(app, request):
    """A database session whose every change (commits included) is rolled back after the test: on the
    pre-seeded database when the test asks for `seeded`, else on the empty one.

    No application context is held during the test, so each request gets its own context
    (and its own `g`), as in production.
    """
    engine = None
    if "jakarta_timur" in request.fixturenames:
        engine = request.getfixturevalue("jakarta_timur_engine")
    elif "seeded" in request.fixturenames:
        engine = request.getfixturevalue("seeded_engine")
    with app.app_context():
        connection = (engine or db.engine).connect()
    outer = connection.begin()
    # A plain Session: Flask-SQLAlchemy's own get_bind() would ignore `bind` and use the engine.
    scoped = _TestSession(orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
    original = db.session
    db.session = _ThisThreadOnly(scoped, original)
    try:
        yield scoped
    finally:
        scoped.close_for_good()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app, session):
    """A test client sharing the test's transaction."""
    return app.test_client()


@pytest.fixture
def runner(app, session):
    """A CLI runner sharing the test's transaction."""
    return app.test_cli_runner()


def rate_limited_app(tmp_path: Path, **limits):
    """An app of its own with rate limits on (the suite runs with them off), on a fresh SQLite file, with
    `limits` (e.g. LOGIN_RATE_LIMIT="3 per minute") set in its configuration."""
    settings = {"RATELIMIT_ENABLED": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'limited.db'}"}
    return create_app(type("Limited", (TestConfig,), {**settings, **limits}))


def login(client, username: str, password: str = "password123"):
    """Log in through the real login form; returns the response after redirects."""
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=True)


@pytest.fixture
def log_in(client):
    """Log the test client in as a user object (created by a factory with the default password)."""

    def _log_in(user):
        response = login(client, user.username)
        assert response.status_code == 200, response.text
        return client

    return _log_in


@pytest.fixture
def jakarta_timur(session):
    """Kepulauan Seribu and Jakarta Timur (31.75) seeded (the session is on `jakarta_timur_engine`)."""
    return session


@pytest.fixture
def seeded(session):
    """Kepulauan Seribu (31.01: 2 kecamatan, 6 kelurahan) seeded: sites, dapil, TPS and boxes (the session is
    on the database `seeded_engine` seeded once; what the test changes is rolled back)."""
    return session


requires_postgres = pytest.mark.skipif(
    not IS_POSTGRES, reason="needs PostgreSQL: set TEST_DATABASE_URL (CI's second pass does)"
)
os.environ.setdefault("JEJAK_ENV", "testing")
