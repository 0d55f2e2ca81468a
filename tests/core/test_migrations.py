"""The schema comes from the migrations, and the migrations agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from config import TestConfig
from webapp import create_app
from webapp.extensions import db


def test_models_and_migrations_agree(app):
    """Autogenerate against the migrated test database (SQLite or PostgreSQL) finds nothing to do."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_migrations_go_down_and_up_from_nothing(tmp_path):
    class FreshSqlite(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'fresh.db'}"

    app = create_app(FreshSqlite)
    with app.app_context():
        upgrade()
        assert {"region", "site", "box", "users", "manifest_line"} <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "box" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_overdue_alerts_raised_before_0012_get_their_milestone_code(tmp_path):
    """An overdue alert that kept its milestone only in `details` is not raised again after the upgrade."""
    from sqlalchemy import text

    class FreshSqlite(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.db'}"

    app = create_app(FreshSqlite)
    with app.app_context():
        upgrade(revision="0011")
        with db.engine.begin() as connection:
            for kind, details in (
                ("overdue", '{"direction": "out", "level": "ppk", "boxes": 3}'),
                ("overdue", '{"direction": "back", "level": "warehouse", "boxes": 1}'),
                ("damaged", '{"direction": "out", "level": "ppk"}'),
            ):
                connection.execute(
                    text("INSERT INTO alert (kind, state, details, created_at) VALUES (:k, 'open', :d, '2029-02-12')"),
                    {"k": kind, "d": details},
                )
        upgrade()
        with db.engine.connect() as connection:
            codes = connection.execute(text("SELECT kind, code FROM alert ORDER BY id")).all()
        assert [tuple(row) for row in codes] == [
            ("overdue", "out:ppk"),
            ("overdue", "back:warehouse"),
            ("damaged", None),
        ]
        db.engine.dispose()
