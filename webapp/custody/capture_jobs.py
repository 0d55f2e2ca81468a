"""EPCIS 2.0 capture over the REST binding: a document sent to `POST /api/v1/epcis/capture` becomes a capture
job, and a task of the job queue records its events as the sender's scans (custody/epcis_capture.py), a part
at a time.

The request only checks that the body is an EPCIS document within the limits (else 400, and no job), keeps
it, and answers 202 with the job's address; `GET /api/v1/epcis/capture/{captureID}` then says how far it has
got and, per event, what was refused and why. Each part of CAPTURE_PART boxes is one transaction that also
records the job's progress, so a worker that dies part-way loses nothing: the job is queued again
(`requeue_stalled_captures`, every minute) and goes on from the first event not yet taken. Events are taken
once each whatever happens (their scan ids come from their eventIDs): a document sent twice records nothing
the second time, and its job says `duplicate` for each box. A finished job is kept CAPTURE_JOB_KEEP_DAYS days
(30 by default) for its sender to read, then deleted (`expire_captures`, every hour): its events stay in the
ledger.

Refused events are written as the phone's refusals are (a receipt, and the alert a supervisor sees); an
event Jejak cannot read writes nothing. The capture goes on past both, as GS1's `proceed` error behaviour
says; `rollback` (all or nothing) is not offered, since a refusal's alert must stay.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from huey import crontab
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.core.database import in_transaction
from webapp.core.jobs import JobState, app_task, claim, huey, requeue_stalled
from webapp.custody.epcis_capture import DocumentProblem, capture_events, document_events
from webapp.custody.event import utc_text
from webapp.custody.models import CaptureJob
from webapp.extensions import db

log = logging.getLogger(__name__)
CAPTURE_PART = 500  # boxes recorded in one transaction (one phone batch holds up to 1,000)
RETRIES = 2  # runs after the first, when a run fails
RETRY_DELAY = 10  # seconds
STALE_SECONDS = 300  # a running job without a sign of life (a part recorded) for this long lost its worker
MAX_ERRORS = 20_000  # refusals kept per job (a document holds at most 20,000 boxes)


def failed_message() -> str:
    return _(
        "The capture stopped because of a fault on the server. Send the document again: events already taken are not taken twice."
    )


class CaptureNotRunnable(Exception):
    """The job is not waiting to run (handed twice, or finished)."""


def submit(session: Session, actor: User, body: bytes, locale: str = "id") -> CaptureJob:
    """Keep a document as a queued capture job of `actor` (the caller commits and enqueues it), or
    DocumentProblem if it is no EPCIS document within the limits."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DocumentProblem(_("The request is not valid JSON.")) from None
    events = document_events(document)
    job = CaptureJob(
        capture_id=secrets.token_hex(16),
        submitted_by=actor,
        state=JobState.QUEUED,
        document=body.decode("utf-8"),
        document_sha256=hashlib.sha256(body).hexdigest(),
        locale=locale,
        events=len(events),
        done=0,
        counts={},
        errors=[],
        attempts=0,
        created_at=datetime.now(UTC),
    )
    session.add(job)
    return job


def _parts(events: list, start: int):
    """(first index, events) parts of about CAPTURE_PART boxes each, from event `start` on."""
    index = start
    while index < len(events):
        end, boxes = index, 0
        while end < len(events) and (boxes == 0 or boxes < CAPTURE_PART):
            epcs = events[end].get("epcList") if isinstance(events[end], dict) else None
            boxes += len(epcs) if isinstance(epcs, list) else 1
            end += 1
        yield index, events[index:end]
        index = end


def _still_mine(session: Session, job_id: int, attempt: int) -> None:
    """Inside each write of a run: the job's row, locked, is still this run's (a run thought dead and queued
    again may have been claimed by another worker: then this one stops, writing nothing more)."""
    row = session.execute(
        select(CaptureJob.attempts, CaptureJob.state).where(CaptureJob.id == job_id).with_for_update()
    ).one()
    if (row.attempts, row.state) != (attempt, JobState.RUNNING):
        raise CaptureNotRunnable(f"capture job {job_id} was taken over by another run")


def run_capture(session: Session, job_id: int, *, last_attempt: bool = True) -> CaptureJob:
    """Run a queued capture job to the end, a part at a time (each part and the job's progress in one
    transaction). A failure is recorded on the job and raised again for the queue to retry; on the
    `last_attempt` the job ends as failed instead. CaptureNotRunnable when it is not queued."""
    if not claim(session, CaptureJob, job_id):
        raise CaptureNotRunnable(f"capture job {job_id} is not waiting to run")
    job = session.get(CaptureJob, job_id, populate_existing=True)
    device, mine = f"epcis:{job.capture_id[:16]}", job.attempts

    def still_mine() -> None:
        _still_mine(session, job_id, mine)

    try:
        events = document_events(json.loads(job.document))
        for first, part in _parts(events, job.done):

            def take(first=first, part=part) -> None:
                still_mine()
                with force_locale(job.locale):  # a worker has no request: the refusals in the sender's language
                    results = capture_events(session, actor=job.submitted_by, events=part, device=device, first=first)
                counts = dict(job.counts)
                refused = []
                for result in results:
                    counts[result.verdict] = counts.get(result.verdict, 0) + 1
                    if result.verdict in ("refused", "error"):
                        refused.append(result.json())
                job.counts = counts
                if refused:
                    job.errors = [*job.errors, *refused][:MAX_ERRORS]
                job.done, job.heartbeat_at = first + len(part), datetime.now(UTC)

            in_transaction(take, session=session)

        def finish() -> None:
            still_mine()
            job.state, job.error, job.document = JobState.DONE, None, None
            job.finished_at = job.heartbeat_at = datetime.now(UTC)

        in_transaction(finish, session=session)
    except CaptureNotRunnable:
        session.rollback()
        log.warning("capture job %s: another run took it over; this one stops", job.capture_id)
    except Exception as exc:
        session.rollback()
        log.exception("capture job %s failed (attempt %s)", job.capture_id, job.attempts)
        error = f"{type(exc).__name__}: {exc}"[:500]

        def failed() -> None:
            still_mine()
            job.error = error
            job.state = JobState.FAILED if last_attempt else JobState.QUEUED
            if last_attempt:  # the end: what was taken stays in the ledger, the document goes
                job.finished_at, job.document = datetime.now(UTC), None

        in_transaction(failed, session=session)
        if not last_attempt:
            raise
    return job


@huey.task(context=True)
@app_task
def capture_document(job_id: int, task=None) -> None:
    """Run one capture job; its last attempt records a failure on the job instead of raising it."""
    try:
        run_capture(db.session, job_id, last_attempt=task is None or not task.retries)
    except CaptureNotRunnable as exc:
        log.warning("%s", exc)


def enqueue(session: Session, job: CaptureJob) -> None:
    """Hand a queued job (committed) to the queue; if the queue cannot take it, the job fails visibly."""
    try:
        huey.enqueue(capture_document.s(job.id, retries=RETRIES, retry_delay=RETRY_DELAY))
    except Exception as exc:  # the queue's storage is unreachable (Redis down, a full disk)
        log.exception("capture job %s could not be queued", job.capture_id)
        error = f"could not be queued: {exc}"[:500]

        def failed() -> None:
            job.state, job.error, job.finished_at = (
                JobState.FAILED,
                error,
                datetime.now(UTC),
            )

        in_transaction(failed, session=session)


@huey.periodic_task(crontab(minute="*"))
@app_task
def requeue_stalled_captures() -> None:
    """Run again the capture jobs whose worker died part-way (they go on where they stopped), and hand the
    queue again any job queued long ago that no task holds (the web process died between keeping the job
    and enqueuing it, or the queue was down): a job run twice is claimed once."""
    why = "the worker stopped while capturing"
    queued = in_transaction(lambda: requeue_stalled(db.session, CaptureJob, STALE_SECONDS, RETRIES, why=why))

    def waiting() -> list[int]:  # and not handed again for another STALE_SECONDS
        cutoff = datetime.now(UTC) - timedelta(seconds=STALE_SECONDS)
        jobs = db.session.scalars(
            select(CaptureJob).where(
                CaptureJob.state == JobState.QUEUED,
                func.coalesce(CaptureJob.heartbeat_at, CaptureJob.created_at) < cutoff,
                CaptureJob.id.not_in(list(queued) or [0]),
            )
        ).all()
        for job in jobs:
            job.heartbeat_at = datetime.now(UTC)
        return [job.id for job in jobs]

    again = in_transaction(waiting)
    for job_id, left in [*queued.items(), *((j, RETRIES) for j in again)]:
        log.warning("capture job %s had no worker: queued again", job_id)
        try:
            huey.enqueue(capture_document.s(job_id, retries=left, retry_delay=RETRY_DELAY))
        except Exception:  # the queue is down: the next sweep tries again
            log.exception("capture job %s could not be queued again", job_id)


def expire_captures(session: Session, keep_days: int, now: datetime | None = None) -> int:
    """Delete the capture jobs that finished (done or failed) more than `keep_days` days ago; the number
    deleted. Their events stay in the ledger; only the job's report of them goes."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    finished = CaptureJob.state.in_((JobState.DONE, JobState.FAILED))
    expired = delete(CaptureJob).where(finished, CaptureJob.finished_at < cutoff)
    return session.execute(expired, execution_options={"synchronize_session": "fetch"}).rowcount


@huey.periodic_task(crontab(minute="41"))
@app_task
def expire_old_captures() -> None:
    """Every hour: delete the capture jobs finished more than CAPTURE_JOB_KEEP_DAYS days ago."""
    keep_days = current_app.config["CAPTURE_JOB_KEEP_DAYS"]
    deleted = in_transaction(lambda: expire_captures(db.session, keep_days))
    if deleted:
        log.info("deleted %s capture jobs finished more than %s days ago", deleted, keep_days)


def _problem(error: dict) -> dict:
    """A refused or unreadable event as the binding's capture job lists errors: an RFC 7807 problem (type,
    title, detail) with Jejak's own members (index, eventID, epc, verdict, reason, message)."""
    if error.get("verdict") == "error":
        kind, title = "ValidationException", "The event cannot be read"
    elif error.get("reason") == "forbidden":
        kind, title = "SecurityException", "Not allowed for this account"
    else:
        kind, title = "ValidationException", "Refused by the custody rules"
    return {"type": f"epcisException:{kind}", "title": title, "detail": error.get("message", ""), **error}


def capture_json(job: CaptureJob, *, url: str) -> dict:
    """The job as the EPCIS 2.0 REST binding's capture job (captureID, createdAt, finishedAt, running,
    success, captureErrorBehaviour, errors), with Jejak's progress and counts."""
    finished = job.state in (JobState.DONE, JobState.FAILED)
    return {
        "captureID": job.capture_id,
        "url": url,
        "createdAt": utc_text(job.created_at),
        "finishedAt": utc_text(job.finished_at) if finished and job.finished_at else None,
        "running": not finished,
        "success": job.state == JobState.DONE and not job.errors,
        "captureErrorBehaviour": "proceed",
        "state": job.state,
        "events": job.events,
        "done": job.done,
        "counts": {verdict: job.counts.get(verdict, 0) for verdict in ("accepted", "duplicate", "refused", "error")},
        "errors": [_problem(error) for error in job.errors],
        # the failure itself is in the server's log; the sender is told what to do
        "error": failed_message() if job.state == JobState.FAILED else None,
    }
