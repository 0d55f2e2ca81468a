"""Long exports (the ledger and EPCIS downloads) finish or fail visibly, and never crowd out other requests:
at most EXPORT_CONCURRENCY run at once per machine, and a failure part-way leaves no clean-looking file
(audit point 10, issue 12)."""

from __future__ import annotations

import hashlib
import itertools
import json
import logging

import pytest
from sqlalchemy.exc import OperationalError

import webapp.custody.integrity
import webapp.monitor.epcis
from tests.conftest import login
from webapp.core import streaming

EXPORTS = {"ledger": "/api/v1/export/ledger?region=31.01", "epcis": "/api/v1/export/epcis?region=31.01"}


def whole_ledger_file(data: bytes) -> bool:
    """The end line as docs/ledger.md defines it: last, counting the lines before it, their SHA-256."""
    lines = data.splitlines(keepends=True)
    end = json.loads(lines[-1])
    body = b"".join(lines[:-1])
    return end == {"type": "end", "lines": len(lines) - 1, "sha256": hashlib.sha256(body).hexdigest()}


def test_two_exports_run_at_once_and_a_third_is_told_when_to_come_back(client, ledger, app, monkeypatch):
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
    export, client, ledger, runner, app, tmp_path, monkeypatch, caplog
):
    """The client's transfer fails, what it received is no complete file (the ledger's does not verify, the
    EPCIS document does not parse), the failure is logged, and the export's slot is free again."""
    module, name = (
        (webapp.custody.integrity, "event_fields") if export == "ledger" else (webapp.monitor.epcis, "epcis_event")
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
