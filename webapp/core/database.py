"""Database wiring: SQLAlchemy, Alembic and the SQLite connection settings."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from config import BASE_DIR
from webapp.extensions import db, migrate

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
