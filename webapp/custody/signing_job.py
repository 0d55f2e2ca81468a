"""Signed on time: a checkpoint over every event, whoever wrote it, within LEDGER_MAX_DELAY seconds.

Scans, label printing, packing, seeding and imports all append events; none of them needs to remember to
checkpoint. A periodic task of the job queue (webapp/core/jobs.py) signs one every LEDGER_MAX_DELAY / 2
seconds (30 s by default), so an event waits at most half the allowed delay for the next run, and the other
half covers a late or slow run.

Huey's periodic tasks run at most once a minute (crontab granularity; its author declines sub-minute
periods, coleifer/huey#33 and #608). So `ledger_checkpoint_tick` runs every minute, checkpoints at once,
and schedules `ledger_checkpoint` for the rest of the minute (at +30 s by default): Huey's own answer for
"more often than the scheduler" (the periodic task that schedules tasks at an eta, coleifer/huey#152). A
looping task would hold a worker thread for the whole minute and stop with it; a task that reschedules itself
forms a chain that one lost run breaks for good (and that a restart doubles). The tick is restarted by the
scheduler every minute whatever happened before, and the scheduled runs are kept in the queue's storage.
"""

from __future__ import annotations

import logging

from flask import current_app
from huey import crontab
from sqlalchemy.orm import Session

from webapp.core.database import in_transaction
from webapp.core.jobs import app_task, huey
from webapp.custody.checkpoints import make_checkpoint, signing_key
from webapp.custody.models import LedgerCheckpoint
from webapp.extensions import db

log = logging.getLogger(__name__)
PRIORITY = 100  # before any label job waiting in the queue


def checkpoint_if_due(session: Session, config) -> LedgerCheckpoint | None:
    """Sign a checkpoint over every event not yet covered, in one write transaction; None when none is new."""
    return in_transaction(lambda: make_checkpoint(session, signing_key(config)), session=session)


def checkpoint_offsets(max_delay: int) -> list[int]:
    """Seconds into each minute at which to checkpoint: every max_delay / 2 seconds, at least once a minute."""
    period = max(1, int(max_delay) // 2)
    return list(range(0, 60, period)) if period < 60 else [0]


def _checkpoint() -> None:
    checkpoint = checkpoint_if_due(db.session, current_app.config)
    if checkpoint is not None:
        log.info("checkpoint signed: %d events up to %d", checkpoint.event_count, checkpoint.upto_event_id)


@huey.task(priority=PRIORITY)
@app_task
def ledger_checkpoint() -> None:
    """One checkpoint run, scheduled by the tick within its minute."""
    _checkpoint()


@huey.periodic_task(crontab(minute="*"), priority=PRIORITY)
@app_task
def ledger_checkpoint_tick() -> None:
    """Every minute: checkpoint now, and schedule the minute's other runs (LEDGER_MAX_DELAY / 2 apart)."""
    offsets = checkpoint_offsets(current_app.config["LEDGER_MAX_DELAY"])
    for offset in offsets[1:]:
        ledger_checkpoint.schedule(delay=offset, priority=PRIORITY, expires=offset + 60)
    _checkpoint()
