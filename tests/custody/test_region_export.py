"""A region's ledger file scales with the region: its events in full, each with its RFC 9162 inclusion proof in
the newest signed checkpoint, and (asked with `since`) a consistency proof from a checkpoint the observer
trusts. `flask ledger verify --from-export` checks every proof and refuses every way of tampering with them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.custody.conftest import KEY, OTHER_TPS
from tests.custody.test_tamper import rewrite_chain, verify, write
from webapp.custody import notes
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.export import export_ledger
from webapp.custody.ledger import merkle_leaf
from webapp.custody.models import LedgerCheckpoint

REGION = "31.01.01"  # the ledger fixture's 20 events, in two boxes


def export_region(runner, path, *extra: str) -> list[dict]:
    result = runner.invoke(args=["ledger", "export", str(path), "--region", REGION, *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text().splitlines()]


def elsewhere(ledger, events: int) -> None:
    """A box of another kecamatan commissioned and sealed, then inspected until `events` events were recorded
    there, and signed: the country's ledger grows, the region's part does not."""
    box = ledger.box(tps=OTHER_TPS)
    steps = [("commission", {}), ("seal", {"seals": ["S-1"]})] if box.chain_length == 0 else []
    steps += [("inspect", {})] * (events - len(steps))
    for action, extra in steps:
        assert ledger.scan(ledger.gudang, action, box, "KPU-3101", **extra).verdict == "accepted"
    make_checkpoint(ledger.session, KEY)
    ledger.session.commit()


@pytest.fixture
def region_file(ledger, runner, tmp_path):
    """The region's file after 3 events elsewhere: 20 of the 23 leaves are the region's."""
    elsewhere(ledger, 3)
    path = tmp_path / "region.jsonl"
    return path, export_region(runner, path)


def proofs_of(items: list[dict]) -> list[dict]:
    return [item for item in items if item["type"] == "inclusion"]


def test_each_event_comes_with_its_proof_and_the_file_verifies(region_file, runner):
    path, items = region_file
    kinds = [item["type"] for item in items]
    assert kinds == ["header", *["event", "inclusion"] * 20, "head", "head", "checkpoint", "end"]
    assert items[0]["region"] == REGION and items[0]["v"] == 3
    assert [p["leaf_index"] for p in proofs_of(items)] == list(range(20))  # the region's events are leaves 0-19
    result = verify(runner, path)
    assert result.exit_code == 0, result.output
    assert "OK: 20 events in 2 box chains and 1 signed checkpoints verify" in result.output
    assert f"Region {REGION}: 20 events proven in that checkpoint one by one" in result.output


def test_a_rewritten_event_with_its_chain_re_hashed_is_not_in_the_signed_tree(region_file, runner):
    path, items = region_file
    event = [item for item in items if item["type"] == "event"][5]
    forged = rewrite_chain(items, event["id"], note="ditulis ulang")
    for item, was in zip(forged, items, strict=True):  # the forger's leaf hashes follow the new event hashes
        if item["type"] == "inclusion" and item["event"] >= event["id"]:
            mine = next(e for e in forged if e["type"] == "event" and e["id"] == item["event"])
            item["leaf_hash"] = base64.b64encode(merkle_leaf(mine["hash"])).decode()
            assert was["type"] == "inclusion"
    write(path, forged)
    result = verify(runner, path)
    assert result.exit_code == 1
    assert result.output.startswith(f"REFUSED: event {event['id']} is not in the signed checkpoint of 23 events")


def test_a_proof_changed_or_moved_is_refused(region_file, runner):
    path, items = region_file
    forged = [dict(item) for item in items]
    proof = proofs_of(forged)[3]
    proof["proof"] = [base64.b64encode(bytes(32)).decode(), *proof["proof"][1:]]
    write(path, forged)
    result = verify(runner, path)
    assert result.exit_code == 1 and "is not in the signed checkpoint of 23 events" in result.output
    forged = [dict(item) for item in items]
    proofs_of(forged)[1]["leaf_index"] = 0  # the first event's leaf again
    write(path, forged)
    result = verify(runner, path)
    assert result.exit_code == 1 and "is not after the previous event's" in result.output
    forged = [dict(item) for item in items]
    proofs_of(forged)[0]["event"] = proofs_of(forged)[1]["event"]
    write(path, forged)
    result = verify(runner, path)
    assert result.exit_code == 1 and "the line before it is event" in result.output


def test_an_event_hidden_from_the_proofs_is_refused(region_file, runner, ledger, tmp_path):
    path, items = region_file
    middle = proofs_of(items)[7]
    write(path, [item for item in items if item is not middle])
    result = verify(runner, path)
    assert result.exit_code == 1 and "but an earlier event has no proof" in result.output
    # The last proof dropped: that event looks unsigned, which a file exported 5 minutes on does not excuse.
    last = proofs_of(items)[-1]
    write(path, [item for item in items if item is not last])
    result = verify(runner, path)
    assert result.exit_code == 0 and "Not yet signed: 1 events after the newest checkpoint" in result.output
    late = tmp_path / "late.jsonl"
    with runner.app.app_context(), late.open("w", encoding="utf-8", newline="\n") as out:
        export_ledger(ledger.session, KEY, out, REGION, now=datetime.now(UTC) + timedelta(minutes=5))
    lines = [json.loads(line) for line in late.read_text().splitlines()]
    write(late, [item for item in lines if not (item["type"] == "inclusion" and item["event"] == last["event"])])
    result = verify(runner, late)
    assert result.exit_code == 1 and "1 events are not covered by a signed checkpoint" in result.output


def test_a_box_s_last_event_removed_with_its_proof_or_a_second_checkpoint_is_refused(region_file, runner):
    path, items = region_file
    last = [item for item in items if item["type"] == "event"][-1]
    cut = [item for item in items if item.get("id") != last["id"] and item.get("event") != last["id"]]
    write(path, cut)
    result = verify(runner, path)
    assert result.exit_code == 1 and f"box {last['box']}" in result.output
    checkpoint = next(item for item in items if item["type"] == "checkpoint")
    write(path, [*items[:-1], checkpoint])
    result = verify(runner, path)
    assert result.exit_code == 1 and "carries one signed checkpoint" in result.output


def test_a_trusted_checkpoint_is_checked_through_the_consistency_line(ledger, runner, tmp_path):
    trusted = tmp_path / "saved.note"
    trusted.write_text(ledger.session.scalars(select(LedgerCheckpoint.note)).one())
    elsewhere(ledger, 6)  # 20 -> 26 events
    path = tmp_path / "region.jsonl"
    items = export_region(runner, path, "--since", "20")
    assert items[-2]["type"] == "consistency" and (items[-2]["from"], items[-2]["to"]) == (20, 26)
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 0, result.output
    assert "Consistent with your trusted checkpoint of 20 events." in result.output
    # A consistency proof that does not prove it: history rewritten.
    forged = [dict(item) for item in items]
    forged[-2]["proof"] = [base64.b64encode(bytes(32)).decode(), *forged[-2]["proof"][1:]]
    write(path, forged)
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 1 and "does not extend your trusted checkpoint of 20" in result.output
    # Without the consistency line, the file says how to get one.
    items = export_region(runner, path)
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 1 and "export it again with since=20" in result.output
    # The log's key signing another tree of 26 events: a split view.
    other = notes.Checkpoint(KEY.origin, 26, bytes(32)).text
    trusted.write_text(other + "\n" + notes.sign(other, KEY.origin, KEY.private).line)
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 1 and "with different roots: a split view" in result.output
    newer = notes.Checkpoint(KEY.origin, 30, bytes(32)).text
    trusted.write_text(newer + "\n" + notes.sign(newer, KEY.origin, KEY.private).line)
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 1 and "is newer than this file's (26)" in result.output


def test_the_region_s_file_does_not_grow_with_the_country(ledger, runner, tmp_path):
    """Ten times the events elsewhere: the region's lines are the same, only each proof is a few hashes longer."""
    elsewhere(ledger, 3)
    before = export_region(runner, tmp_path / "before.jsonl")
    elsewhere(ledger, 210)  # 23 -> 233 events in the country
    after = export_region(runner, tmp_path / "after.jsonl")
    events = [[item for item in lines if item["type"] == "event"] for lines in (before, after)]
    assert events[0] == events[1] and len(events[0]) == 20
    sizes = [(tmp_path / name).stat().st_size for name in ("before.jsonl", "after.jsonl")]
    assert sizes[1] < 1.3 * sizes[0], sizes
    assert verify(runner, tmp_path / "after.jsonl").exit_code == 0


def test_the_download_takes_since_and_refuses_a_size_never_signed(client, ledger, tmp_path, runner):
    from tests.conftest import login

    elsewhere(ledger, 3)
    login(client, ledger.observer.username)
    response = client.get(f"/api/v1/export/ledger?region={REGION}&since=20")
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert lines[-2]["type"] == "consistency" and (lines[-2]["from"], lines[-2]["to"]) == (20, 23)
    for bad, status in (("0", 400), ("x", 400), ("-1", 400), ("21", 404), ("24", 404)):  # 21, 24: never signed
        response = client.get(f"/api/v1/export/ledger?region={REGION}&since={bad}")
        assert response.status_code == status and "since" in response.json["error"]["message"], bad
