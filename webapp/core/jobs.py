"""The task queue: background and periodic work on Huey, run by `flask jobs worker` beside the web server.

One Huey instance, `huey`, serves the whole app. `init_app` points it at the queue JOBS_URL names (an SQLite
file by default, so a laptop needs no other server; Redis or PostgreSQL when several app servers share the
work) and remembers the app, so that every task runs inside an app context with its own database session
(`app_task`). The tasks themselves live beside what they do:

- `labels/tasks.py`: print a label job (retried LABEL_JOB_RETRIES times, then shown as failed), and run
  again a job whose worker died;
- `custody/signing_job.py`: sign a ledger checkpoint every LEDGER_MAX_DELAY / 2 seconds;
- `alerts/tasks.py`: the stalled and overdue sweep every ALERTS_SWEEP_MINUTES;
- `custody/capture_jobs.py`: record an EPCIS document sent to the capture API, a part at a time, and run
  again a capture whose worker died.

A web request only enqueues; `flask jobs worker` (Huey's consumer, in threads) takes the tasks from the queue
and runs the periodic ones. The queue outlives both: a task enqueued before a restart of the web server or of
the worker runs when a worker is there. With JOBS_IMMEDIATE (the tests) a task runs at once, where it is
enqueued, inside the caller's app context and transaction, as Huey's immediate mode does.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import click
from flask import Flask, has_app_context
from flask.cli import with_appcontext
from huey import Huey
from huey.storage import MemoryStorage, PostgresStorage, PriorityRedisStorage, SqliteStorage
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from config import BASE_DIR

log = logging.getLogger(__name__)
T = TypeVar("T")
QUEUE_NAME = "jejak"
URL_HELP = "sqlite:///PATH, redis://HOST:6379/DB, postgresql://USER@HOST/DB or memory://"


def storage_for(url: str) -> tuple[type, dict]:
    """Huey's storage class and its arguments for a JOBS_URL; ValueError naming the setting otherwise.

    sqlite:///instance/jobs.db is relative to the project, sqlite:////var/lib/jejak/jobs.db absolute.
    Redis keeps task priorities (PriorityRedisStorage, Redis 5 or newer), as SQLite and PostgreSQL do.
    memory:// is one process's own queue: only for a worker run inside that process (tests).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        prefix = "sqlite:///"
        if not url.lower().startswith(prefix) or len(url) == len(prefix):
            raise ValueError(f"JOBS_URL {url!r} must name a file: sqlite:///instance/jobs.db")
        path = Path(url[len(prefix) :])
        path = path if path.is_absolute() else BASE_DIR / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage, {"filename": str(path)}
    if scheme in ("redis", "rediss", "unix"):
        return PriorityRedisStorage, {"url": url}
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return PostgresStorage, {"dsn": "postgresql://" + url.split("://", 1)[1]}
    if scheme == "memory":
        return MemoryStorage, {}
    raise ValueError(f"JOBS_URL {url!r} is not a queue Jejak knows: use {URL_HELP}")


class FlaskHuey(Huey):
    """Huey configured from a Flask app's config (`init_app`), like the app's other extensions.

    Until then (and with JOBS_IMMEDIATE) it runs each task at once, in memory."""

    def __init__(self) -> None:
        # results=False: no task's return value is read, so none is kept (not even a failed task's error)
        super().__init__(QUEUE_NAME, results=False, immediate=True, storage_class=MemoryStorage)
        self.app: Flask | None = None

    def init_app(self, app: Flask) -> None:
        """Use the queue JOBS_URL names (or run tasks at once with JOBS_IMMEDIATE) for `app`'s tasks."""
        storage_class, storage_kwargs = storage_for(app.config["JOBS_URL"])
        if self.storage is not None:
            self.storage.close()
        self.storage_class, self.storage_kwargs = storage_class, storage_kwargs
        self._immediate = bool(app.config.get("JOBS_IMMEDIATE"))
        self.storage = self.create_storage()
        self.app = app


huey = FlaskHuey()


def app_task(work: Callable[..., T]) -> Callable[..., T]:
    """Run a task inside the app's context, with a database session of its own removed afterwards.

    A task run where it is enqueued (JOBS_IMMEDIATE, inside a request or a test) uses the context it is in."""

    @wraps(work)
    def in_context(*args, **kwargs) -> T:
        if has_app_context():
            return work(*args, **kwargs)
        if huey.app is None:
            raise RuntimeError("the job queue has no app: create_app() calls jobs.init_app(app)")
        with huey.app.app_context():  # Flask-SQLAlchemy removes the task's session when it ends
            return work(*args, **kwargs)

    return in_context


class JobState(enum.StrEnum):
    """Where a job of a jobs table stands (label print jobs, EPCIS capture jobs)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def claim(session: Session, model: type, job_id: int) -> bool:
    """Mark a queued job of `model` running, counting the attempt, in one statement and committed: of two
    workers handed the same job, one gets it. False when it was not queued."""
    from webapp.core.database import in_transaction

    def mark() -> int:
        running = {"state": JobState.RUNNING, "attempts": model.attempts + 1, "heartbeat_at": datetime.now(UTC)}
        return session.execute(
            update(model).where(model.id == job_id, model.state == JobState.QUEUED).values(**running)
        ).rowcount

    return bool(in_transaction(mark, session=session))


def requeue_stalled(
    session: Session, model: type, stale_seconds: int, retries: int, *, why: str, now: datetime | None = None
) -> dict[int, int]:
    """Jobs of `model` (a table of jobs with state, attempts, heartbeat_at, created_at, error, finished_at)
    running without a sign of life for `stale_seconds` (their worker died: a restart, a crash): queued again
    while they have runs left (of 1 + `retries`), failed otherwise, with `why`. Returns the queued ones' ids,
    each with the retries left after its next run. The caller commits and enqueues them."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=stale_seconds)
    jobs = session.scalars(
        select(model).where(
            model.state == JobState.RUNNING, func.coalesce(model.heartbeat_at, model.created_at) < cutoff
        )
    ).all()
    queued = {}
    for job in jobs:
        job.error = why
        if job.attempts > retries:
            job.state, job.finished_at = JobState.FAILED, datetime.now(UTC)
        else:
            job.state, job.heartbeat_at = JobState.QUEUED, datetime.now(UTC)  # queued again now
            queued[job.id] = retries - job.attempts
    return queued


def init_app(app: Flask) -> None:
    """Configure the queue from `app` and register every task (each module registers its own on import)."""
    huey.init_app(app)
    from webapp.alerts import tasks as _alerts  # noqa: F401
    from webapp.custody import capture_jobs as _capture  # noqa: F401
    from webapp.custody import signing_job as _signing  # noqa: F401
    from webapp.labels import tasks as _labels  # noqa: F401


jobs_cli = click.Group("jobs", help="The task queue: label print jobs, ledger checkpoints, the alerts sweep.")


@jobs_cli.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), help="Threads running tasks (default: JOBS_WORKERS).")
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Do not run the periodic tasks (checkpoints, alerts sweep): for a second worker sharing the queue.",
)
@with_appcontext
def worker_command(workers: int | None, no_periodic: bool) -> None:
    """Take tasks from the queue and run them, and start the periodic ones, until Ctrl-C (or SIGTERM).

    `make run` starts this beside gunicorn. Several workers may share a Redis or PostgreSQL queue; only one
    of them runs the periodic tasks (the others get --no-periodic).
    """
    if huey.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is set: tasks run where they are enqueued, there is no queue")
    app = huey.app
    consumer = huey.create_consumer(
        workers=workers or app.config["JOBS_WORKERS"],
        worker_type="thread",  # a label job forks its drawing processes itself (labels/render.py)
        periodic=not no_periodic,
        max_delay=1.0,  # an idle worker looks at the queue at least once a second
        flush_locks=not no_periodic,  # a lock left by a worker that was killed (the alerts sweep's)
    )
    log.info("job worker: %s", huey.storage_class.__name__)
    consumer.run()


@jobs_cli.command("status")
@with_appcontext
def status_command() -> None:
    """How many tasks wait in the queue, and how many are scheduled for later (retries, checkpoints)."""
    click.echo(f"{huey.storage_class.__name__}: {huey.pending_count()} waiting, {huey.scheduled_count()} scheduled")
