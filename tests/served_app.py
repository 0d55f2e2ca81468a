"""The app as tests/serving.py serves it with gunicorn: the test configuration on the database named in
JEJAK_SERVED_DATABASE, errors handled as in production, and two ways to make requests last:
JEJAK_SERVED_EXPORT_PAUSE=SECONDS slows exports by that pause per event (so they outlive a short worker
timeout); JEJAK_SERVED_SCAN_PAUSE=SECONDS holds each scan batch that long after its events are written and
before they are committed (so a killed worker is likely to die inside a transaction)."""

from __future__ import annotations

import os
import time

import webapp.api.custody
import webapp.custody.export
import webapp.exports.epcis
from config import TestConfig
from webapp import create_app


class Served(TestConfig):
    """TestConfig on the served database; not TESTING, so a failing request answers 500 as in production."""

    TESTING = False
    SQLALCHEMY_DATABASE_URI = os.environ["JEJAK_SERVED_DATABASE"]
    EXPORT_SLOTS_DIR = os.environ["JEJAK_SERVED_SLOTS"]


def _paused(function, seconds: float, *, after: bool = False):
    def slowed(*args, **kwargs):
        if not after:
            time.sleep(seconds)
        result = function(*args, **kwargs)
        if after:
            time.sleep(seconds)
        return result

    return slowed


EXPORT_PAUSE = float(os.environ.get("JEJAK_SERVED_EXPORT_PAUSE", "0"))
if EXPORT_PAUSE:
    webapp.custody.export.event_line = _paused(webapp.custody.export.event_line, EXPORT_PAUSE)
    webapp.exports.epcis.epcis_event = _paused(webapp.exports.epcis.epcis_event, EXPORT_PAUSE)
SCAN_PAUSE = float(os.environ.get("JEJAK_SERVED_SCAN_PAUSE", "0"))
if SCAN_PAUSE:
    webapp.api.custody.record_scans = _paused(webapp.api.custody.record_scans, SCAN_PAUSE, after=True)

app = create_app(Served)
