"""Tamper evidence: hash chains, signed Merkle checkpoints, `flask ledger verify`, offline verification."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from tests.conftest import IS_POSTGRES
from tests.custody.conftest import KEY, TPS, resealed
from webapp.custody.ledger import (
    HASHED_FIELDS,
    OPTIONAL_FIELDS,
    MerkleAccumulator,
    canonical_event,
    merkle_leaf,
    merkle_node,
    verify_stream,
)
from webapp.custody.models import CustodyEvent, LedgerCheckpoint
from webapp.custody.verification import _event_rows, verify_database


def drop_triggers(session) -> None:
    """What an attacker with database access would do first (rolled back with the test)."""
    if IS_POSTGRES:
        session.execute(text("DROP TRIGGER custody_event_no_change ON custody_event"))
    else:
        session.execute(text("DROP TRIGGER custody_event_no_update"))
        session.execute(text("DROP TRIGGER custody_event_no_delete"))


def test_an_intact_ledger_verifies(ledger, runner):
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 20 events in 2 box chains and 1 signed checkpoints verify" in result.output


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("note", "'ditulis ulang'"),
        ("kind", "'inspect'"),
        ("seals", "'[\"FAKE\"]'"),
        ("to_holder", "'site:PPK-310102'"),
        ("scanned_at", "scanned_at"),
        ("hash", "'" + "a" * 64 + "'"),
        ("prev_hash", "'" + "b" * 64 + "'"),
    ],
)
def test_altering_any_field_is_caught_and_named(ledger, runner, column, value):
    session = ledger.session
    victim = session.scalars(select(CustodyEvent).order_by(CustodyEvent.id)).all()[6]
    drop_triggers(session)
    if column == "scanned_at":  # move the time by a second
        shift = (
            "scanned_at + INTERVAL '1 second'"
            if IS_POSTGRES
            else "strftime('%Y-%m-%d %H:%M:%f', scanned_at, '+1 second')"
        )
        value = shift
    session.execute(text(f"UPDATE custody_event SET {column} = {value} WHERE id = :id"), {"id": victim.id})
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"event {victim.id}" in result.output and victim.box.sscc in result.output


def delete_event(session, event_id: int) -> None:
    """Remove an event as an attacker with database access would: triggers and references out of the way."""
    drop_triggers(session)
    if IS_POSTGRES:
        session.execute(text("ALTER TABLE scan_receipt DROP CONSTRAINT fk_scan_receipt_event_id_custody_event"))
        session.execute(text("ALTER TABLE alert DROP CONSTRAINT fk_alert_event_id_custody_event"))
    else:
        session.execute(text("PRAGMA defer_foreign_keys = ON"))  # the test rolls back before any check
    session.execute(text("DELETE FROM custody_event WHERE id = :id"), {"id": event_id})


def test_deleting_an_event_is_caught(ledger, runner):
    victim = ledger.session.scalars(select(CustodyEvent).order_by(CustodyEvent.id)).all()[3]
    delete_event(ledger.session, victim.id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and victim.box.sscc in result.output


def test_deleting_the_last_event_of_a_box_is_caught(world, runner):
    box = world.box()
    world.to_tps(box)
    last = world.session.scalars(
        select(CustodyEvent).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.id.desc())
    ).first()
    delete_event(world.session, last.id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and box.sscc in result.output and "removed" in result.output


def test_a_forged_checkpoint_signature_is_caught(ledger, runner):
    ledger.session.execute(
        text(
            "DROP TRIGGER "
            + ("ledger_checkpoint_no_change ON ledger_checkpoint" if IS_POSTGRES else "ledger_checkpoint_no_update")
        )
    )
    ledger.session.execute(text("UPDATE ledger_checkpoint SET signature = :s"), {"s": KEY.sign(b"something else")})
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "invalid signature" in result.output


def test_a_checkpoint_note_forged_or_of_another_log_is_caught_in_the_database(ledger, runner):
    """`flask ledger verify` checks each checkpoint's signed note too, not only the older JSON signature."""
    from webapp.custody import notes

    ledger.session.execute(
        text(
            "DROP TRIGGER "
            + ("ledger_checkpoint_no_change ON ledger_checkpoint" if IS_POSTGRES else "ledger_checkpoint_no_update")
        )
    )
    note = ledger.session.scalar(text("SELECT note FROM ledger_checkpoint"))
    _, _, signature = note.partition("\n\n")
    other_root = notes.Checkpoint(KEY.origin, 20, bytes(32)).text
    for forged, said in (
        (other_root + "\n" + signature, "does not verify"),  # the log's signature over another tree
        (note.replace(KEY.origin, "another.example/log"), "names the log 'another.example/log'"),
    ):
        ledger.session.execute(text("UPDATE ledger_checkpoint SET note = :n"), {"n": forged})
        result = runner.invoke(args=["ledger", "verify"])
        assert result.exit_code == 1 and "signed note" in result.output and said in result.output, result.output
    signed = other_root + "\n" + notes.sign(other_root, KEY.origin, KEY.private).line  # truly signed, wrong tree
    ledger.session.execute(text("UPDATE ledger_checkpoint SET note = :n"), {"n": signed})
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "has a signed note of another tree (20 events)" in result.output
    ledger.session.execute(text("UPDATE ledger_checkpoint SET note = :n"), {"n": note})
    result = runner.invoke(
        args=["ledger", "verify", "--public-key", notes.Verifier(KEY.origin, 1, KEY.public_bytes).vkey]
    )
    assert result.exit_code == 0, result.output


def test_checkpoints_are_published_with_the_key(ledger, client):
    body = client.get("/api/v1/ledger/checkpoints").json  # no login: anyone may check
    assert body["algorithm"] == "Ed25519" and body["public_key"] == KEY.public_text
    assert [c["event_count"] for c in body["checkpoints"]] == [20]


def test_checkpoints_are_made_automatically(app, world, client):
    from tests.conftest import login

    app.config["LEDGER_CHECKPOINT_EVERY"] = 5
    try:
        login(client, world.gudang.username)
        box = world.box()
        for i, (action, extra) in enumerate(
            [
                ("commission", {}),
                ("pack", {}),
                ("seal", {"seals": ["S-1"]}),
                ("inspect", {}),
                ("inspect", {}),
                ("inspect", {}),
            ]
        ):
            payload = {
                "id": f"00000000-0000-4000-8000-00000000000{i}",
                "code": box.sscc,
                "action": action,
                "site": "KPU-3101",
                "scanned_at": "2026-11-20T08:00:00+07:00",
                "device_id": "d1",
                "device_seq": i,
                **extra,
            }
            assert client.post("/api/v1/scans", json=payload).status_code == 201
    finally:
        app.config["LEDGER_CHECKPOINT_EVERY"] = 10_000
    checkpoints = world.session.scalars(select(LedgerCheckpoint)).all()
    assert len(checkpoints) >= 1  # ids crossed a multiple of 5 (PostgreSQL sequences do not restart per test)
    for checkpoint in checkpoints:
        covered = world.session.scalar(
            select(func.count()).select_from(CustodyEvent).where(CustodyEvent.id <= checkpoint.upto_event_id)
        )
        assert checkpoint.event_count == covered
    assert verify_database(world.session, KEY.public_text).ok


def test_merkle_root_matches_rfc6962_for_every_size():
    """The incremental accumulator gives the recursive RFC 6962 tree head at every size."""

    def mth(leaves):
        if len(leaves) == 1:
            return leaves[0]
        k = 1
        while k * 2 < len(leaves):
            k *= 2
        return merkle_node(mth(leaves[:k]), mth(leaves[k:]))

    hashes = [f"{i:064x}" for i in range(1, 40)]
    acc = MerkleAccumulator()
    for n, h in enumerate(hashes, start=1):
        acc.add(h)
        assert acc.root() == mth([merkle_leaf(x) for x in hashes[:n]]).hex()
        resumed = MerkleAccumulator([tuple(p) for p in acc.dump()])
        assert resumed.root() == acc.root() and resumed.count == n


def test_export_verifies_offline_and_a_tampered_export_does_not(ledger, runner, tmp_path):
    path = tmp_path / "ledger.jsonl"
    assert runner.invoke(args=["ledger", "export", str(path)]).exit_code == 0
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path), "--public-key", KEY.public_text])
    assert result.exit_code == 0 and "20 events" in result.output
    lines = path.read_text().splitlines()[:-1]  # the end line is written again below
    event = json.loads(lines[5])
    event["witness"] = "Orang Lain"
    lines[5] = json.dumps(event)
    path.write_text(resealed(lines))
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path), "--public-key", KEY.public_text])
    assert result.exit_code == 1 and f"event {event['id']}" in result.output


def test_a_cut_off_or_altered_export_file_never_verifies(ledger, runner, tmp_path):
    """However a download was cut (after a line, inside one, or just before the end line), or whatever
    changed in the file after export, `ledger verify --from-export` says so, exits 1, and shows no traceback."""
    path = tmp_path / "ledger.jsonl"
    assert runner.invoke(args=["ledger", "export", str(path)]).exit_code == 0
    whole = path.read_bytes()
    lines = whole.splitlines(keepends=True)
    cut_after_events = b"".join(line for line in lines if b'"type":"event"' in line or b'"type":"header"' in line)
    cuts = {
        "after the events": cut_after_events,
        "inside a line": whole[: len(whole) // 2],
        "before the end line": b"".join(lines[:-1]),
        "inside the end line": whole[:-20],
        "nothing": b"",
    }
    verify = ["ledger", "verify", "--from-export", str(path), "--public-key", KEY.public_text]
    for how, data in cuts.items():
        path.write_bytes(data)
        result = runner.invoke(args=verify)
        assert result.exit_code == 1, (how, result.output)
        assert isinstance(result.exception, SystemExit), (how, result.exception)
        assert result.output.startswith("INCOMPLETE: ") and "cut off" in result.output, (how, result.output)
    assert json.loads(lines[-1])["type"] == "end"
    # A line removed, or a byte changed, after export: the end line no longer matches.
    path.write_bytes(b"".join(lines[:3] + lines[4:]))
    result = runner.invoke(args=verify)
    assert result.exit_code == 1 and "counts 24 lines before it, the file has 23" in result.output
    path.write_bytes(whole.replace(b"KPU-3101", b"KPU-3102", 1))
    result = runner.invoke(args=verify)
    assert result.exit_code == 1 and "changed after export" in result.output
    # Not JSON at all, with a matching end line: still no traceback.
    path.write_text(resealed([lines[0].decode().rstrip("\n"), "{not json"]))
    result = runner.invoke(args=verify)
    assert result.exit_code == 1 and "line 2 is not a JSON object" in result.output
    assert isinstance(result.exception, SystemExit)
    path.write_bytes(whole)
    assert runner.invoke(args=verify).exit_code == 0


# --- property: any alteration, deletion or reordering is caught ---------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_tampering_is_detected(ledger, data):
    events = list(_event_rows(ledger.session))
    checkpoints = [
        {
            "upto_event_id": c.upto_event_id,
            "event_count": c.event_count,
            "root": c.root,
            "signature": c.signature,
            "created_at": c.created_at,
        }
        for c in ledger.session.scalars(select(LedgerCheckpoint))
    ]
    assert verify_stream(iter(events), checkpoints, KEY.public_text).ok
    tampered = copy.deepcopy(events)
    how = data.draw(st.sampled_from(["alter", "delete", "swap"]))
    i = data.draw(st.integers(0, len(tampered) - 1))
    if how == "alter":
        field = data.draw(st.sampled_from([f for f in HASHED_FIELDS if f != "v"] + ["hash", "prev_hash"]))
        old = tampered[i][field]
        new = data.draw(
            st.one_of(st.text(max_size=12), st.integers(0, 10**6), st.none(), st.lists(st.text(max_size=5), max_size=2))
        )
        if new == old:
            return
        tampered[i][field] = new
    elif how == "delete":
        del tampered[i]
    else:
        j = data.draw(st.integers(0, len(tampered) - 1))
        if i == j or tampered[i] == tampered[j]:
            return
        tampered[i], tampered[j] = tampered[j], tampered[i]
    report = verify_stream(iter(tampered), checkpoints, KEY.public_text)
    assert not report.ok, (how, i)


def test_tps_sees_its_box_verified_on_the_trace_page(ledger, client):
    from tests.conftest import login

    login(client, ledger.kpps.username)
    box = ledger.box()
    page = client.get(f"/boxes/{box.sscc}").text
    assert "Rantai catatan utuh" in page and "PPK-310101" in page and "Diterima" in page
    assert TPS in page


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # slow on a busy machine
@given(st.fixed_dictionaries({key: _json_values for key in HASHED_FIELDS}))
def test_the_fast_canonical_encoding_is_exactly_json_with_sorted_keys(fields):
    """The hand-built encoding must give the bytes docs/ledger.md specifies, for any value an export may hold
    (an optional field, a correction's `corrects`, left out when null)."""
    expected = {key: value for key, value in fields.items() if value is not None or key not in OPTIONAL_FIELDS}
    expected = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert canonical_event(fields) == expected
