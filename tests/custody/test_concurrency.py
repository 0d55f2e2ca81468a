"""Invariant 7: concurrent scans of the same boxes never fork a chain; every acknowledged scan is there once.

These need real commits seen across connections, so they run on a database of their own (PostgreSQL
when TEST_DATABASE_URL points at one, else a SQLite file), never inside the rolled-back test transaction.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from config import TestConfig
from tests.conftest import requires_postgres
from tests.serving import fresh_database_url
from webapp import create_app
from webapp.auth.models import User
from webapp.auth.services import create_user, resolve_scope
from webapp.boxes.models import Box
from webapp.boxes.services import allocate_ssccs, is_valid_sscc
from webapp.core.database import begin_write
from webapp.custody.ledger import SigningKey
from webapp.custody.models import CustodyEvent
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.custody.verification import verify_database
from webapp.extensions import db
from webapp.geo.seed import seed_region
from webapp.geo.services import import_regions

CLIENTS = 16
BOXES = 200
KEY = SigningKey.from_text(TestConfig.LEDGER_SIGNING_KEY)


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """An app on its own database with Kepulauan Seribu seeded and 200 boxes labelled at KPU-3101."""
    uri = fresh_database_url("concurrency", tmp_path_factory.mktemp("concurrency"))

    class Shared(TestConfig):
        SQLALCHEMY_DATABASE_URI = uri
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": CLIENTS + 2}  # noqa: RUF012

    app = create_app(Shared)
    with app.app_context():
        upgrade()
        import_regions(db.session)
        seed_region(db.session, "31.01", app.config)
        warehouse = create_user(
            db.session,
            username="gudang",
            role="warehouse",
            scope=resolve_scope(db.session, "KPU-3101"),
            password="password123",
        )
        for n in range(CLIENTS):
            create_user(
                db.session,
                username=f"kurir{n}",
                role="courier",
                scope=resolve_scope(db.session, "31.01"),
                password="password123",
            )
        db.session.commit()
        boxes = db.session.scalars(select(Box.sscc).order_by(Box.id).limit(BOXES)).all()
        begin_write(db.session)
        record_scans(
            db.session,
            actor=warehouse,
            scans=[scan(sscc, "commission", "KPU-3101", "setup", i) for i, sscc in enumerate(boxes)],
        )
        db.session.commit()
    yield app, boxes
    with app.app_context():
        db.engine.dispose()


def in_write_transaction(session: Session, work):
    """Run `work` in a write transaction and commit, retrying on a deadlock or a busy database, as the
    API views do."""
    for attempt in range(5):
        try:
            begin_write(session)
            result = work()
            session.commit()
            return result
        except Exception:
            session.rollback()
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def scan(sscc: str, action: str, site: str, device: str, seq: int, client_id: str | None = None) -> ScanInput:
    return ScanInput(
        client_id=client_id or str(uuid.uuid4()),
        code=sscc,
        action=action,
        site=site,
        scanned_at=datetime.now(UTC),
        device_id=device,
        device_seq=seq,
    )


def test_concurrent_clients_never_fork_a_chain(shared_app):
    app, boxes = shared_app
    acknowledged: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS, timeout=60)

    def client(n: int) -> None:
        try:
            with app.app_context():
                engine = db.engine
                with Session(engine) as session:
                    actor = session.scalar(select(User).where(User.username == f"kurir{n}"))
                    start.wait()
                    for i, sscc in enumerate(boxes if n % 2 else list(reversed(boxes))):
                        item = scan(sscc, "inspect", "KPU-3101", f"phone-{n}", i)
                        results = in_write_transaction(  # sent twice
                            session, lambda item=item: record_scans(session, actor=actor, scans=[item, item])
                        )
                        assert [r.verdict for r in results] == ["accepted", "duplicate"]
                        with lock:
                            acknowledged.append(item.client_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], [str(e)[:300] for e in errors[:2]]
    with app.app_context():
        session = db.session
        ids = session.scalars(select(CustodyEvent.client_id).where(CustodyEvent.kind == "inspect")).all()
        assert sorted(ids) == sorted(acknowledged) and len(ids) == CLIENTS * BOXES
        per_box = dict(session.execute(select(Box.sscc, Box.chain_length).where(Box.sscc.in_(boxes))).all())
        assert set(per_box.values()) == {CLIENTS + 1}
        seqs = session.execute(
            select(CustodyEvent.box_id, func.count(), func.max(CustodyEvent.box_seq)).group_by(CustodyEvent.box_id)
        ).all()
        assert all(count == top for _, count, top in seqs)
        assert verify_database(session, KEY.public_text).ok


def test_verifying_while_scans_go_on_finds_nothing_wrong(shared_app):
    """The verifier reads one snapshot: events appended meanwhile must not look like removed ones."""
    app, boxes = shared_app
    done = threading.Event()
    errors: list[BaseException] = []

    def scanner() -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                actor = session.scalar(select(User).where(User.username == "gudang"))
                i = 0
                while not done.is_set():
                    begin_write(session)
                    record_scans(session, actor=actor, scans=[scan(boxes[i % BOXES], "inspect", "KPU-3101", "bg", i)])
                    session.commit()
                    i += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=scanner)
    thread.start()
    try:
        with app.app_context():
            reports = [verify_database(db.session, KEY.public_text) for _ in range(5)]
    finally:
        done.set()
        thread.join()
    assert errors == []
    assert all(report.ok for report in reports), [str(r.problem) for r in reports if not r.ok]
    assert reports[-1].events > reports[0].events  # scans really were going on


@requires_postgres
def test_parallel_verification_names_the_first_altered_event(shared_app):
    """Worker processes each check part of the boxes; the report still names the first broken event
    in id order, exactly as one process reading the ledger in order does."""
    app, boxes = shared_app
    with app.app_context():
        # Enough events of its own, whichever tests of this module ran before it on this worker.
        have = db.session.scalar(select(func.count()).select_from(CustodyEvent))
        if have < 1500:
            warehouse = db.session.scalar(select(User).where(User.username == "gudang"))
            todo = [sscc for _ in range(8) for sscc in boxes][: 1500 - have]
            begin_write(db.session)
            record_scans(
                db.session,
                actor=warehouse,
                scans=[scan(sscc, "inspect", "KPU-3101", "fill", 100_000 + i) for i, sscc in enumerate(todo)],
            )
            db.session.commit()
        with db.engine.begin() as conn:
            events = conn.execute(
                select(CustodyEvent.id, CustodyEvent.box_id).order_by(CustodyEvent.id).offset(1000).limit(500)
            ).all()
            first = events[0]
            later = next(e for e in events if e.box_id % 2 != first.box_id % 2)  # checked by the other worker
            sscc = conn.scalar(select(Box.sscc).where(Box.id == first.box_id))
            conn.execute(text("ALTER TABLE custody_event DISABLE TRIGGER custody_event_no_change"))
            for event_id in (later.id, first.id):
                conn.execute(text("UPDATE custody_event SET note = 'changed' WHERE id = :id"), {"id": event_id})
        try:
            parallel = verify_database(db.session, KEY.public_text, processes=2)
            single = verify_database(db.session, KEY.public_text, processes=1)
        finally:
            with db.engine.begin() as conn:
                conn.execute(
                    text("UPDATE custody_event SET note = NULL WHERE id IN (:a, :b)"), {"a": first.id, "b": later.id}
                )
                conn.execute(text("ALTER TABLE custody_event ENABLE TRIGGER custody_event_no_change"))
    assert not parallel.ok and parallel.problem.event_id == first.id and parallel.problem.box == sscc
    assert (parallel.problem.event_id, parallel.problem.message, parallel.events) == (
        single.problem.event_id,
        single.problem.message,
        single.events,
    )
    with app.app_context():
        assert verify_database(db.session, KEY.public_text, processes=2).ok  # restored


def test_ssccs_allocated_from_8_threads_at_once_are_all_distinct(shared_app):
    """10,000 SSCCs from 8 threads, each in its own transactions of 25, on a prefix first used here."""
    app, _boxes = shared_app
    allocated: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(8, timeout=60)

    def allocate() -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                start.wait()
                for _ in range(50):
                    mine = in_write_transaction(
                        session, lambda: allocate_ssccs(session, 25, extension=7, company_prefix="8990777")
                    )
                    with lock:
                        allocated.extend(mine)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], [str(e)[:300] for e in errors[:2]]
    assert len(allocated) == 10_000 and len(set(allocated)) == 10_000
    assert all(is_valid_sscc(sscc) and sscc.startswith("78990777") for sscc in allocated)
    assert sorted(int(sscc[8:17]) for sscc in allocated) == list(range(1, 10_001))  # no gap, no reuse


def test_the_readiness_counters_stay_exact_under_concurrent_moves(shared_app):
    """8 clients move their own boxes at once (labelled, sent to a courier, received by the courier,
    some reported damaged): every change lands on the same desa counters, and none is lost."""
    from webapp.readiness.report import counter_differences, counters, recount

    app, labelled = shared_app
    movers = 8
    with app.app_context():
        fresh = db.session.scalars(
            select(Box.sscc).where(Box.sscc.not_in(labelled)).order_by(Box.id).limit(movers * 20)
        ).all()
    errors: list[BaseException] = []
    start = threading.Barrier(movers, timeout=60)

    def mover(n: int) -> None:
        mine = fresh[n::movers]
        try:
            with app.app_context(), Session(db.engine) as session:
                gudang = session.scalar(select(User).where(User.username == "gudang"))
                kurir = session.scalar(select(User).where(User.username == f"kurir{n}"))
                start.wait()
                for i in range(0, len(mine), 5):
                    part, device = mine[i : i + 5], f"mover-{n}"
                    steps = [
                        (gudang, [scan(s, "commission", "KPU-3101", device, i * 20 + k) for k, s in enumerate(part)]),
                        (gudang, [scan(s, "seal", "KPU-3101", device, i * 20 + 5 + k) for k, s in enumerate(part)]),
                        (
                            gudang,
                            [scan(s, "dispatch", "KPU-3101", device, i * 20 + 10 + k) for k, s in enumerate(part)],
                        ),
                        (kurir, [scan(s, "receive", "KPU-3101", device, i * 10 + k) for k, s in enumerate(part)]),
                        (kurir, [scan(part[0], "damage", "KPU-3101", device, i * 10 + 6)]),
                    ]
                    for actor, batch in steps:
                        for item in batch:
                            if item.action == "dispatch":
                                item.to = f"courier:kurir{n}"
                            elif item.action == "seal":  # a ballot box leaves sealed
                                item.seals, item.note = [f"C-{item.code[-6:]}"], "test: packets not counted"
                        results = in_write_transaction(
                            session, lambda actor=actor, batch=batch: record_scans(session, actor=actor, scans=batch)
                        )
                        assert {r.verdict for r in results} == {"accepted"}, [r.reason for r in results]
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=mover, args=(n,)) for n in range(movers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], [str(e)[:300] for e in errors[:2]]
    with app.app_context():
        kept, counted = counters(db.session), recount(db.session)
        assert kept == counted
        assert counter_differences(db.session) == []  # the kecamatan rollup too
        moved = {stage: sum(n for (_, s), n in counted.items() if s == stage) for stage in ("in_transit", "problem")}
        damaged = sum(-(-len(fresh[n::movers]) // 5) for n in range(movers))  # one in each group of five
        assert moved == {"in_transit": len(fresh) - damaged, "problem": damaged} and len(fresh) > 50
