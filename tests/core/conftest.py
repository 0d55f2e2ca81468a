"""Fixtures for the tests that build applications of their own (production, Redis, ...)."""

from __future__ import annotations

import pytest

from webapp.extensions import limiter, talisman


@pytest.fixture
def restore_extensions():
    """create_app() re-initialises the shared Limiter and Talisman (a production app turns on the HTTPS
    redirect for every app in the process); give the other tests theirs back."""
    saved = {ext: dict(vars(ext)) for ext in (limiter, talisman)}
    yield
    for ext, state in saved.items():
        vars(ext).clear()
        vars(ext).update(state)
