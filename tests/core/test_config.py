"""Configuration: production refuses to start without its secrets; URLs are normalised."""

from __future__ import annotations

import pytest

from config import Config, ProductionConfig, _database_url
from webapp import create_app

KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "LEDGER_SIGNING_KEY"])
def test_production_refuses_to_start_without_a_secret(monkeypatch, missing):
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-the-environment")
    monkeypatch.setenv("DATABASE_URL", "postgresql://jejak@db/jejak")
    monkeypatch.setenv("LEDGER_SIGNING_KEY", KEY)
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=missing):
        create_app(ProductionConfig)


def test_production_takes_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret-from-the-environment")
    monkeypatch.setenv("DATABASE_URL", "postgres://jejak@db.internal/jejak")
    monkeypatch.setenv("LEDGER_SIGNING_KEY", KEY)
    app = create_app(ProductionConfig)
    assert app.config["SECRET_KEY"] == "s3cret-from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://jejak@db.internal/jejak"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_makes_and_keeps_its_own_key(tmp_path, monkeypatch):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    settings = {"SECRET_KEY": None, "LEDGER_SIGNING_KEY": "given"}
    Config.prepare(settings)
    first = settings["SECRET_KEY"]
    assert len(first) >= 40
    again = {"SECRET_KEY": None, "LEDGER_SIGNING_KEY": "given"}
    Config.prepare(again)
    assert again["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_unknown_environment_name_is_refused(monkeypatch):
    from config import config_from_env

    monkeypatch.setenv("JEJAK_ENV", "staging")
    with pytest.raises(RuntimeError, match="JEJAK_ENV"):
        config_from_env()


def test_database_url_normalisation():
    assert _database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert _database_url("sqlite:///x.db") == "sqlite:///x.db"
