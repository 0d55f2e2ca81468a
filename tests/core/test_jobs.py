"""The job queue (webapp/core/jobs.py) as it really runs: Huey on an SQLite file, its tasks taken and run by
a consumer afterwards, as `flask jobs worker` does. The consumer runs here, in the test's thread, through
Huey's own API (read the schedule, dequeue, execute), so it shares the test's transaction; each test (and so
each pytest-xdist worker) has its queue file in its own tmp_path.

Covered: a label job enqueued by one web app is printed after a restart and its PDF served by another app
instance from the database; a failing job is retried, then shown as failed, commissioning nothing twice; the
periodic checkpoint signs events that no scan wrote (label printing); the alerts sweep runs on its own; a
job whose worker died runs again.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from config import BASE_DIR, TestConfig
from tests.core.test_deployment import _free_port, _health
from tests.factories import UserFactory
from webapp import create_app
from webapp.core.jobs import huey, storage_for
from webapp.custody.actions import EventKind
from webapp.custody.checkpoints import latest_checkpoint
from webapp.custody.models import Alert, CustodyEvent
from webapp.custody.signing_job import checkpoint_offsets
from webapp.geo.models import Site
from webapp.labels.models import JobState, LabelJob, LabelJobPdf


@pytest.fixture
def queue(app, tmp_path):
    """Huey on a real SQLite queue of this test's own, instead of the tests' immediate mode."""
    saved = app.config["JOBS_URL"], app.config["JOBS_IMMEDIATE"]
    app.config.update(JOBS_URL=f"sqlite:///{tmp_path / 'jobs.db'}", JOBS_IMMEDIATE=False)
    huey.init_app(app)
    yield huey
    app.config["JOBS_URL"], app.config["JOBS_IMMEDIATE"] = saved
    huey.init_app(app)


def utc(moment: datetime | None = None) -> datetime:
    """A moment as Huey reads it: naive UTC."""
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)


def consume(queue, now: datetime | None = None) -> list[str]:
    """One pass of the consumer at `now`: due scheduled tasks (retries, checkpoints) join the queue, then
    every waiting task runs, or is put on the schedule when its time has not come. Returns the names of the
    tasks run."""
    now = utc(now)
    ran = []
    for task in queue.read_schedule(now):
        queue.enqueue(task)
    while (task := queue.dequeue()) is not None:
        if queue.ready_to_run(task, now):
            ran.append(task.name)
        queue.execute(task, now)
        assert len(ran) < 100, "the queue does not empty"
    return ran


def due(queue, now: datetime) -> list[str]:
    """The periodic tasks the consumer's scheduler (once a minute) finds due at `now`."""
    return sorted(task.name for task in queue.read_periodic(utc(now)))


def start_periodic(queue, now: datetime, name: str) -> None:
    """The scheduler enqueues the periodic task `name`, due at `now`."""
    [task] = [task for task in queue.read_periodic(utc(now)) if task.name == name]
    queue.enqueue(task)


@pytest.fixture
def warehouse(seeded):
    user = UserFactory(role="warehouse", scope_site=seeded.scalar(select(Site).where(Site.code == "KPU-3101")))
    seeded.commit()
    return user


def tps_codes(session, n: int) -> list[str]:
    return list(session.scalars(select(Site.code).where(Site.kind == "tps").order_by(Site.code).limit(n)))


def commissions(session) -> list[str]:
    return list(session.scalars(select(CustodyEvent.note).where(CustodyEvent.kind == EventKind.COMMISSION)))


def test_queue_urls():
    storage, options = storage_for("sqlite:///instance/jobs.db")
    assert storage.__name__ == "SqliteStorage" and options == {"filename": str(BASE_DIR / "instance" / "jobs.db")}
    assert storage_for("sqlite:////var/lib/jejak/jobs.db")[1] == {"filename": "/var/lib/jejak/jobs.db"}
    assert storage_for("redis://127.0.0.1:6379/2") == (storage_for("redis://x")[0], {"url": "redis://127.0.0.1:6379/2"})
    assert storage_for("redis://x")[0].__name__ == "PriorityRedisStorage"  # checkpoints before label jobs
    assert storage_for("postgres://jejak@db/jejak")[1] == {"dsn": "postgresql://jejak@db/jejak"}
    for wrong in ("sqlite:///", "sqlite://jobs.db", "amqp://rabbit", "jobs.db"):
        with pytest.raises(ValueError, match="JOBS_URL"):
            storage_for(wrong)


def test_an_app_with_an_unknown_queue_does_not_start(restore_extensions):
    class Wrong(TestConfig):
        JOBS_URL = "amqp://rabbit/jejak"

    with pytest.raises(ValueError, match="JOBS_URL 'amqp://rabbit/jejak' is not a queue Jejak knows"):
        create_app(Wrong)


def test_a_job_survives_a_web_restart_and_another_app_serves_its_pdf(
    app, queue, seeded, warehouse, log_in, tmp_path, restore_extensions
):
    tps = tps_codes(seeded, 1)[0]
    response = log_in(warehouse).post("/labels", data={"region": tps, "format": "a4", "site": "KPU-3101"})
    assert response.status_code == 302
    job = seeded.scalar(select(LabelJob))
    assert job.state == JobState.QUEUED and job.done == 0 and commissions(seeded) == []  # the request only enqueued
    assert queue.pending_count() == 1

    # The web server restarts: a new process opens the same queue file (and the same database).
    class Restarted(TestConfig):
        JOBS_URL = app.config["JOBS_URL"]
        JOBS_IMMEDIATE = False

    second = create_app(Restarted)
    assert huey.app is second and huey.pending_count() == 1

    assert consume(huey) == ["print_labels"]  # a worker started afterwards prints it
    seeded.expire_all()
    assert job.state == JobState.DONE and job.done == job.total == 4 and job.attempts == 1
    assert commissions(seeded) == ["label printed"] * 4
    stored = seeded.scalar(select(func.sum(func.length(LabelJobPdf.data))).where(LabelJobPdf.job_id == job.id))
    assert stored == job.pdf_size > 1000
    assert not any(tmp_path.rglob("*.pdf")) and not (BASE_DIR / "instance" / "labels" / f"labels-{job.id}.pdf").exists()

    client = second.test_client()  # another app instance: nothing of the first one's disk
    assert client.post("/login", data={"username": warehouse.username, "password": "password123"}).status_code == 302
    page = client.get(f"/labels/jobs/{job.id}")
    assert page.status_code == 200 and "Unduh PDF" in page.text
    with client.get(f"/labels/jobs/{job.id}/pdf") as pdf:
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert int(pdf.headers["Content-Length"]) == len(pdf.data) == job.pdf_size
        assert pdf.headers["Content-Disposition"] == f'attachment; filename="label-{tps}.pdf"'
        assert len(pdfium.PdfDocument(pdf.data)) == 1  # 4 labels, 8 to an A4 sheet


def test_a_failing_job_is_retried_then_shown_as_failed(app, queue, seeded, warehouse, log_in, monkeypatch):
    tps = tps_codes(seeded, 1)[0]
    draws = []

    def broken(*args, **kwargs):
        draws.append(1)
        raise OSError("No space left on device")

    monkeypatch.setattr("webapp.labels.services.render_pdf", broken)
    monkeypatch.setitem(app.config, "LABEL_JOB_RETRY_DELAY", 30)
    client = log_in(warehouse)
    client.post("/labels", data={"region": tps, "format": "a4", "site": "KPU-3101"})
    job = seeded.scalar(select(LabelJob))
    start = datetime.now(UTC)

    assert consume(queue, start) == ["print_labels"]
    seeded.expire_all()
    assert (job.state, job.attempts, job.error) == (JobState.QUEUED, 1, "OSError: No space left on device")
    page = client.get(f"/labels/jobs/{job.id}").text
    assert "Percobaan 1 tidak selesai" in page and "No space left on device" in page
    assert consume(queue, start + timedelta(seconds=10)) == []  # the retry waits LABEL_JOB_RETRY_DELAY
    assert consume(queue, start + timedelta(seconds=45)) == ["print_labels"]
    assert consume(queue, start + timedelta(seconds=90)) == ["print_labels"]
    seeded.expire_all()
    assert (job.state, job.attempts, job.error) == (JobState.FAILED, 3, "OSError: No space left on device")
    assert len(draws) == 3 and queue.pending_count() == queue.scheduled_count() == 0  # retries=2, then no more
    assert commissions(seeded) == ["label printed"] * 4  # three runs, each box commissioned once
    page = client.get(f"/labels/jobs/{job.id}").text
    assert "Gagal" in page and "No space left on device" in page and "Percobaan" not in page
    assert client.get(f"/labels/jobs/{job.id}/pdf").status_code == 404


def test_a_retry_after_a_failure_prints_the_labels_once(app, queue, seeded, warehouse, log_in, monkeypatch):
    from webapp.labels import services

    real = services.render_pdf
    printed = []

    def fails_once(specs, *args, **kwargs):
        if not printed:
            printed.append("failed")
            raise ConnectionError("database went away")
        printed.extend(spec.reprint for spec in specs)
        return real(specs, *args, **kwargs)

    monkeypatch.setattr(services, "render_pdf", fails_once)
    monkeypatch.setitem(app.config, "LABEL_JOB_RETRY_DELAY", 5)
    log_in(warehouse).post("/labels", data={"region": tps_codes(seeded, 1)[0], "format": "thermal", "site": "KPU-3101"})
    start = datetime.now(UTC)
    assert consume(queue, start) == consume(queue, start + timedelta(seconds=20)) == ["print_labels"]
    job = seeded.scalar(select(LabelJob))
    assert (job.state, job.attempts, job.error) == (JobState.DONE, 2, None)
    assert printed == ["failed", 0, 0, 0, 0]  # no label says REPRINT: the first run's commissions are its own
    assert commissions(seeded) == ["label printed"] * 4


def test_the_periodic_checkpoint_covers_events_no_scan_wrote(app, queue, seeded, warehouse, log_in):
    """Label printing writes commission events outside any scans request; within LEDGER_MAX_DELAY a
    checkpoint covers the newest of them."""
    first, second = tps_codes(seeded, 2)
    client = log_in(warehouse)
    client.post("/labels", data={"region": first, "format": "a4", "site": "KPU-3101"})
    start = datetime.now(UTC)
    assert consume(queue, start) == ["print_labels"]  # the worker prints it: 4 commission events
    before = latest_checkpoint(seeded)
    newest = seeded.scalar(select(func.max(CustodyEvent.id)))
    assert before is None or before.upto_event_id < newest

    assert "ledger_checkpoint_tick" in due(queue, start)  # due every minute
    start_periodic(queue, start, "ledger_checkpoint_tick")
    assert consume(queue, start) == ["ledger_checkpoint_tick"]
    checkpoint = latest_checkpoint(seeded)
    assert checkpoint.upto_event_id == newest
    assert checkpoint.event_count == seeded.scalar(select(func.count(CustodyEvent.id)))

    # Half a minute later (LEDGER_MAX_DELAY 60 / 2) the tick's scheduled run covers what came since.
    client.post("/labels", data={"region": second, "format": "a4", "site": "KPU-3101"})
    assert consume(queue, start + timedelta(seconds=1)) == ["print_labels"]
    assert queue.scheduled_count() == 1
    assert consume(queue, start + timedelta(seconds=25)) == []
    assert consume(queue, start + timedelta(seconds=35)) == ["ledger_checkpoint"]
    assert latest_checkpoint(seeded).upto_event_id == seeded.scalar(select(func.max(CustodyEvent.id))) > newest
    assert len(commissions(seeded)) == 8
    assert queue.pending_count() == queue.scheduled_count() == 0


def test_checkpoints_come_every_half_of_the_maximum_delay():
    assert checkpoint_offsets(60) == [0, 30]
    assert checkpoint_offsets(20) == [0, 10, 20, 30, 40, 50]
    assert checkpoint_offsets(1) == list(range(60))
    assert checkpoint_offsets(120) == checkpoint_offsets(3600) == [0]  # the tick itself, once a minute


def test_the_alerts_sweep_runs_every_few_minutes(app, queue, seeded, monkeypatch):
    monkeypatch.setitem(app.config, "ELECTION_DAY", (date.today() + timedelta(days=1)).isoformat())  # H-3 is past
    on_time = datetime(2029, 2, 12, 10, 5, tzinfo=UTC)
    assert "alerts_sweep" not in due(queue, on_time - timedelta(minutes=1))
    assert "alerts_sweep" in due(queue, on_time)  # ALERTS_SWEEP_MINUTES = 5
    start_periodic(queue, on_time, "alerts_sweep")
    assert consume(queue) == ["alerts_sweep"]
    overdue = seeded.scalar(select(func.count(Alert.id)).where(Alert.kind == "overdue"))
    assert overdue > 0  # every seeded TPS missed the PPK milestone
    monkeypatch.setitem(app.config, "ALERTS_SWEEP_MINUTES", 15)
    assert "alerts_sweep" not in due(queue, on_time)
    start_periodic(queue, on_time + timedelta(minutes=10), "alerts_sweep")  # 10:15
    assert consume(queue) == ["alerts_sweep"]
    assert seeded.scalar(select(func.count(Alert.id)).where(Alert.kind == "overdue")) == overdue  # raised once


def test_a_job_whose_worker_died_runs_again(app, queue, seeded, warehouse):
    job = LabelJob(region=tps_codes(seeded, 1)[0], format="a4", site_code="KPU-3101", requested_by=warehouse)
    job.state, job.attempts = JobState.RUNNING, 1
    job.heartbeat_at = datetime.now(UTC) - timedelta(minutes=10)  # the worker was killed mid-way
    seeded.add(job)
    seeded.commit()
    assert "requeue_stalled_jobs" in due(queue, datetime.now(UTC))  # every minute
    start_periodic(queue, datetime.now(UTC), "requeue_stalled_jobs")
    assert consume(queue) == ["requeue_stalled_jobs", "print_labels"]
    seeded.expire_all()
    assert (job.state, job.attempts) == (JobState.DONE, 2)

    job.state, job.attempts, job.heartbeat_at = JobState.RUNNING, 3, datetime.now(UTC) - timedelta(minutes=10)
    seeded.commit()  # it died on its last run: it is not run a fourth time
    start_periodic(queue, datetime.now(UTC), "requeue_stalled_jobs")
    assert consume(queue) == ["requeue_stalled_jobs"]
    seeded.expire_all()
    assert (job.state, job.error) == (JobState.FAILED, "the worker stopped while printing")

    fresh = LabelJob(region=job.region, format="a4", site_code="KPU-3101", requested_by=warehouse, state="running")
    fresh.heartbeat_at = datetime.now(UTC) - timedelta(seconds=20)  # alive: left alone
    seeded.add(fresh)
    seeded.commit()
    start_periodic(queue, datetime.now(UTC), "requeue_stalled_jobs")
    assert consume(queue) == ["requeue_stalled_jobs"]
    seeded.expire_all()
    assert fresh.state == JobState.RUNNING


def test_the_worker_refuses_to_start_without_a_queue(runner):
    result = runner.invoke(args=["jobs", "worker"])
    assert result.exit_code == 1 and "JOBS_IMMEDIATE is set" in result.output


def test_queue_status(runner, queue):
    from webapp.custody.signing_job import ledger_checkpoint

    ledger_checkpoint.schedule(delay=30)
    result = runner.invoke(args=["jobs", "status"])
    assert result.exit_code == 0 and "SqliteStorage: 1 waiting, 0 scheduled" in result.output
    consume(queue)  # the worker finds it is not due yet: it waits on the schedule
    assert "SqliteStorage: 0 waiting, 1 scheduled" in runner.invoke(args=["jobs", "status"]).output


def test_a_pdf_is_kept_and_sent_in_pieces(seeded, warehouse, monkeypatch):
    from webapp.labels import services

    monkeypatch.setattr(services, "PDF_PIECE_BYTES", 10)
    job = LabelJob(region="31.01", format="a4", site_code="KPU-3101", requested_by=warehouse, state="done")
    seeded.add(job)
    seeded.flush()
    data = b"%PDF-1.4 twenty-five bytes"
    assert services.store_pdf(seeded, job, io.BytesIO(data)) == len(data) == job.pdf_size
    seeded.commit()
    assert seeded.scalar(select(func.count()).select_from(LabelJobPdf).where(LabelJobPdf.job_id == job.id)) == 3
    assert b"".join(services.pdf_pieces(seeded, job.id)) == data


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc: this machine's processes and their parents)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_procfile_runs_web_and_worker_and_one_ctrl_c_stops_both(tmp_path):
    """`make run`'s last step: honcho starts gunicorn and the job worker; the worker runs the periodic tasks
    against the database; Ctrl-C (SIGINT to honcho's process group, as a terminal sends it) stops everything."""
    honcho = BASE_DIR / ".venv" / "bin" / "honcho"
    if not honcho.exists():
        pytest.skip("needs the project's .venv (make setup)")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "JEJAK"))},
        "JEJAK_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
        "SECRET_KEY": "procfile-test",
        "LEDGER_SIGNING_KEY": TestConfig.LEDGER_SIGNING_KEY,
        "HOST": "127.0.0.1",
        "WORKERS": "1",
    }
    flask = [str(BASE_DIR / ".venv" / "bin" / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=BASE_DIR, env=env, check=True, capture_output=True)
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        command = [str(honcho), "start", "--procfile", "Procfile", "--port", str(port), "--no-colour"]
        runner = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            text = log.read_text(errors="replace")
            answered = _health(port, timeout=2)
            if answered == 200 and "ledger_checkpoint_tick" in text and "executed in" in text:
                break
            assert runner.poll() is None, f"honcho exited:\n{text[-3000:]}"
            assert time.monotonic() < deadline, f"web or worker did not come up within 90 s:\n{text[-3000:]}"
            time.sleep(0.5)
        processes = _descendants(runner.pid)
        assert len(processes) >= 4, processes  # gunicorn master and worker, the job worker (and their shells)
        os.killpg(runner.pid, signal.SIGINT)  # Ctrl-C
        assert runner.wait(timeout=20) == 130
        deadline = time.monotonic() + 10
        while left := [pid for pid in processes if _alive(pid)]:
            assert time.monotonic() < deadline, f"still running after Ctrl-C: {left}"
            time.sleep(0.2)
        text = log.read_text(errors="replace")
        assert "SIGINT received" in text and "Consumer exiting" in text and "Shutting down: Master" in text
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
