"""Configuration: production refuses to start without its secrets; URLs are normalised."""

from __future__ import annotations

import re

import pytest

from config import Config, ProductionConfig, _database_url
from webapp import create_app
from webapp.labels.services import digital_link

# Every production app built here would leave the HTTPS redirect on for the apps of later tests.
pytestmark = pytest.mark.usefixtures("restore_extensions")

KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
PRODUCTION_ENV = {
    "SECRET_KEY": "s3cret-from-the-environment-32-chars-or-more",
    "DATABASE_URL": "postgres://jejak@db.internal/jejak",
    "LEDGER_SIGNING_KEY": KEY,
    "PUBLIC_BASE_URL": "https://jejak.kpu.example.id/",
    "GS1_COMPANY_PREFIX": "8995678",
}


@pytest.fixture
def production_env(monkeypatch):
    """Every variable production needs, each with a usable value; a test then spoils one."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize("missing", list(PRODUCTION_ENV))
def test_production_refuses_to_start_without_a_setting(production_env, missing):
    production_env.delenv(missing)
    with pytest.raises(RuntimeError, match=f"needs these environment variables: {missing}(;|$)"):
        create_app(ProductionConfig)


def test_production_takes_secrets_and_label_settings_from_the_environment(production_env):
    app = create_app(ProductionConfig)
    assert app.config["SECRET_KEY"] == "s3cret-from-the-environment-32-chars-or-more"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://jejak@db.internal/jejak"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["GS1_COMPANY_PREFIX"] == "8995678"
    # what a label's QR code will open
    assert digital_link(app.config["PUBLIC_BASE_URL"], "089956780000000017") == (
        "https://jejak.kpu.example.id/00/089956780000000017"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://jejak.kpu.example.id",  # a QR code must not send a phone to plain HTTP
        "http://127.0.0.1:8000",  # the development default
        "https://localhost:8000",
        "https://127.0.0.1",
        "https://",
        "jejak.kpu.example.id",
        "https://jejak.kpu.example.id/?x=1",
    ],
)
def test_production_refuses_a_public_address_labels_cannot_use(production_env, url):
    production_env.setenv("PUBLIC_BASE_URL", url)
    with pytest.raises(RuntimeError, match=f"^Production configuration PUBLIC_BASE_URL '{re.escape(url)}'"):
        create_app(ProductionConfig)


@pytest.mark.parametrize(
    "prefix",
    [
        "0614141",  # GS1's documentation prefix, the development default
        "9521234",  # GS1's range for examples
        "12345",
        "1234567890123",
        "899-5678",
        "８９９５６７８",  # fullwidth digits pass str.isdigit()
    ],
)
def test_production_refuses_a_gs1_prefix_that_is_not_a_company_prefix(production_env, prefix):
    production_env.setenv("GS1_COMPANY_PREFIX", prefix)
    with pytest.raises(RuntimeError, match=f"^Production configuration GS1_COMPANY_PREFIX '{re.escape(prefix)}'"):
        create_app(ProductionConfig)


def test_production_names_every_problem_at_once(production_env):
    production_env.delenv("SECRET_KEY")
    production_env.delenv("LEDGER_SIGNING_KEY")
    production_env.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    production_env.setenv("GS1_COMPANY_PREFIX", "0614141")
    with pytest.raises(RuntimeError) as refused:
        create_app(ProductionConfig)
    message = str(refused.value)
    assert message.startswith(
        "Production configuration needs these environment variables: SECRET_KEY, LEDGER_SIGNING_KEY;"
    )
    assert "; PUBLIC_BASE_URL 'http://127.0.0.1:8000' must be the https:// address" in message
    assert "; GS1_COMPANY_PREFIX '0614141' is a GS1 example prefix" in message
    assert "DATABASE_URL" not in message


def test_production_without_a_secret_key_says_how_to_make_one(production_env):
    production_env.delenv("SECRET_KEY")
    with pytest.raises(RuntimeError) as refused:
        create_app(ProductionConfig)
    assert str(refused.value) == (
        "Production configuration needs these environment variables: SECRET_KEY; make a SECRET_KEY with "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' and keep it in your secret store"
    )


@pytest.mark.parametrize("key", ["x", "s3cret-from-the-environment", "a" * 31])
def test_production_refuses_a_secret_key_shorter_than_32_characters(production_env, key):
    production_env.setenv("SECRET_KEY", key)
    with pytest.raises(RuntimeError) as refused:
        create_app(ProductionConfig)
    assert str(refused.value) == (  # its length, never the key itself
        f"Production configuration SECRET_KEY is {len(key)} characters, too short to sign sessions safely: it "
        "needs at least 32; make one with python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
    )


def test_production_takes_a_secret_key_of_32_characters(production_env):
    production_env.setenv("SECRET_KEY", "k" * 32)
    assert create_app(ProductionConfig).config["SECRET_KEY"] == "k" * 32


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
