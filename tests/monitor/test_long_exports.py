"""Long exports (the ledger and EPCIS downloads) finish or fail visibly, and never crowd out other requests:
at most EXPORT_CONCURRENCY run at once per machine, a failure part-way leaves no clean-looking file, and
behind gunicorn's gthread workers a download outlives the worker timeout (audit point 10, issue 12)."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import webapp.custody.export
import webapp.exports.epcis
from tests.conftest import login
from tests.custody.conftest import KEY
from tests.serving import Gunicorn, app_for, served_database
from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core import streaming
from webapp.core.database import begin_write
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.custody.verification import verify_export
from webapp.extensions import db

EXPORTS = {"ledger": "/api/v1/export/ledger?region=31.01", "epcis": "/api/v1/export/epcis?region=31.01"}


def whole_ledger_file(data: bytes) -> bool:
    """The end line as docs/ledger.md defines it: last, counting the lines before it, their SHA-256."""
    lines = data.splitlines(keepends=True)
    end = json.loads(lines[-1])
    body = b"".join(lines[:-1])
    return end == {"type": "end", "lines": len(lines) - 1, "sha256": hashlib.sha256(body).hexdigest()}


@pytest.fixture
def slots(app, tmp_path, monkeypatch):
    """Export slots of the test's own, whatever other tests left open."""
    monkeypatch.setitem(app.config, "EXPORT_SLOTS_DIR", str(tmp_path / "slots"))


def test_two_exports_run_at_once_and_a_third_is_told_when_to_come_back(client, ledger, app, slots, monkeypatch):
    # One thread holds every response here, so they are finished in the reverse order they were opened.
    login(client, ledger.observer.username)
    first, second = client.get(EXPORTS["ledger"]), client.get(EXPORTS["epcis"])  # streaming, not yet read
    assert first.status_code == second.status_code == 200
    third = client.get(EXPORTS["ledger"])
    assert third.status_code == 429 and third.headers["Retry-After"] == "60"
    assert third.json["error"]["code"] == "exports_busy"
    assert third.json["error"]["message"] == "Unduhan lain sedang berjalan. Coba lagi dalam satu menit."
    assert client.get("/api/v1/me").status_code == 200  # everything else is served as usual
    second.close()  # closed unread (the client went away): its slot is free again
    again = client.get(EXPORTS["ledger"])
    assert again.status_code == 200 and whole_ledger_file(again.get_data())
    again.close()
    assert whole_ledger_file(first.get_data())
    first.close()
    monkeypatch.setitem(app.config, "EXPORT_CONCURRENCY", 1)
    alone = client.get(EXPORTS["epcis"])  # every download over: even a single slot is free
    assert alone.status_code == 200 and json.loads(alone.get_data())["jejak:complete"] == {"events": 20}
    alone.close()


@pytest.mark.parametrize("export", ["ledger", "epcis"])
def test_a_database_error_part_way_leaves_a_visibly_incomplete_download(
    export, client, ledger, runner, app, slots, tmp_path, monkeypatch, caplog
):
    """The client's transfer fails, what it received is no complete file (the ledger's does not verify, the
    EPCIS document does not parse), the failure is logged, and the export's slot is free again."""
    module, name = (
        (webapp.custody.export, "event_line") if export == "ledger" else (webapp.exports.epcis, "epcis_event")
    )
    original, calls = getattr(module, name), itertools.count()

    def failing(*args, **kwargs):
        if next(calls) == 12:
            raise OperationalError("SELECT ...", {}, Exception("server closed the connection unexpectedly"))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    monkeypatch.setattr(streaming, "CHUNK_BYTES", 1)  # each line goes out as soon as it is made
    monkeypatch.setitem(app.config, "EXPORT_CONCURRENCY", 1)
    login(client, ledger.observer.username)
    response = client.get(EXPORTS[export])
    assert response.status_code == 200
    received = []
    with caplog.at_level(logging.INFO, logger="webapp.core.streaming"), pytest.raises(OperationalError):
        for chunk in response.response:
            received.append(chunk)
    response.close()
    assert len(received) > 10  # part of the file did arrive
    assert f"{export if export == 'ledger' else 'EPCIS'} export of 31.01 by {ledger.observer.username}: failed" in (
        caplog.text
    )
    partial = b"".join(received)
    if export == "ledger":
        path = tmp_path / "partial.jsonl"
        path.write_bytes(partial)
        result = runner.invoke(args=["ledger", "verify", "--from-export", str(path)])
        assert result.exit_code == 1 and "INCOMPLETE" in result.output and "cut off" in result.output
    else:
        with pytest.raises(ValueError):
            json.loads(partial)
    monkeypatch.setattr(module, name, original)
    after = client.get(EXPORTS[export])
    assert after.status_code == 200  # the failed download gave its slot back
    after.close()


# --- behind gunicorn ---------------------------------------------------------------------------------

EVENTS = 80
PAUSE = 0.1  # seconds per exported event: each download takes EVENTS * PAUSE = 8 s, past the 5 s timeout
TIMEOUT = 5


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """gunicorn with 2 gthread workers and a 5 s worker timeout, over 80 events and a checkpoint."""
    tmp = tmp_path_factory.mktemp("long-exports")
    people = {"gudang": ("warehouse", "KPU-3101"), "pengawas": ("observer", "31.01")}
    uri, tokens = served_database("long_exports", tmp, people)
    app = app_for(uri)
    with app.app_context():
        gudang = db.session.scalar(select(User).where(User.username == "gudang"))
        boxes = db.session.scalars(select(Box.sscc).order_by(Box.id).limit(EVENTS)).all()
        scans = [
            ScanInput(
                client_id=str(uuid.uuid4()),
                code=sscc,
                action="commission",
                site="KPU-3101",
                scanned_at=datetime.now(UTC),
                device_id="setup",
                device_seq=n,
            )
            for n, sscc in enumerate(boxes)
        ]
        begin_write(db.session)
        record_scans(db.session, actor=gudang, scans=scans)
        make_checkpoint(db.session, KEY)
        db.session.commit()
        db.engine.dispose()
    args = ["--worker-class", "gthread", "--workers", "2", "--threads", "4", "--timeout", str(TIMEOUT)]
    server = Gunicorn(uri, tmp, args=args, env={"JEJAK_SERVED_EXPORT_PAUSE": str(PAUSE)})
    yield server, tokens["pengawas"], tmp
    server.stop()


def test_behind_gthread_workers_long_exports_finish_whole_and_other_requests_are_served(served):
    server, token, tmp = served
    answers: dict[str, tuple] = {}
    # The token's first use records when it was used (a write); on SQLite two first uses at once collide.
    assert server.request("GET", "/api/v1/me", token=token)[0] == 200

    def download(name: str) -> None:
        started = time.monotonic()
        answers[name] = (*server.request("GET", EXPORTS[name], token=token, timeout=120), time.monotonic() - started)

    downloads = [threading.Thread(target=download, args=(name,)) for name in EXPORTS]
    for thread in downloads:
        thread.start()
    slots = tmp / f"export-slots-{server.port}"
    deadline = time.monotonic() + 30
    while (probe := streaming.take_slot(slots, 2)) is not None:  # until both downloads hold their slot
        probe.release()
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)

    status, headers, body = server.request("GET", EXPORTS["ledger"], token=token)
    assert status == 429 and headers["Retry-After"] == "60", body
    for _ in range(5):  # the phone's /me and the scans keep their threads
        started = time.monotonic()
        status, _headers, body = server.request("GET", "/api/v1/me", token=token, timeout=10)
        assert status == 200 and json.loads(body)["username"] == "pengawas"
        assert time.monotonic() - started < TIMEOUT  # not queued behind the 8 s downloads
        time.sleep(0.2)
    assert all(thread.is_alive() for thread in downloads)  # /me was answered while both streamed
    for thread in downloads:
        thread.join()

    status, _headers, ledger_file, took = answers["ledger"]
    assert status == 200 and took > TIMEOUT
    assert whole_ledger_file(ledger_file)
    path = tmp / "ledger.jsonl"
    path.write_bytes(ledger_file)
    report = verify_export(path, KEY.public_text)
    assert report.ok and report.events == EVENTS and report.checkpoints == 1
    status, _headers, document, took = answers["epcis"]
    assert status == 200 and took > TIMEOUT
    parsed = json.loads(document)
    assert parsed["jejak:complete"] == {"events": EVENTS} == {"events": len(parsed["epcisBody"]["eventList"])}
    assert "WORKER TIMEOUT" not in server.log()
