"""Database wiring: SQLAlchemy, Alembic and the SQLite connection settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import TypeVar

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from config import BASE_DIR
from webapp.extensions import db, migrate

log = logging.getLogger(__name__)
T = TypeVar("T")

# Set by begin_write() just before a session opens its transaction; per thread and task.
_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=False)


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    """Enforce foreign keys, use WAL, and let SQLAlchemy own BEGIN (so BEGIN IMMEDIATE is possible)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite must not emit its own BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")  # first: the statements below may wait for a lock
        cursor.execute("PRAGMA foreign_keys=ON")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")  # persistent in the file: done once, not per connection
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


def begin_write(session: Session) -> None:
    """Start a write transaction: BEGIN IMMEDIATE on SQLite (the write lock up front, so a read can
    never need upgrading mid-way), a plain one on PostgreSQL (rows are then locked FOR UPDATE).

    Ends any read transaction the request already opened (loading the user, say).
    """
    session.rollback()
    if isinstance(session.get_bind(), Engine) and _is_sqlite(session.get_bind()):
        _immediate.set(True)  # read by the "begin" listener of this thread's next transaction
        try:
            session.connection()
        finally:
            _immediate.set(False)


RETRY_ATTEMPTS = 3


def _worth_retrying(exc: DBAPIError) -> bool:
    """A conflict with a concurrent writer that running the work again resolves: PostgreSQL's
    serialization failure or deadlock (SQLSTATE 40001, 40P01) or lock timeout (55P03), a unique key
    another transaction took first (23505: the second run sees its row), a lost or shut-down connection
    (08xxx, 57P01), SQLite's busy database."""
    if exc.connection_invalidated:  # the connection died (a restarted server): a fresh one may succeed
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state is not None:
        return state in ("40001", "40P01", "55P03", "23505", "57P01") or state.startswith("08")
    return "locked" in str(exc.orig) or "busy" in str(exc.orig) or "UNIQUE constraint" in str(exc.orig)


def in_transaction(work: Callable[[], T], *, session: Session | None = None, attempts: int = RETRY_ATTEMPTS) -> T:
    """Run `work` in one write transaction and commit it once: the rule for every write.

    It begins with begin_write (BEGIN IMMEDIATE on SQLite), runs `work`, commits. A conflict with a
    concurrent writer (see _worth_retrying) rolls back and runs `work` again, up to `attempts` times; any
    other exception, a refusal (JejakError) included, rolls back and propagates, so nothing of it is kept.
    Services flush and never commit; views use `writes`, jobs call this once per chunk.
    """
    session = session or db.session
    if session.info.get("in_write"):  # already inside one (a loader reached from a write): join it
        return work()
    for attempt in range(1, attempts + 1):
        try:
            begin_write(session)  # on SQLite the wait for the write lock ends here: retried too
            session.info["in_write"] = True
            try:
                result = work()
            finally:
                session.info["in_write"] = False
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            if attempt == attempts or not _worth_retrying(exc):
                raise
            log.warning("write retried (%d) after %s", attempt, type(exc.orig).__name__)
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")


def writes(view: Callable[..., T]) -> Callable[..., T]:
    """A view that writes: on POST (and PUT, PATCH, DELETE) its whole body runs in one write transaction
    (in_transaction), committed once after it returns; a GET of the same view only reads. The body runs
    once (no retry): a view also touches things outside the database (the session cookie, flashed
    messages) that a second run would repeat. Put the retried part in in_transaction inside the view."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return view(*args, **kwargs)
        return in_transaction(lambda: view(*args, **kwargs), attempts=1)

    return wrapped


def init_app(app: Flask) -> None:
    """Bind SQLAlchemy and Flask-Migrate to the app."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    with app.app_context():
        if _is_sqlite(db.engine):
            _configure_sqlite(db.engine)
    # Import every feature's models so Alembic and the mapper see the whole schema.
    from webapp.auth import models as _auth  # noqa: F401
    from webapp.boxes import models as _boxes  # noqa: F401
    from webapp.custody import models as _custody  # noqa: F401
    from webapp.geo import models as _geo  # noqa: F401
    from webapp.labels import models as _labels  # noqa: F401
    from webapp.planning import models as _planning  # noqa: F401
    from webapp.readiness import models as _readiness  # noqa: F401
