"""Label print jobs as tasks of the job queue (webapp/core/jobs.py).

The labels page creates the job (queued) and enqueues `print_labels`; a worker runs it (services.run_job).
A run that fails is run again LABEL_JOB_RETRIES times, LABEL_JOB_RETRY_DELAY seconds apart, then the job
shows as failed with its error. A job whose worker died while printing (a restart, a crash: it stops giving
signs of life) is put back in the queue by `requeue_stalled_jobs`, every minute, and runs again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app
from huey import crontab
from sqlalchemy.orm import Session

from webapp.core.database import in_transaction
from webapp.core.jobs import app_task, huey, requeue_stalled
from webapp.extensions import db
from webapp.labels.models import JobState, LabelJob
from webapp.labels.services import JobNotRunnable, run_job

log = logging.getLogger(__name__)


@huey.task(context=True)
@app_task
def print_labels(job_id: int, task=None) -> None:
    """Run one label job; its last attempt records a failure on the job instead of raising it."""
    try:
        run_job(
            db.session,
            job_id,
            base_url=current_app.config["PUBLIC_BASE_URL"],
            last_attempt=task is None or not task.retries,
        )
    except JobNotRunnable as exc:  # handed twice, or cancelled: nothing to do, and nothing to retry
        log.warning("%s", exc)


def enqueue_job(session: Session, job: LabelJob, config) -> None:
    """Hand a queued job (committed) to the queue. If the queue cannot take it, the job fails visibly
    instead of waiting forever."""
    try:
        huey.enqueue(
            print_labels.s(job.id, retries=config["LABEL_JOB_RETRIES"], retry_delay=config["LABEL_JOB_RETRY_DELAY"])
        )
    except Exception as exc:  # the queue's storage is unreachable (Redis down, a full disk)
        log.exception("label job %s could not be queued", job.id)
        failed = {
            "state": JobState.FAILED,
            "error": f"could not be queued: {exc}"[:500],
            "finished_at": datetime.now(UTC),
        }
        in_transaction(lambda: [setattr(job, name, value) for name, value in failed.items()], session=session)


@huey.periodic_task(crontab(minute="*"))
@app_task
def requeue_stalled_jobs() -> None:
    """Run again the jobs whose worker died while printing (no sign of life for LABEL_JOB_STALE_SECONDS)."""
    config = current_app.config
    retries = config["LABEL_JOB_RETRIES"]
    why = "the worker stopped while printing"
    stale = config["LABEL_JOB_STALE_SECONDS"]
    queued = in_transaction(lambda: requeue_stalled(db.session, LabelJob, stale, retries, why=why))
    for job_id, left in queued.items():
        log.warning("label job %s lost its worker: queued again", job_id)
        huey.enqueue(print_labels.s(job_id, retries=left, retry_delay=config["LABEL_JOB_RETRY_DELAY"]))
