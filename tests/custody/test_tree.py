"""The stored Merkle tree and the signed-note checkpoints made over it: roots and RFC 9162 proofs computed
from stored subtree hashes agree with the reference definitions of proofs.py on trees of every size up to
a few dozen leaves and on samples of a larger one, and verify with verify_inclusion / verify_consistency;
each takes a few indexed reads; make_checkpoint signs C2SP notes over the events, re-signs a tree
checkpointed before notes, and refuses when the events or the tree contradict what was signed."""

from __future__ import annotations

import hashlib
import random
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text

from tests.conftest import IS_POSTGRES, requires_postgres
from tests.custody.conftest import KEY
from webapp.custody import notes, proofs, tree
from webapp.custody.checkpoints import (
    CheckpointRefused,
    ProofUnavailable,
    consistency,
    inclusion,
    latest_signed,
    ledger_origin,
    log_verifier,
    make_checkpoint,
)
from webapp.custody.ledger import MerkleAccumulator, checkpoint_message, merkle_leaf
from webapp.custody.models import CustodyEvent, LedgerCheckpoint, LedgerTreeLeaf, LedgerTreeNode

LOG = notes.Verifier(KEY.origin, notes.ED25519, KEY.public_bytes)


def fake_hash(n: int) -> str:
    return hashlib.sha256(f"event {n}".encode()).hexdigest()


def build(session, count: int, first_event: int = 1000) -> list[bytes]:
    """A stored tree of `count` leaves for made-up events (ids with gaps), written as make_checkpoint writes
    them; returns the leaf hashes."""
    appender = tree.TreeAppender.resume(session)
    for n in range(count):
        appender.add(first_event + 3 * n, fake_hash(n))
    appender.flush()
    return [merkle_leaf(fake_hash(n)) for n in range(count)]


@contextmanager
def counted(session):
    """Count the statements the session's connection runs."""
    statements = []
    connection = session.connection()

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", note)


def test_subtrees_split_a_range_as_rfc_9162_does():
    assert tree.peaks(0) == []
    assert tree.peaks(1) == [(0, 0)]
    assert tree.peaks(13) == [(3, 0), (2, 2), (0, 12)]  # 8 + 4 + 1
    assert tree.subtrees(8, 13) == [(2, 2), (0, 12)]
    assert tree.subtrees(3, 8) == [(0, 3), (2, 1)]  # not a node of any tree: aligned pieces still
    for lo, hi in ((0, 13), (8, 13), (3, 8), (5, 6)):
        assert sum(1 << level for level, _ in tree.subtrees(lo, hi)) == hi - lo


def test_every_root_and_proof_of_small_trees_matches_the_reference(session):
    """Sizes 1 to 40: the root, every inclusion proof and every consistency proof, from the stored tree,
    equal proofs.py's definitions and verify (proofs against older sizes included)."""
    leaves = build(session, 40)
    assert tree.stored_size(session) == (40, 1000 + 3 * 39)
    for size in range(41):
        assert tree.root_at(session, size) == proofs.root(leaves[:size]), size
    for size in range(1, 41):
        head = proofs.root(leaves[:size])
        for index in range(size):
            path = tree.inclusion_proof(session, index, size)
            assert path == proofs.inclusion_path(index, leaves[:size]), (index, size)
            proofs.verify_inclusion(leaves[index], index, size, path, head)
        for first in range(size + 1):
            path = tree.consistency_proof(session, first, size)
            assert path == proofs.consistency_path(first, leaves[:size]), (first, size)
            proofs.verify_consistency(first, size, path, proofs.root(leaves[:first]), head)


def test_a_larger_tree_answers_in_a_few_reads(session):
    """1,000 leaves, random sizes (mostly not powers of two) and indexes: the proofs match the reference;
    each takes one query naming O(log n) subtrees."""
    leaves = build(session, 1000)
    rng = random.Random(15)
    for _ in range(40):
        size = rng.randint(1, 1000)
        head = proofs.root(leaves[:size])
        index, first = rng.randrange(size), rng.randint(0, size)
        with counted(session) as statements:
            path = tree.inclusion_proof(session, index, size)
        assert len(statements) <= 1 and len(path) <= size.bit_length()
        assert path == proofs.inclusion_path(index, leaves[:size])
        proofs.verify_inclusion(leaves[index], index, size, path, head)
        with counted(session) as statements:
            path = tree.consistency_proof(session, first, size)
        assert len(statements) <= 1
        assert path == proofs.consistency_path(first, leaves[:size])
        proofs.verify_consistency(first, size, path, proofs.root(leaves[:first]), head)
        for ranges in (
            tree._inclusion_ranges(index, 0, size),
            tree._consistency_ranges(first, size) if 0 < first < size else [],
        ):
            named = {node for lo, hi in ranges for node in tree.subtrees(lo, hi)}
            assert len(named) <= 2 * size.bit_length()  # a sibling per level, and one right edge's peaks


def test_a_tree_too_small_for_the_size_asked_says_so(session):
    build(session, 5)
    with pytest.raises(tree.TreeIncomplete):
        tree.inclusion_proof(session, 0, 9)
    with pytest.raises(proofs.ProofError):
        tree.inclusion_proof(session, 5, 5)
    with pytest.raises(proofs.ProofError):
        tree.consistency_proof(session, 4, 3)


def test_the_appender_writes_each_leaf_and_completed_subtree_once(session):
    build(session, 11)  # 11 leaves complete 5 + 2 + 1 subtrees
    assert session.scalar(select(func.count()).select_from(LedgerTreeLeaf)) == 11
    levels = session.execute(select(LedgerTreeNode.level, func.count()).group_by(LedgerTreeNode.level)).all()
    assert sorted(tuple(row) for row in levels) == [(1, 5), (2, 2), (3, 1)]
    appender = tree.TreeAppender.resume(session)  # picks up at 11: the next leaf completes (1, 5)
    appender.add(5000, fake_hash(11))
    appender.flush()
    assert session.scalar(select(LedgerTreeNode.hash).where(LedgerTreeNode.level == 1, LedgerTreeNode.idx == 5))


# --- checkpoints over the ledger ----------------------------------------------------------------


def event_leaves(session) -> list[tuple[int, bytes]]:
    return [
        (i, merkle_leaf(h))
        for i, h in session.execute(select(CustodyEvent.id, CustodyEvent.hash).order_by(CustodyEvent.id))
    ]


def test_a_checkpoint_is_a_signed_note_over_every_event(ledger, app):
    session = ledger.session
    checkpoint = latest_signed(session)
    assert ledger_origin(app.config) == KEY.origin == "127.0.0.1:8000/jejak/pemilu"
    body, cosigned = notes.open_note(checkpoint.note, LOG)
    assert cosigned == []
    parsed = notes.Checkpoint.parse(body)
    events = event_leaves(session)
    assert (parsed.origin, parsed.size) == (KEY.origin, 20) and checkpoint.size == len(events) == 20
    assert parsed.root == proofs.root([leaf for _, leaf in events]) == bytes.fromhex(checkpoint.root)
    assert checkpoint.upto_event_id == events[-1][0]
    assert checkpoint.note.startswith(f"{KEY.origin}\n20\n") and checkpoint.note.count("\n\n") == 1
    # Each event's leaf index is its position in id order.
    for position, (event_id, leaf) in enumerate(events):
        assert tree.event_leaf(session, event_id) == (position, leaf)
    assert make_checkpoint(session, KEY) is None  # nothing new


def test_proofs_against_an_older_checkpoint_and_between_checkpoints(ledger):
    session = ledger.session
    old = latest_signed(session)
    ledger.to_tps(ledger.box(contest="DPD"))  # 10 more events
    new = make_checkpoint(session, KEY)
    session.commit()
    assert (old.size, new.size) == (20, 30)
    events = event_leaves(session)
    for checkpoint in (old, new):
        head = bytes.fromhex(checkpoint.root)
        for event_id, leaf in events[: checkpoint.size]:
            proof = inclusion(session, event_id, checkpoint.size)
            assert proof.leaf_hash == leaf and proof.tree_size == checkpoint.size
            proofs.verify_inclusion(leaf, proof.leaf_index, checkpoint.size, proof.proof, head)
    with counted(session) as statements:
        inclusion(session, events[3][0], 20)
        inclusion(session, events[3][0])
    assert len(statements) == 6  # each: the signed size, the event's leaf, the proof's subtrees
    first, second, path = consistency(session, 20)
    assert (first, second) == (20, 30)
    proofs.verify_consistency(20, 30, path, bytes.fromhex(old.root), bytes.fromhex(new.root))
    assert consistency(session, 0, 20) == (0, 20, [])
    with pytest.raises(ProofUnavailable) as refused:
        inclusion(session, events[25][0], 20)  # not covered by the older one
    assert refused.value.what == "event"
    with pytest.raises(ProofUnavailable) as refused:
        consistency(session, 7, 30)  # no checkpoint of 7 events
    assert (refused.value.what, refused.value.size) == ("checkpoint", 7)


def legacy_checkpoint(session, events: list[tuple[int, str]], root: str | None = None) -> None:
    """A checkpoint as make_checkpoint wrote it before signed notes (JSON signature, no note, no tree)."""
    from datetime import UTC, datetime

    accumulator = MerkleAccumulator()
    for _, digest in events:
        accumulator.add(digest)
    created = datetime(2029, 1, 2, 3, 4, 5, tzinfo=UTC)
    root = root or accumulator.root()
    upto = events[-1][0]
    session.add(
        LedgerCheckpoint(
            upto_event_id=upto,
            event_count=len(events),
            root=root,
            peaks=accumulator.dump(),
            key_id=KEY.key_id,
            signature=KEY.sign(
                checkpoint_message(event_count=len(events), upto_event_id=upto, root=root, created_at=created)
            ),
            created_at=created,
        )
    )
    session.flush()


def all_events(session) -> list[tuple[int, str]]:
    return [tuple(r) for r in session.execute(select(CustodyEvent.id, CustodyEvent.hash).order_by(CustodyEvent.id))]


def test_a_tree_checkpointed_before_notes_is_built_checked_and_signed_again(world, runner):
    """Migration 0019's path: legacy checkpoints at 10 and 20 events, no stored tree. The next checkpoint
    builds the tree from the first event, finds both legacy roots on the way, and signs the same tree as a
    note though no event came since; `flask ledger verify` still checks all three."""
    session = world.session
    world.to_tps(world.box())
    legacy_checkpoint(session, all_events(session))
    world.to_tps(world.box(contest="DPR"))
    legacy_checkpoint(session, all_events(session))
    session.commit()
    assert session.scalar(select(func.count()).select_from(LedgerTreeLeaf)) == 0
    signed = make_checkpoint(session, KEY)
    session.commit()
    assert signed is not None and signed.size == 20 and signed.root == latest_signed(session).root
    legacy = session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.note.is_(None))).all()
    assert [c.event_count for c in legacy] == [10, 20] and legacy[1].upto_event_id == signed.upto_event_id
    assert legacy[1].root == signed.root
    notes.open_note(signed.note, LOG)
    assert make_checkpoint(session, KEY) is None
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "3 signed checkpoints verify" in result.output, result.output


def test_a_legacy_checkpoint_the_events_contradict_stops_signing(world):
    session = world.session
    world.to_tps(world.box())
    legacy_checkpoint(session, all_events(session), root="ab" * 32)
    session.commit()
    with pytest.raises(CheckpointRefused, match="size 10"):
        make_checkpoint(session, KEY)
    session.rollback()
    assert latest_signed(session) is None


def test_a_changed_tree_stops_signing(ledger):
    """The stored tree must still give the newest signed root before anything more is signed."""
    session = ledger.session
    peak = tree.peaks(20)[0]  # the 16 leaves subtree
    session.execute(
        text("UPDATE ledger_tree_node SET hash = :h WHERE level = :l AND idx = :i"),
        {"h": b"\x00" * 32, "l": peak[0], "i": peak[1]},
    )
    ledger.to_tps(ledger.box(contest="DPD"))
    with pytest.raises(CheckpointRefused, match="no longer gives the root"):
        make_checkpoint(session, KEY)


def test_the_scans_api_still_checkpoints_by_itself(app, world, client):
    """The scans API's automatic checkpoint (every LEDGER_CHECKPOINT_EVERY events) signs a note."""
    from tests.conftest import login
    from tests.custody.test_api import payload

    box = world.box()
    app.config["LEDGER_CHECKPOINT_EVERY"] = 1
    try:
        login(client, world.gudang.username)
        assert client.post("/api/v1/scans", json=payload(box.sscc, "commission", "KPU-3101")).status_code == 201
        body = payload(box.sscc, "seal", "KPU-3101", seals=["S-1"], device_seq=2)
        assert client.post("/api/v1/scans", json=body).status_code == 201
    finally:
        app.config["LEDGER_CHECKPOINT_EVERY"] = 10_000
    checkpoint = latest_signed(world.session)
    assert checkpoint is not None and checkpoint.size == 2
    assert notes.Checkpoint.parse(notes.open_note(checkpoint.note, LOG)[0]).size == 2


@requires_postgres
def test_leaf_indexes_are_positions_when_event_ids_have_gaps(world):
    """PostgreSQL's sequence leaves gaps (a rolled-back insert keeps its number): leaves follow id order."""
    session = world.session
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    session.execute(
        text("SELECT setval(pg_get_serial_sequence('custody_event', 'id'), (SELECT max(id) FROM custody_event) + 7)")
    )
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    checkpoint = make_checkpoint(session, KEY)
    events = all_events(session)
    assert events[1][0] - events[0][0] == 8 and checkpoint.size == 2
    assert [tree.event_leaf(session, event_id)[0] for event_id, _ in events] == [0, 1]
    assert IS_POSTGRES


def test_migration_0019_keeps_legacy_checkpoints_and_their_triggers(tmp_path):
    """On SQLite the upgrade rebuilds ledger_checkpoint: its rows stay (without a note), it stays
    append-only, and a signed note may then share a legacy checkpoint's last event, but not another note's."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from config import TestConfig
    from webapp import create_app
    from webapp.extensions import db

    class Fresh(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.db'}"

    insert = text(
        "INSERT INTO ledger_checkpoint (upto_event_id, event_count, root, peaks, key_id, signature, created_at, "
        "note) VALUES (5, 5, :root, '[]', 'k', 's', '2029-01-01 00:00:00', :note)"
    )
    app = create_app(Fresh)
    with app.app_context():
        upgrade(revision="0017")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO ledger_checkpoint (upto_event_id, event_count, root, peaks, key_id, signature, "
                    "created_at) VALUES (5, 5, 'aa', '[]', 'k', 's', '2029-01-01 00:00:00')"
                )
            )
        for _ in range(2):  # up, down and up again
            upgrade()
            with db.engine.begin() as connection:
                assert connection.execute(text("SELECT upto_event_id, note FROM ledger_checkpoint")).all() == [
                    (5, None)
                ]
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
                connection.execute(text("UPDATE ledger_checkpoint SET root = 'bb'"))
            downgrade(revision="0017")
        upgrade()
        with db.engine.begin() as connection:
            connection.execute(insert, {"root": "aa", "note": "signed"})
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(insert, {"root": "aa", "note": "signed again"})
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text("DELETE FROM ledger_checkpoint"))
        db.engine.dispose()


def test_the_checkpoint_command_signs_a_note_with_the_applications_key(world, runner, app):
    world.to_tps(world.box())
    result = runner.invoke(args=["ledger", "checkpoint"])
    assert result.exit_code == 0 and result.output.startswith("Checkpoint: 10 events up to event"), result.output
    checkpoint = latest_signed(world.session)
    assert log_verifier(app.config) == LOG
    notes.open_note(checkpoint.note, log_verifier(app.config))
    assert runner.invoke(args=["ledger", "checkpoint"]).output == "No new events since the last checkpoint.\n"
