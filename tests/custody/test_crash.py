"""Crash test: gunicorn workers are SIGKILLed while phones send scans, and the ledger loses nothing.

A real gunicorn (two gthread workers) serves a fresh PostgreSQL database. Phones (client threads) move their
own boxes along their route in batches with client-generated UUIDs and, like the phone's outbox, send a
batch again, unchanged, until it gets an answer. Each batch is held open for a moment after its events
are written and before they are committed, so a killed worker most likely dies inside a transaction.
Invariant 1 (docs: DESIGN.md section 5) must hold: every acknowledged scan is in the ledger exactly once,
nothing else is, and every chain verifies.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import requires_postgres
from tests.custody.conftest import KEY
from tests.serving import Gunicorn, app_for, served_database
from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.custody.models import CustodyEvent, ScanReceipt
from webapp.custody.verification import verify_database
from webapp.extensions import db

pytestmark = requires_postgres

PHONES = 4
BOXES_PER_PHONE = 8
BATCH = 4
KILLS = 3
SCAN_PAUSE = 0.2  # seconds each batch stays uncommitted after its events are written
DEADLINE = 90  # seconds for the whole exchange: a phone that cannot get an answer by then fails the test


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """gunicorn with 2 gthread workers on a fresh database: Kepulauan Seribu, a warehouse officer and a
    courier per phone, each with a bearer token."""
    tmp = tmp_path_factory.mktemp("crash")
    people = {}
    for n in range(PHONES):
        people[f"gudang{n}"] = ("warehouse", "KPU-3101")
        people[f"kurir{n}"] = ("courier", "31.01")
    uri, tokens = served_database("crash", tmp, people)
    app = app_for(uri)
    with app.app_context():
        boxes = db.session.scalars(select(Box.sscc).order_by(Box.id).limit(PHONES * BOXES_PER_PHONE)).all()
    # --preload: workers fork from a master that has loaded the app, so a killed one is replaced at once
    # (a worker that loads the app itself takes seconds on a busy machine, and the test would mostly wait).
    args = ["--worker-class", "gthread", "--workers", "2", "--threads", "4", "--timeout", "30", "--preload"]
    server = Gunicorn(uri, tmp, args=args, env={"JEJAK_SERVED_SCAN_PAUSE": str(SCAN_PAUSE)})
    yield server, tokens, boxes, app
    server.stop()
    with app.app_context():
        db.engine.dispose()


class Outbox:
    """What the phones sent and what the server acknowledged, shared by the phone threads."""

    def __init__(self, server: Gunicorn):
        self.server = server
        self.lock = threading.Lock()
        self.sent: dict[str, str] = {}  # scan id -> box
        self.acknowledged: set[str] = set()
        self.unanswered = 0  # requests that got no answer (connection reset, 5xx) and were sent again
        self.replayed = 0  # scans answered as duplicates: committed, but their first answer was lost
        self.stop = threading.Event()
        self.deadline = time.monotonic() + DEADLINE

    def send(self, token: str, scans: list[dict]) -> None:
        """Send one batch until the server answers it, as the phone's outbox does; record the answer."""
        with self.lock:
            self.sent.update((scan["id"], scan["code"]) for scan in scans)
        while True:
            assert time.monotonic() < self.deadline, f"no answer within {DEADLINE} s:\n{self.server.log()}"
            try:
                status, _headers, body = self.server.request(
                    "POST", "/api/v1/scans/batch", token=token, body={"scans": scans}, timeout=20
                )
            except (OSError, http.client.HTTPException):  # the worker died under the request
                status, body = None, b""
            if status is not None and status < 500:
                break
            with self.lock:
                self.unanswered += 1
            time.sleep(0.05)
        assert status == 200, body
        results = json.loads(body)["results"]
        assert [r["id"] for r in results] == [s["id"] for s in scans]
        # A batch sent again after its first sending was committed gets the first answers back as duplicates.
        assert all(r["verdict"] in ("accepted", "duplicate") for r in results), results
        assert all(r.get("original_verdict", "accepted") == "accepted" for r in results), results
        with self.lock:
            self.acknowledged.update(r["id"] for r in results)
            self.replayed += sum(r["verdict"] == "duplicate" for r in results)


def phone(outbox: Outbox, n: int, tokens: dict[str, str], boxes: list[str], errors: list) -> None:
    """Phone n labels and seals its boxes, hands them to its courier, who receives them and then inspects them again
    and again until told to stop."""
    seq = itertools.count(1)
    mine = boxes[n::PHONES]

    def batch(group: list[str], action: str, **extra) -> list[dict]:
        now = datetime.now(UTC).isoformat()
        return [
            {"id": str(uuid.uuid4()), "code": sscc, "action": action, "site": "KPU-3101", "scanned_at": now,
             "device_id": f"phone-{n}", "device_seq": next(seq), **extra}
            for sscc in group
        ]  # fmt: skip

    try:
        groups = [mine[i : i + BATCH] for i in range(0, len(mine), BATCH)]
        warehouse, courier = tokens[f"gudang{n}"], tokens[f"kurir{n}"]
        for group in groups:
            outbox.send(warehouse, batch(group, "commission"))
            outbox.send(warehouse, batch(group, "seal", seals=[f"SG-{n}"], note="uji: isi tidak dihitung"))
            outbox.send(warehouse, batch(group, "dispatch", to=f"courier:kurir{n}"))  # sealed, as a ballot box must be
            outbox.send(courier, batch(group, "receive"))
        while True:  # at least once each
            for group in groups:
                outbox.send(courier, batch(group, "inspect"))
            if outbox.stop.is_set():
                break
    except BaseException as exc:  # surfaced by the test
        errors.append(exc)


def test_killed_workers_lose_no_acknowledged_scan_and_duplicate_none(served):
    server, tokens, boxes, app = served
    started = time.monotonic()
    outbox = Outbox(server)
    errors: list[BaseException] = []
    phones = [threading.Thread(target=phone, args=(outbox, n, tokens, boxes, errors)) for n in range(PHONES)]
    for thread in phones:
        thread.start()

    killed: list[int] = []
    try:
        for _ in range(KILLS):
            time.sleep(1.5)  # scans flowing
            wait = time.monotonic() + 10
            while True:  # a worker in the middle of a request, most likely inside its transaction
                busy = {pid: n for pid, n in server.requests_in_flight().items() if n and pid not in killed}
                if busy or time.monotonic() > wait:
                    break
                time.sleep(0.01)
            workers = sorted(busy, key=busy.get) or [pid for pid in server.workers() if pid not in killed]
            victim = workers[-1]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            wait = time.monotonic() + 30
            while len([pid for pid in server.workers() if pid not in killed]) < 2:  # the master starts another
                assert time.monotonic() < wait, server.log()
                time.sleep(0.05)
        time.sleep(1.5)  # and scans go on with the new workers
    finally:
        outbox.stop.set()
        for thread in phones:
            thread.join()
    assert errors == [], [repr(e)[:500] for e in errors[:2]]
    assert len(set(killed)) == KILLS and server.process.poll() is None
    assert outbox.unanswered >= 1  # some requests really died with their worker, and were sent again
    assert outbox.acknowledged == set(outbox.sent)  # every batch was sent until acknowledged

    with app.app_context():
        session = db.session
        per_id = dict(
            session.execute(select(CustodyEvent.client_id, func.count()).group_by(CustodyEvent.client_id)).all()
        )
        assert set(per_id.values()) == {1}  # no scan twice
        assert set(per_id) == outbox.acknowledged  # every acknowledged scan there, and nothing never sent
        receipts = session.scalar(
            select(func.count()).select_from(ScanReceipt).where(ScanReceipt.verdict == "accepted")
        )
        assert receipts == len(per_id)
        scans_per_box: dict[str, int] = {}
        for sscc in outbox.sent.values():
            scans_per_box[sscc] = scans_per_box.get(sscc, 0) + 1
        lengths = dict(session.execute(select(Box.sscc, Box.chain_length).where(Box.sscc.in_(boxes))).all())
        assert lengths == scans_per_box and min(lengths.values()) >= 5  # commission, seal, dispatch, receive, inspect
        holders = dict(session.execute(select(Box.sscc, Box.holder_user_id).where(Box.sscc.in_(boxes))).all())
        couriers = dict(session.execute(select(User.username, User.id).where(User.username.like("kurir%"))).all())
        assert all(holders[sscc] == couriers[f"kurir{boxes.index(sscc) % PHONES}"] for sscc in boxes)
        report = verify_database(session, KEY.public_text)
        assert report.ok, str(report.problem)
        assert report.events == len(per_id) and report.boxes == len(boxes)
        session.rollback()
    print(
        f"crash test: {len(per_id)} scans, {outbox.unanswered} requests without an answer sent again "
        f"({outbox.replayed} scans then answered as duplicates), {KILLS} workers killed, "
        f"{time.monotonic() - started:.1f} s"
    )
