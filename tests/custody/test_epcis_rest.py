"""EPCIS 2.0 capture and query over the REST binding (issue 17, part 4): a courier company's document, made
with GS1 France's epcis2.js (an implementation Jejak's authors did not write), sent to
`POST /api/v1/epcis/capture` with the courier's token, is recorded as the courier's scans by the phone's rules;
the job says what was refused and why; a replay records nothing; `GET /api/v1/epcis/events` returns the
events, in a document epcis2.js and GS1's schema (formats checked) accept. Then the job's parts, its failures
and the query's parameters."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.conftest import rate_limited_app
from tests.custody.test_epcis_capture import (
    OTHER_PPK,
    PPK,
    WAREHOUSE,
    WIB,
    document,
    event,
    events_now,
    kecamatan_boxes,
)
from tests.monitor.test_epcis import _validator as validator
from webapp.boxes.models import Box
from webapp.custody import capture_jobs
from webapp.custody.models import Alert, CaptureJob, CustodyEvent
from webapp.geo.models import Site

# This morning in Jakarta: picked up at the warehouse, then delivered at the PPK.
_HOUR = (datetime.now(WIB) - timedelta(hours=3)).replace(microsecond=0)
HANDED = _HOUR - timedelta(hours=2)  # the warehouse hands the boxes to the courier
PICKUP, BETWEEN, DELIVERY = ((_HOUR + timedelta(hours=h)).isoformat(timespec="milliseconds") for h in (-1, 0, 1))
TOOL = Path(__file__).parent.parent.parent / "tools" / "epcis2js"
NODE = shutil.which("node")
needs_epcis2js = pytest.mark.skipif(
    NODE is None or not (TOOL / "node_modules" / "epcis2.js").is_dir(),
    reason="epcis2.js is not installed in tools/epcis2js (make setup installs it when node and npm are present)",
)


def epcis2js(script: str, payload: str) -> subprocess.CompletedProcess:
    return subprocess.run([NODE, script], cwd=TOOL, input=payload, capture_output=True, text=True, timeout=120)


def token_for(runner, user) -> dict:
    token = runner.invoke(args=["users", "token", user.username]).output.strip()
    return {"Authorization": f"Bearer {token}"}


def send(client, headers, text: str, **more):
    return client.post(
        "/api/v1/epcis/capture",
        data=text,
        headers={**headers, "Content-Type": "application/ld+json", **more.pop("extra", {})},
        **more,
    )


def job_of(client, headers, answer) -> dict:
    assert answer.status_code == 202, answer.get_data(as_text=True)
    location = answer.headers["Location"]
    assert location == answer.json["url"] and location.startswith("/api/v1/epcis/capture/")
    job = client.get(location, headers=headers)
    assert job.status_code == 200
    return job.json


def gln(session, code: str) -> str:
    return "https://id.gs1.org/414/" + session.scalar(select(Site.gln).where(Site.code == code))


@needs_epcis2js
def test_a_courier_company_s_document_made_with_epcis2js_is_captured_as_the_courier_s_scans(
    client, runner, world, openapi
):
    session = world.session
    boxes = kecamatan_boxes(world, "31.01.01", 50)
    for box in boxes:  # the warehouse hands the boxes to the courier, on its own phone
        assert world.scan(
            world.gudang, "dispatch", box, WAREHOUSE, to=f"courier:{world.kurir.username}", scanned_at=HANDED
        ).verdict == ("accepted")
    wrong = {boxes[7].sscc, boxes[31].sscc}  # bound for kecamatan 31.01.01, delivered to 31.01.02's PPK
    spec = {"events": []}
    for box in boxes:  # picked up at the warehouse, then delivered at the PPK (the courier hands over there)
        epc = f"https://id.gs1.org/00/{box.sscc}"
        spec["events"].append(
            {"bizStep": "receiving", "epc": epc, "eventTime": PICKUP,
             "readPoint": gln(session, WAREHOUSE)}
        )  # fmt: skip
        ppk = OTHER_PPK if box.sscc in wrong else PPK
        spec["events"].append(
            {"bizStep": "shipping", "epc": epc, "eventTime": DELIVERY,
             "readPoint": gln(session, ppk), "destination": gln(session, ppk)}
        )  # fmt: skip
    made = epcis2js("make-document.js", json.dumps(spec))
    assert made.returncode == 0, made.stderr
    text = made.stdout
    courier = token_for(runner, world.kurir)
    before, alerts = events_now(session), session.scalar(select(func.count()).select_from(Alert))

    answer = send(client, courier, text)
    openapi("CaptureJob", answer.json)
    job = job_of(client, courier, answer)
    openapi("CaptureJob", job)
    assert job["running"] is False and job["state"] == "done" and job["success"] is False
    assert job["events"] == job["done"] == 100
    assert job["counts"] == {"accepted": 98, "duplicate": 0, "refused": 2, "error": 0}
    refused = job["errors"]
    assert {e["epc"].rsplit("/", 1)[1] for e in refused} == wrong
    # refused as the courier's phone is, in Indonesian, with where each box belongs
    assert {(e["verdict"], e["reason"]) for e in refused} == {("refused", "wrong_destination")}
    assert all("JANGAN DITERIMA" in e["message"] and "Kepulauan Seribu Utara" in e["message"] for e in refused)
    ids = [e["eventID"] for e in json.loads(text)["epcisBody"]["eventList"]]
    assert {e["eventID"] for e in refused} <= set(ids) and all(e["index"] % 2 == 1 for e in refused)
    # Exactly as the courier's phone: 98 events in the ledger, the boxes on their way to the PPK.
    assert events_now(session) == before + 98
    session.expire_all()
    right = [b for b in boxes if b.sscc not in wrong]
    assert all(session.get(Box, b.id).transit_site.code == PPK for b in right)
    assert all(session.get(Box, b.id).holder_user_id == world.kurir.id for b in boxes if b.sscc in wrong)
    sent = session.scalars(
        select(CustodyEvent).where(CustodyEvent.box_id == right[0].id).order_by(CustodyEvent.id.desc()).limit(2)
    ).all()
    assert [(e.kind, e.site.code, e.actor_id) for e in sent] == [
        ("dispatch", PPK, world.kurir.id),
        ("receive", WAREHOUSE, world.kurir.id),
    ]
    raised = session.scalar(select(func.count()).select_from(Alert)) - alerts
    assert raised >= 2  # the supervisor sees each refusal, as for a phone's

    # The same document again: nothing new, and the job says each was already taken.
    replay = job_of(client, courier, send(client, courier, text))
    assert replay["counts"] == {"accepted": 0, "duplicate": 100, "refused": 0, "error": 0} and replay["success"]
    assert events_now(session) == before + 98
    assert session.scalar(select(func.count()).select_from(Alert)) - alerts == raised

    # The query returns them, to the courier and to the supervisor of the area, in a document GS1's schema and
    # epcis2.js accept.
    for who in (world.kurir, world.supervisor):
        headers = token_for(runner, who)
        found = client.get(
            "/api/v1/epcis/events",
            query_string={
                "EQ_bizStep": "shipping",
                "GE_eventTime": BETWEEN,  # the deliveries, not the warehouse's handing over (just now)
                "MATCH_epc": ",".join(f"https://id.gs1.org/00/{b.sscc}" for b in boxes),
            },
            headers={**headers, "Accept": "application/ld+json"},
        )
        assert found.status_code == 200 and found.mimetype == "application/ld+json"
        listed = found.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert len(listed) == 48 and {e["bizStep"] for e in listed} == {"shipping"}
        assert {e["epcList"][0].rsplit("/", 1)[1] for e in listed} == {b.sscc for b in right}
        assert {e["readPoint"]["id"] for e in listed} == {gln(session, PPK)}
        assert {e["eventTime"] for e in listed} == {DELIVERY}
        assert world.kurir.username not in found.get_data(as_text=True)
        assert sorted(validator().iter_errors(found.json), key=str) == []
        checked = epcis2js("validate.js", found.get_data(as_text=True))
        assert checked.returncode == 0 and checked.stdout.strip() == "valid 48", checked.stdout + checked.stderr


def test_a_document_that_is_no_epcis_document_makes_no_job(client, runner, world):
    headers = token_for(runner, world.gudang)
    jobs = lambda: world.session.scalar(select(func.count()).select_from(CaptureJob))  # noqa: E731
    cases = [
        ("{", 400, "invalid_request"),
        ("[]", 400, "invalid_request"),
        ('{"type": "EPCISQueryDocument"}', 400, "invalid_request"),
        ('{"type": "EPCISDocument", "epcisBody": {}}', 400, "invalid_request"),
        ('{"type": "EPCISDocument", "x": NaN}', 400, "invalid_request"),
    ]
    for text, status, code in cases:
        answer = send(client, headers, text)
        assert (answer.status_code, answer.json["error"]["code"]) == (status, code), text
        assert answer.json["error"]["message"]
    plain = client.post("/api/v1/epcis/capture", data="{}", headers={**headers, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    big = send(client, headers, '{"type": "EPCISDocument", "pad": "' + "x" * (4 * 1024 * 1024) + '"}')
    assert big.status_code == 413
    rollback = send(client, headers, json.dumps(document([])), extra={"GS1-Capture-Error-Behaviour": "rollback"})
    assert rollback.status_code == 400 and "proceed" in rollback.json["error"]["message"]
    assert jobs() == 0
    empty = job_of(client, headers, send(client, headers, json.dumps(document([]))))
    assert empty["success"] and empty["events"] == 0 and jobs() == 1


def test_only_the_sender_sees_a_capture_job(client, runner, world):
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    mine = token_for(runner, world.gudang)
    answer = send(client, mine, json.dumps(document([event("inspecting", box.sscc, WAREHOUSE)])))
    assert job_of(client, mine, answer)["counts"]["accepted"] == 1
    url = answer.headers["Location"]
    other = client.get(url, headers=token_for(runner, world.ppk))
    assert other.status_code == 404 and other.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/epcis/capture/" + "0" * 32, headers=mine).status_code == 404
    assert client.get("/api/v1/epcis/capture/not-an-id", headers=mine).status_code == 404
    observer = send(client, token_for(runner, world.observer), json.dumps(document([])))
    assert observer.status_code == 403


def test_a_job_goes_on_where_it_stopped_and_fails_visibly_on_its_last_attempt(app, world, monkeypatch):
    session = world.session
    boxes = kecamatan_boxes(world, "31.01.01", 7)
    text = json.dumps(document([event("shipping", b.sscc, WAREHOUSE, PPK) for b in boxes]))
    job = capture_jobs.submit(session, world.gudang, text.encode())
    session.commit()
    monkeypatch.setattr(capture_jobs, "CAPTURE_PART", 3)
    real, calls = capture_jobs.capture_events, []

    def failing_second_part(*args, **kwargs):
        calls.append(kwargs["first"])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(capture_jobs, "capture_events", failing_second_part)
    before = events_now(session)
    with pytest.raises(RuntimeError):
        capture_jobs.run_capture(session, job.id, last_attempt=False)
    session.refresh(job)
    assert (job.state, job.done, job.counts) == ("queued", 3, {"accepted": 3})  # the first part is kept
    assert events_now(session) == before + 3
    capture_jobs.run_capture(session, job.id, last_attempt=False)  # the queue's retry
    session.refresh(job)
    assert calls == [0, 3, 3, 6] and (job.state, job.done) == ("done", 7)
    assert job.counts == {"accepted": 7} and job.document is None and job.document_sha256
    assert events_now(session) == before + 7

    broken = capture_jobs.submit(session, world.gudang, text.encode())
    session.commit()
    monkeypatch.setattr(capture_jobs, "capture_events", lambda *a, **k: 1 / 0)
    capture_jobs.run_capture(session, broken.id, last_attempt=True)
    with app.test_request_context():
        shown = capture_jobs.capture_json(broken, url="/x")
    assert shown["state"] == "failed" and not shown["running"] and not shown["success"]
    assert "ZeroDivisionError" not in json.dumps(shown) and "kirim" in shown["error"].lower()
    with pytest.raises(capture_jobs.CaptureNotRunnable):
        capture_jobs.run_capture(session, broken.id)


def test_a_capture_whose_worker_died_is_queued_again_and_goes_on(world, monkeypatch):
    from datetime import UTC

    session = world.session
    boxes = kecamatan_boxes(world, "31.01.01", 2)
    text = json.dumps(document([event("inspecting", b.sscc, WAREHOUSE) for b in boxes])).encode()
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    died = capture_jobs.submit(session, world.gudang, text)  # its worker died after the first event
    died.state, died.attempts, died.heartbeat_at, died.done, died.counts = "running", 1, long_ago, 1, {"accepted": 1}
    lost = capture_jobs.submit(session, world.gudang, text)  # kept, but never handed to the queue
    lost.created_at = long_ago
    busy = capture_jobs.submit(session, world.gudang, text)  # running, alive
    busy.state, busy.attempts, busy.heartbeat_at = "running", 1, datetime.now(UTC)
    spent = capture_jobs.submit(session, world.gudang, text)  # died on its last run
    spent.state, spent.attempts, spent.heartbeat_at = "running", 1 + capture_jobs.RETRIES, long_ago
    session.commit()
    handed = []
    monkeypatch.setattr(capture_jobs.huey, "enqueue", lambda task: handed.append(task.args[0]))
    capture_jobs.requeue_stalled_captures.call_local()
    assert sorted(handed) == sorted([died.id, lost.id])
    for job in (died, lost, busy, spent):
        session.refresh(job)
    assert (died.state, lost.state, busy.state, spent.state) == ("queued", "queued", "running", "failed")
    capture_jobs.requeue_stalled_captures.call_local()  # a minute on: not handed again yet
    assert len(handed) == 2
    before = events_now(session)
    capture_jobs.run_capture(session, died.id)  # goes on from its second event
    session.refresh(died)
    assert (died.state, died.done, died.counts) == ("done", 2, {"accepted": 2})
    assert events_now(session) == before + 1


def test_the_query_pages_refuses_what_it_does_not_know_and_shows_only_the_caller_s_area(client, runner, world):
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    for _ in range(3):
        world.scan(world.gudang, "inspect", box, WAREHOUSE)
    headers = token_for(runner, world.gudang)
    url = f"/api/v1/epcis/events?MATCH_epc=urn:epc:id:sscc:{box.sscc[1:8]}.{box.sscc[0]}{box.sscc[8:17]}&perPage=2"
    seen, pages = [], 0
    while url:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200
        seen += answer.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        pages += 1
        link = answer.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
        if url:
            assert urlsplit(url).path == "/api/v1/epcis/events" and 'rel="next"' in link
    steps = [e["bizStep"] for e in seen]
    assert steps == ["commissioning", "packing", "inspecting", "inspecting", "inspecting"] and pages == 3
    assert len({e["eventID"] for e in seen}) == 5

    timed = client.get(
        "/api/v1/epcis/events",
        query_string={"MATCH_anyEPC": box.sscc, "EQ_bizStep": "urn:epcglobal:cbv:bizstep:commissioning",
                      "GE_eventTime": "2020-01-01T00:00:00Z", "LT_recordTime": "2100-01-01T00:00:00+07:00"},
        headers=headers,
    )  # fmt: skip
    assert [e["bizStep"] for e in timed.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] == [
        "commissioning"
    ]
    for nothing in ({"MATCH_epc": "kotak-saya"}, {"eventType": "TransformationEvent"}, {"EQ_bizStep": "x"}):
        none = client.get("/api/v1/epcis/events", query_string=nothing, headers=headers)
        assert none.status_code == 200, nothing
        assert none.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
    for bad in (
        {"GE_eventTime": "kemarin"},
        {"GE_eventTime": "9999-12-31T23:59:59-14:00"},  # past year 9999 in UTC
        {"LT_recordTime": "0001-01-01T00:00:00+14:00"},
        {"GE_eventTime": "2029-02-01T09:30:00"},
        {"perPage": "0"},
        {"perPage": "1001"},
        {"EQ_action": "ADD"},
        {"nextPageToken": "-1"},
    ):
        refused = client.get("/api/v1/epcis/events", query_string=bad, headers=headers)
        assert refused.status_code == 400 and refused.json["error"]["message"], bad
    # Another kecamatan's officer asks for the same box: nothing of it.
    outsider = client.get(
        "/api/v1/epcis/events", query_string={"MATCH_epc": box.sscc}, headers=token_for(runner, world.other_kpps)
    )
    assert outsider.status_code == 200
    assert outsider.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_an_unknown_place_in_the_query_finds_nothing(client, runner, world):
    kecamatan_boxes(world, "31.01.01", 1)
    headers = token_for(runner, world.gudang)
    here = client.get(
        "/api/v1/epcis/events", query_string={"EQ_readPoint": gln(world.session, WAREHOUSE)}, headers=headers
    )
    assert {e["readPoint"]["id"] for e in here.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]} == {
        gln(world.session, WAREHOUSE)
    }
    nowhere = client.get(
        "/api/v1/epcis/events", query_string={"EQ_readPoint": f"urn:uuid:{uuid.uuid4()}"}, headers=headers
    )
    assert nowhere.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_a_worker_writes_the_refusals_in_the_sender_s_language(app, world):
    """The job runs in a worker, outside any request: its messages are still in the language the document
    was sent in (Indonesian by default)."""
    session = world.session
    [box] = kecamatan_boxes(world, "31.01.01", 1)
    sent = {}
    for locale in ("id", "en"):  # each its own events (the same events sent again would be duplicates)
        text = json.dumps(document([event("shipping", box.sscc, WAREHOUSE, OTHER_PPK), {"type": "Quantity"}]))
        sent[locale] = capture_jobs.submit(session, world.gudang, text.encode(), locale=locale)
    session.commit()
    for job in sent.values():
        with app.app_context():  # as the worker runs a task
            capture_jobs.run_capture(session, job.id)
        session.refresh(job)
    said = {locale: [e["message"] for e in job.errors] for locale, job in sent.items()}
    assert "JANGAN DITERIMA" in said["id"][0] and "Hanya ObjectEvent" in said["id"][1], said
    assert "DO NOT ACCEPT" in said["en"][0] and "Only ObjectEvents" in said["en"][1], said


def test_a_finished_job_is_kept_a_month_for_its_sender_then_deleted_and_its_events_stay(app, client, runner, world):
    from datetime import UTC

    [box] = kecamatan_boxes(world, "31.01.01", 1)
    headers = token_for(runner, world.gudang)
    answer = send(client, headers, json.dumps(document([event("inspecting", box.sscc, WAREHOUSE)])))
    url = answer.headers["Location"]
    assert job_of(client, headers, answer)["counts"]["accepted"] == 1
    session, now = world.session, datetime.now(UTC)
    done = session.scalar(select(CaptureJob).where(CaptureJob.capture_id == url.rsplit("/", 1)[1]))
    text = json.dumps(document([])).encode()
    failed = capture_jobs.submit(session, world.gudang, text)  # failed 31 days ago
    failed.state, failed.finished_at, failed.document = "failed", now - timedelta(days=31), None
    recent = capture_jobs.submit(session, world.gudang, text)  # done 29 days ago
    recent.state, recent.finished_at = "done", now - timedelta(days=29)
    waiting = capture_jobs.submit(session, world.gudang, text)  # sent long ago, still waiting: never expired
    waiting.created_at = now - timedelta(days=90)
    done.finished_at = now - timedelta(days=30, minutes=1)
    session.commit()
    before = events_now(session)
    assert app.config["CAPTURE_JOB_KEEP_DAYS"] == 30
    capture_jobs.expire_old_captures.call_local()
    session.expire_all()
    left = set(session.scalars(select(CaptureJob.id)))
    assert left == {recent.id, waiting.id}
    assert client.get(url, headers=headers).status_code == 404  # the sender's report is gone...
    assert events_now(session) == before  # ...its events are not
    assert capture_jobs.expire_captures(session, keep_days=28) == 1  # a shorter keep takes the 29-day one


def test_a_sender_with_ten_documents_waiting_is_asked_to_wait(client, runner, world):
    headers = token_for(runner, world.gudang)
    text = json.dumps(document([])).encode()
    for _ in range(10):
        capture_jobs.submit(world.session, world.gudang, text)  # kept, not yet run
    world.session.commit()
    refused = send(client, headers, text.decode())
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "10 dokumen Anda masih diproses" in refused.json["error"]["message"]
    others = token_for(runner, world.supervisor)  # another sender is not held up
    assert send(client, others, text.decode()).status_code == 202


def test_the_query_has_a_rate_limit_of_its_own(tmp_path):
    """Two queries a minute here: the third is refused (429, the JSON envelope) before anything is read."""
    limited = rate_limited_app(tmp_path, EPCIS_QUERY_RATE_LIMIT="2 per minute").test_client()
    assert [limited.get("/api/v1/epcis/events").status_code for _ in range(2)] == [401, 401]
    answer = limited.get("/api/v1/epcis/events?perPage=junk")
    assert answer.status_code == 429 and answer.json["error"]["code"] == "too_many_requests"
