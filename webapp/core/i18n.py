"""Flask-Babel: Bahasa Indonesia by default, English when the person chooses it."""

from __future__ import annotations

from datetime import date

from flask import Flask, current_app, has_request_context, session
from flask_babel import format_date, format_decimal

from config import BASE_DIR
from webapp.extensions import babel


def select_locale() -> str:
    """The language chosen in this session, else Indonesian. Outside a request (the command line, whose
    commands and documentation are in English) English."""
    if not has_request_context():
        return "en"
    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _day(value) -> str:
    """A calendar day in words in the reader's language ("10 Februari 2027"); an ISO date string is read
    first (alert details keep their dates as text)."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, "long")


def init_app(app: Flask) -> None:
    """Bind Babel with our catalogue directory and expose helpers to templates."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(BASE_DIR / "webapp" / "translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["num"] = format_decimal
    app.jinja_env.filters["day"] = _day

    @app.context_processor
    def _languages() -> dict:
        return {"languages": app.config["LANGUAGES"], "current_lang": select_locale()}
