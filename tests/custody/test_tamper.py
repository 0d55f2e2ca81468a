"""`flask ledger verify --from-export` fails closed: every way of tampering with an export that issue 15 lists
is refused with exit code 1 and a one-line message naming what is wrong, never a traceback; a file merely
re-serialised (compact or spaced JSON, keys in any order) still verifies, with its checkpoints."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.custody.conftest import KEY, OTHER_TPS, resealed
from webapp.custody import notes
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.export import export_ledger
from webapp.custody.ledger import canonical_event, chain_hash

VKEY = notes.Verifier(KEY.origin, notes.ED25519, KEY.public_bytes).vkey


def export(runner, path) -> list[dict]:
    result = runner.invoke(args=["ledger", "export", str(path)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text().splitlines()]


def verify(runner, path, *extra: str, key: str | None = VKEY):
    args = ["ledger", "verify", "--from-export", str(path), *(["--public-key", key] if key else []), *extra]
    result = runner.invoke(args=args)
    assert isinstance(result.exception, SystemExit | None), result.exception  # never a traceback
    return result


def write(path, items: list[dict]) -> None:
    """The lines (the end line left out) written again with a matching end line: a forger's file."""
    path.write_text(resealed([json.dumps(item, ensure_ascii=False) for item in items if item["type"] != "end"]))


def rewrite_chain(items: list[dict], event_id: int, **changes) -> list[dict]:
    """What a forger does: change one event and re-hash its box's chain from there on, heads included."""
    items = [dict(item) for item in items]
    target = next(item for item in items if item["type"] == "event" and item["id"] == event_id)
    box, head = target["box"], None
    for item in items:
        if item["type"] == "event" and item["box"] == box and item["id"] >= event_id:
            if item["id"] == event_id:
                item.update(changes)
            else:
                item["prev_hash"] = head
            item["hash"] = head = chain_hash(item["prev_hash"], canonical_event(item))
        if item["type"] == "head" and item["box"] == box:
            item["hash"] = head
    return items


@pytest.fixture
def exported(ledger, runner, tmp_path):
    path = tmp_path / "ledger.jsonl"
    return path, export(runner, path)


def test_an_intact_export_verifies_with_the_published_key_in_either_form(exported, runner, client):
    path, items = exported
    assert client.get("/api/v1/ledger/key").get_data(as_text=True).strip() == VKEY
    for key in (VKEY, KEY.public_text):
        result = verify(runner, path, key=key)
        assert result.exit_code == 0, result.output
        assert "OK: 20 events in 2 box chains and 1 signed checkpoints verify" in result.output
        assert "Newest signed checkpoint: 20 events." in result.output
        assert "Witnesses: 0 cosignatures verified" in result.output and "Warning" not in result.output
    header = items[0]
    assert header["vkey"] == VKEY and header["origin"] == KEY.origin and header["max_delay"] == 60
    assert datetime.fromisoformat(header["exported_at"].replace("Z", "+00:00")) <= datetime.now(UTC)
    checkpoint = next(item for item in items if item["type"] == "checkpoint")
    assert checkpoint["note"].startswith(f"{KEY.origin}\n20\n") and checkpoint["size"] == 20


def test_the_key_in_the_file_alone_is_refused_unless_asked_for(exported, runner):
    path, _ = exported
    result = verify(runner, path, key=None)
    assert result.exit_code == 1
    assert result.output.startswith("REFUSED: no public key given: pass the log's key with --public-key")
    result = verify(runner, path, "--trust-file-key", key=None)
    assert result.exit_code == 0 and "Warning: the signatures were checked with the public key written" in (
        result.output
    )
    other = Ed25519PrivateKey.generate()
    forged = notes.Verifier(KEY.origin, notes.ED25519, notes.public_bytes(other)).vkey
    result = verify(runner, path, key=forged)
    assert result.exit_code == 1 and "its signed note does not verify with the log's key" in result.output


def test_checkpoint_lines_removed(exported, runner):
    path, items = exported
    write(path, [item for item in items if item["type"] != "checkpoint"])
    result = verify(runner, path)
    assert result.exit_code == 1
    assert result.output.startswith("REFUSED: the file holds no signed checkpoint"), result.output


def test_heads_and_checkpoints_cut_off(exported, runner):
    path, items = exported
    kept = [item for item in items if item["type"] not in ("head", "checkpoint", "end")]
    path.write_text("".join(json.dumps(item) + "\n" for item in kept))  # simply cut: no end line
    result = verify(runner, path)
    assert result.exit_code == 1 and result.output.startswith("INCOMPLETE: the file does not finish with its end")
    write(path, kept)  # and with an end line written again
    result = verify(runner, path)
    assert result.exit_code == 1 and "REFUSED: the file holds no signed checkpoint" in result.output


def test_heads_cut_off_or_one_head_removed(exported, runner):
    path, items = exported
    heads = [item for item in items if item["type"] == "head"]
    write(path, [item for item in items if item["type"] != "head"])
    result = verify(runner, path)
    assert result.exit_code == 1 and "the box has events but no head line" in result.output
    write(path, [item for item in items if item is not heads[1]])
    result = verify(runner, path)
    assert result.exit_code == 1
    assert f"BROKEN box {heads[1]['box']}: the box has events but no head line" in result.output


@pytest.mark.parametrize("how", ["jq -c", "spaced, keys reversed, ASCII escapes"])
def test_a_re_serialised_export_still_verifies_with_its_checkpoints(exported, runner, how):
    path, items = exported
    if how == "jq -c":
        if shutil.which("jq") is None:
            pytest.skip("jq is not installed")
        spaced = "".join(json.dumps(item) + "\n" for item in items).encode()  # ", " and ": ", \u escapes
        text = subprocess.run(["jq", "-c", "."], input=spaced, capture_output=True, check=True).stdout
        assert text != spaced and b"\\u2014" not in text
        path.write_bytes(text)
    else:
        path.write_text("".join(json.dumps(dict(reversed(list(item.items()))), indent=None) + "\n" for item in items))
    result = verify(runner, path)
    assert result.exit_code == 0, result.output
    assert "20 events in 2 box chains and 1 signed checkpoints verify" in result.output


def test_a_chain_rewritten_in_a_compacted_file(exported, runner):
    path, items = exported
    victim = [item for item in items if item["type"] == "event"][6]
    forged = rewrite_chain(items, victim["id"], note="ditulis ulang")
    path.write_text(resealed([json.dumps(item, separators=(",", ":")) for item in forged if item["type"] != "end"]))
    result = verify(runner, path)
    assert result.exit_code == 1
    assert "BROKEN" in result.output and "the signed checkpoint of 20 events does not match the events" in (
        result.output
    )


def test_truncation_mid_line_is_a_message_not_a_traceback(exported, runner):
    path, _ = exported
    whole = path.read_bytes()
    cut = whole[: whole.index(b'"type":"head"') + 5]
    path.write_bytes(cut)
    result = verify(runner, path)
    line = cut.count(b"\n") + 1
    assert result.exit_code == 1
    assert result.output == f"INCOMPLETE: line {line} is not a JSON object: the file was cut off or damaged\n"


def test_an_unknown_line_type_is_refused(exported, runner):
    path, items = exported
    write(path, [*items[:3], {"type": "note", "text": "trust me"}, *items[3:]])
    result = verify(runner, path)
    assert result.exit_code == 1 and result.output.startswith("INCOMPLETE: line 4 has an unknown line type 'note'")


def test_the_newest_checkpoint_dropped_and_what_it_covered_rewritten(ledger, runner, tmp_path):
    """A witness saved the checkpoint of 23 events; the server then drops it and rewrites events 21 to 23,
    which now look merely not yet signed. The witness's checkpoint catches it."""
    box = ledger.box(tps=OTHER_TPS)
    ledger.scan(ledger.gudang, "commission", box, "KPU-3101")
    ledger.scan(ledger.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    ledger.scan(ledger.gudang, "dispatch", box, "KPU-3101", to="PPK-310102")
    checkpoint = make_checkpoint(ledger.session, KEY)
    ledger.session.commit()
    trusted = tmp_path / "witness-state.note"
    trusted.write_text(checkpoint.note)
    path = tmp_path / "ledger.jsonl"
    items = export(runner, path)
    assert verify(runner, path, "--trusted-checkpoint", str(trusted)).exit_code == 0
    first = next(item for item in items if item["type"] == "event" and item["box"] == box.sscc)
    forged = rewrite_chain(items, first["id"], note="Gudang lain")
    forged = [item for item in forged if not (item["type"] == "checkpoint" and item["size"] == 23)]
    write(path, forged)
    result = verify(runner, path)  # without the witness's checkpoint it passes, the events merely unsigned
    assert result.exit_code == 0 and "Not yet signed: 3 events after the newest checkpoint" in result.output
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 1
    assert "your trusted checkpoint of 23 events does not match the events" in result.output
    # An export cut back before the trusted checkpoint (a rollback) is refused too.
    write(path, [item for item in forged if item.get("box") != box.sscc])
    result = verify(runner, path, "--trusted-checkpoint", str(trusted))
    assert result.exit_code == 1 and "only 20 are here: events were removed" in result.output


def test_events_unsigned_for_longer_than_the_maximum_delay(ledger, runner, tmp_path):
    box = ledger.box(tps=OTHER_TPS)
    ledger.scan(ledger.gudang, "commission", box, "KPU-3101")
    ledger.scan(ledger.gudang, "seal", box, "KPU-3101", seals=["S-1"])
    path = tmp_path / "ledger.jsonl"
    with runner.app.app_context(), path.open("w", encoding="utf-8", newline="\n") as out:
        export_ledger(ledger.session, KEY, out, now=datetime.now(UTC) + timedelta(minutes=5))
    result = verify(runner, path)
    assert result.exit_code == 1
    assert result.output.startswith("REFUSED: 2 events are not covered by a signed checkpoint; the oldest was ")
    assert "the maximum delay is 60 s" in result.output
    # The server's own promise (the header's max_delay) holds even when the verifier allows more.
    result = verify(runner, path, "--max-delay", "600")
    assert result.exit_code == 1 and "the maximum delay is 60 s" in result.output


def test_witness_cosignatures_on_the_newest_checkpoint_are_counted(exported, runner):
    path, items = exported
    private = Ed25519PrivateKey.generate()
    witness = notes.Verifier("bawaslu.example/witness", notes.COSIGNATURE_V1, notes.public_bytes(private))
    stranger = Ed25519PrivateKey.generate()
    for item in items:
        if item["type"] == "checkpoint":
            text = notes.split_note(item["note"])[0]
            item["note"] += notes.cosign(text, witness.name, private, 1_760_000_000).line
            item["note"] += notes.cosign(text, "kampus.example/w", stranger, 1_760_000_001).line
    write(path, items)
    result = verify(runner, path, "--witness-key", witness.vkey)
    assert result.exit_code == 0, result.output
    assert "Witnesses: 1 cosignatures verified on the newest checkpoint (bawaslu.example/witness); 1 unverified" in (
        result.output
    )
    other = notes.Verifier(witness.name, notes.COSIGNATURE_V1, notes.public_bytes(stranger)).vkey
    result = verify(runner, path, "--witness-key", other)
    assert result.exit_code == 0 and "Witnesses: 0 cosignatures verified" in result.output


def test_proof_lines_and_hash_lines_in_a_whole_ledger_file(exported, runner):
    """Only a region's file carries inclusion and consistency lines; a whole ledger's events are all given in
    full and the tree is rebuilt from them. Version 2's hash lines are no line type any more."""
    path, items = exported
    event = next(item for item in items if item["type"] == "event")
    proof = {"type": "inclusion", "event": event["id"], "leaf_index": 0, "tree_size": 20, "leaf_hash": "", "proof": []}
    write(path, [*items[:2], proof, *items[2:]])
    result = verify(runner, path)
    assert result.exit_code == 1 and "line 3 is a proof line (inclusion); only a region's file carries them" in (
        result.output
    )
    hidden = [{"type": "hash", "id": item["id"], "hash": item["hash"]} if item is event else item for item in items]
    write(path, hidden)
    result = verify(runner, path)
    assert result.exit_code == 1 and "has an unknown line type 'hash'" in result.output


def test_a_raw_key_with_a_plus_is_not_taken_for_a_vkey():
    from webapp.custody.verification import log_verifier_from

    while "+" not in (raw := base64.b64encode(notes.public_bytes(Ed25519PrivateKey.generate())).decode()):
        pass
    verifier = log_verifier_from(raw, {"origin": KEY.origin}, False)
    assert verifier.name == KEY.origin and base64.b64encode(verifier.public).decode() == raw
    assert log_verifier_from(verifier.vkey, {}, False) == verifier
