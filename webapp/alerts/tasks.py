"""The alerts sweep (sweep.py, what `flask alerts scan` runs) as a periodic task of the job queue.

It runs every ALERTS_SWEEP_MINUTES minutes (5 by default) in the worker that runs the periodic tasks
(`flask jobs worker`), under a lock of the queue: two sweeps at the same moment could each raise the same
alert, so a sweep still running when the next is due makes that one skip its turn.
"""

from __future__ import annotations

import calendar
import logging
from datetime import datetime

from flask import current_app

from webapp.alerts.sweep import sweep
from webapp.core.database import in_transaction
from webapp.core.jobs import app_task, huey
from webapp.extensions import db

log = logging.getLogger(__name__)
SWEEP_LOCK = huey.lock_task("alerts-sweep")


def sweep_due(timestamp: datetime) -> bool:
    """Whether the sweep runs in this minute (UTC, as Huey gives it): one minute in ALERTS_SWEEP_MINUTES."""
    every = max(1, int(huey.app.config["ALERTS_SWEEP_MINUTES"])) if huey.app is not None else 5
    return (calendar.timegm(timestamp.timetuple()) // 60) % every == 0


@huey.periodic_task(sweep_due, priority=50)
@app_task
def alerts_sweep() -> None:
    """Raise the stalled and overdue alerts that are due (sweep.py)."""
    with SWEEP_LOCK:
        result = in_transaction(lambda: sweep(db.session, current_app.config))
    log.info(
        "alerts sweep: %d stalled, %d overdue (%d TPS newly behind)", result.stalled, result.overdue, result.tps_behind
    )
