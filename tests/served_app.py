"""The app as tests/serving.py serves it with gunicorn: the test configuration on the database named in
JEJAK_SERVED_DATABASE, errors handled as in production, and with JEJAK_SERVED_EXPORT_PAUSE=SECONDS exports
slowed by that pause per event (so they outlive a short worker timeout)."""

from __future__ import annotations

import os
import time

import webapp.custody.integrity
import webapp.monitor.epcis
from config import TestConfig
from webapp import create_app


class Served(TestConfig):
    """TestConfig on the served database; not TESTING, so a failing request answers 500 as in production."""

    TESTING = False
    SQLALCHEMY_DATABASE_URI = os.environ["JEJAK_SERVED_DATABASE"]
    EXPORT_SLOTS_DIR = os.environ["JEJAK_SERVED_SLOTS"]


def _paused(function, seconds: float):
    def slowed(*args, **kwargs):
        time.sleep(seconds)
        return function(*args, **kwargs)

    return slowed


EXPORT_PAUSE = float(os.environ.get("JEJAK_SERVED_EXPORT_PAUSE", "0"))
if EXPORT_PAUSE:
    webapp.custody.integrity.event_fields = _paused(webapp.custody.integrity.event_fields, EXPORT_PAUSE)
    webapp.monitor.epcis.epcis_event = _paused(webapp.monitor.epcis.epcis_event, EXPORT_PAUSE)

app = create_app(Served)
