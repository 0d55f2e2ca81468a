"""A witness cosigns a checkpoint only when it extends the one it cosigned before (custody/witnesses.py), and
`flask ledger witness` refuses loudly otherwise: against a small fake log of our own, served over real HTTP
from a thread (the log's endpoints as docs/ledger.md gives them), no database involved."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webapp.custody import notes
from webapp.custody.ledger import merkle_leaf
from webapp.custody.notes import ED25519, Checkpoint, Verifier, cosign, public_bytes, sign
from webapp.custody.proofs import consistency_path, root
from webapp.custody.witness_cli import witness_command, witness_keygen_command
from webapp.custody.witnesses import (
    WitnessError,
    WitnessRefused,
    load_private_key,
    private_key_text,
    witness_step,
    witness_verifier,
)

ORIGIN = "jejak.example/jejak/pemilu"
WITNESS = "bawaslu.example/witness"
NOW = 1_790_000_000


def leaves(count: int, rewritten: int | None = None) -> list[bytes]:
    """`count` leaves of one history; with `rewritten`, the same but that event's hash changed."""
    return [
        merkle_leaf(hashlib.sha256(f"event {i}{' (rewritten)' if i == rewritten else ''}".encode()).hexdigest())
        for i in range(count)
    ]


class FakeLog:
    """A log of our own: its key, its leaves, its signed checkpoint notes and its consistency proofs."""

    def __init__(self, history: list[bytes], seed: int = 1, origin: str = ORIGIN) -> None:
        self.key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        self.verifier = Verifier(origin, ED25519, public_bytes(self.key))
        self.history = history
        self.origin = origin
        self.proofs_asked: list[tuple[int, int]] = []

    def note(self, size: int | None = None) -> str:
        size = len(self.history) if size is None else size
        text = Checkpoint(self.origin, size, root(self.history[:size])).text
        return text + "\n" + sign(text, self.verifier.name, self.key).line

    def consistency(self, first: int, second: int) -> list[bytes]:
        self.proofs_asked.append((first, second))
        return consistency_path(first, self.history[:second])


@pytest.fixture
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32)


def step(state, note, log: FakeLog, key, now=NOW, fetch=None, **extra):
    return witness_step(state, note, log.verifier, fetch or log.consistency, key, WITNESS, now, **extra)


def cosigners(note: str, log: FakeLog, key) -> list[int]:
    """The witness's verified cosignature times on a note that the log's key signed."""
    _, cosigned = notes.open_note(note, log.verifier, (witness_verifier(WITNESS, key),))
    return [signature.timestamp for _, signature in cosigned]


# --- the decision -------------------------------------------------------------------------------------


def test_first_run_cosigns_what_it_is_shown_and_keeps_it_as_its_state(witness_key):
    log = FakeLog(leaves(7))
    line, state = step(None, log.note(), log, witness_key)
    assert line.startswith(f"\u2014 {WITNESS} ") and line.endswith("\n")
    text = Checkpoint(ORIGIN, 7, root(log.history)).text
    # The state is the cosigned note: the checkpoint, the log's signature, the witness's cosignature.
    assert state == log.note() + line
    assert state.startswith(text + "\n")
    assert cosigners(state, log, witness_key) == [NOW]
    assert log.proofs_asked == []  # nothing to be consistent with yet


def test_a_grown_log_with_a_valid_consistency_proof_is_cosigned(witness_key):
    log = FakeLog(leaves(5))
    _, state = step(None, log.note(), log, witness_key)
    log.history = leaves(13)  # the same five events, and eight more
    line, state = step(state, log.note(), log, witness_key, now=NOW + 60)
    assert log.proofs_asked == [(5, 13)]
    assert Checkpoint.parse(notes.split_note(state)[0]).size == 13
    assert cosigners(state, log, witness_key) == [NOW + 60]
    assert state.endswith(line)


@pytest.mark.parametrize("first, second", [(1, 2), (4, 8), (6, 7), (8, 33), (31, 32), (3, 1000)])
def test_every_growth_is_cosigned_with_the_rfc_proof(witness_key, first, second):
    log = FakeLog(leaves(second))
    _, state = step(None, log.note(first), log, witness_key)
    step(state, log.note(), log, witness_key)
    assert log.proofs_asked == [(first, second)]


def test_the_same_checkpoint_again_is_cosigned_again_at_the_new_time(witness_key):
    log = FakeLog(leaves(4))
    _, state = step(None, log.note(), log, witness_key)
    _, again = step(state, log.note(), log, witness_key, now=NOW + 5)
    assert cosigners(again, log, witness_key) == [NOW + 5]
    assert log.proofs_asked == []


def test_from_the_empty_tree_no_proof_is_needed(witness_key):
    log = FakeLog(leaves(6))
    _, state = step(None, log.note(0), log, witness_key)
    step(state, log.note(), log, witness_key)
    assert log.proofs_asked == []


def test_a_rollback_to_a_smaller_tree_is_refused(witness_key):
    log = FakeLog(leaves(9))
    _, state = step(None, log.note(), log, witness_key)
    with pytest.raises(WitnessRefused, match="rollback") as refused:
        step(state, log.note(5), log, witness_key)
    assert refused.value.reason == WitnessRefused.ROLLBACK
    assert "5 events" in refused.value.message and "9" in refused.value.message


def test_a_split_view_two_histories_of_one_size_is_refused(witness_key):
    """The acceptance case: the log shows one history to this witness, then another of the same size."""
    honest, other = FakeLog(leaves(8)), FakeLog(leaves(8, rewritten=3))
    _, state = step(None, honest.note(), honest, witness_key)
    with pytest.raises(WitnessRefused) as refused:
        step(state, other.note(), honest, witness_key)  # signed by the same log key
    assert refused.value.reason == WitnessRefused.SPLIT_VIEW == "split view"
    assert "different histories" in refused.value.message


def test_a_rewritten_older_history_is_refused_as_inconsistent(witness_key):
    """The log drops what the witness cosigned (8 events), rewrites event 3 and grows: its proof, honest
    about the new history, cannot lead to the root the witness cosigned."""
    log = FakeLog(leaves(8))
    _, state = step(None, log.note(), log, witness_key)
    log.history = leaves(12, rewritten=3)
    with pytest.raises(WitnessRefused) as refused:
        step(state, log.note(), log, witness_key)
    assert refused.value.reason == WitnessRefused.INCONSISTENT
    assert "rewritten" in refused.value.message


@pytest.mark.parametrize(
    "proof",
    [
        lambda good: [],  # no proof
        lambda good: good[:-1],  # one hash short
        lambda good: [*good, good[0]],  # one hash too many
        lambda good: [bytes(32), *good[1:]],  # a hash changed
        lambda good: [h[:16] for h in good],  # not hashes at all
    ],
    ids=["empty", "short", "long", "changed", "truncated hashes"],
)
def test_a_proof_that_does_not_verify_is_refused(witness_key, proof):
    log = FakeLog(leaves(11))
    _, state = step(None, log.note(6), log, witness_key)
    good = consistency_path(6, log.history)
    with pytest.raises(WitnessRefused) as refused:
        step(state, log.note(), log, witness_key, fetch=lambda m, n: proof(good))
    assert refused.value.reason == WitnessRefused.INCONSISTENT


def test_a_bad_log_signature_is_refused(witness_key):
    log, impostor = FakeLog(leaves(5)), FakeLog(leaves(5), seed=2)
    for offered in (
        impostor.note(),  # another key under the log's name
        log.note().replace("\n5\n", "\n6\n", 1),  # the size changed after signing
        log.note().split("\n\n")[0] + "\n",  # no signature at all
        "not a note",
    ):
        with pytest.raises(WitnessRefused) as refused:
            step(None, offered, log, witness_key)
        assert refused.value.reason == WitnessRefused.BAD_SIGNATURE == "bad log signature"


def test_a_checkpoint_naming_another_log_is_refused(witness_key):
    log = FakeLog(leaves(5))
    text = Checkpoint("elsewhere.example/log", 5, root(log.history)).text
    offered = text + "\n" + sign(text, ORIGIN, log.key).line  # signed with the log's key, for another origin
    with pytest.raises(WitnessRefused) as refused:
        step(None, offered, log, witness_key)
    assert refused.value.reason == WitnessRefused.WRONG_ORIGIN


def test_other_witnesses_cosignatures_on_the_offered_note_are_ignored(witness_key):
    log = FakeLog(leaves(5))
    other = Ed25519PrivateKey.from_private_bytes(bytes([3]) * 32)
    text = notes.split_note(log.note())[0]
    offered = log.note() + cosign(text, "campus.example/witness", other, NOW - 9).line
    _, state = step(None, offered, log, witness_key)
    assert "campus.example" not in state  # the witness keeps and posts its own cosignature only


def test_a_state_the_log_key_does_not_sign_is_an_error_never_a_first_run(witness_key):
    log, impostor = FakeLog(leaves(5)), FakeLog(leaves(5, rewritten=0), seed=2)
    _, forged = step(None, impostor.note(), impostor, witness_key)
    with pytest.raises(WitnessError, match="state file was changed") as failed:
        step(forged, log.note(), log, witness_key)
    assert not isinstance(failed.value, WitnessRefused)


def test_after_the_log_rotates_its_key_the_previous_key_vouches_for_the_state(witness_key):
    old, new = FakeLog(leaves(5)), FakeLog(leaves(9), seed=4)
    _, state = step(None, old.note(), old, witness_key)
    with pytest.raises(WitnessError, match="previous-log-key"):
        step(state, new.note(), new, witness_key)
    _, state = step(state, new.note(), new, witness_key, state_verifiers=(old.verifier,))
    assert new.proofs_asked == [(5, 9)]


def test_a_network_failure_while_fetching_the_proof_decides_nothing(witness_key):
    log = FakeLog(leaves(5))
    _, state = step(None, log.note(3), log, witness_key)

    def unreachable(first, second):
        raise WitnessError("the log cannot be reached")

    with pytest.raises(WitnessError) as failed:
        step(state, log.note(), log, witness_key, fetch=unreachable)
    assert not isinstance(failed.value, WitnessRefused)


def test_a_witness_key_round_trips_and_a_tampered_one_is_refused(witness_key):
    text = private_key_text(WITNESS, witness_key)
    assert text.startswith(f"PRIVATE+KEY+{WITNESS}+") and witness_verifier(WITNESS, witness_key).vkey.startswith(
        WITNESS
    )
    name, private = load_private_key(text + "\n")
    assert name == WITNESS and public_bytes(private) == public_bytes(witness_key)
    for bad in (
        text.replace(WITNESS, "other.example/witness"),  # the key ID no longer matches
        text.replace("PRIVATE+KEY+", ""),
        text[:-4],
        "PRIVATE+KEY+x+00000000+" + "A" * 44,  # type byte 0x00
    ):
        with pytest.raises(WitnessError):
            load_private_key(bad)


# --- `flask ledger witness` against the fake log over HTTP ---------------------------------------------


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that gave up (the timeout test) is no error of the fake log's."""


class LogServer:
    """The fake log behind the three endpoints a witness uses, on a local port."""

    def __init__(self, log: FakeLog) -> None:
        self.log = log
        self.posted: list[str] = []
        self.post_answer = (201, {"witness": WITNESS, "size": 0, "timestamp": 0})
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: str, kind: str = "application/json") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                time.sleep(server.delay)
                url = urlsplit(self.path)
                if url.path == "/api/v1/ledger/checkpoint":
                    return self._send(200, server.log.note(), "text/plain; charset=utf-8")
                if url.path == "/api/v1/ledger/proof/consistency":
                    query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
                    proof = server.log.consistency(query["from"], query["to"])
                    body = {"from": query["from"], "to": query["to"], "proof": [_b64(h) for h in proof]}
                    return self._send(200, json.dumps(body))
                return self._send(404, json.dumps({"error": {"code": "not_found", "message": "", "details": {}}}))

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                assert self.headers["Content-Type"].startswith("text/plain")
                server.posted.append(body)
                status, answer = server.post_answer
                return self._send(status, json.dumps(answer))

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> LogServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def observer(tmp_path, witness_key):
    """The observer's machine: its key file (0600) and where its state goes."""
    key_file = tmp_path / "witness.key"
    key_file.write_text(private_key_text(WITNESS, witness_key) + "\n")
    key_file.chmod(0o600)
    return {"key": key_file, "state": tmp_path / "state" / "checkpoint.txt"}


def run(server_url: str, log: FakeLog, observer: dict, *extra: str):
    observer["state"].parent.mkdir(exist_ok=True)
    args = ["--log", server_url, "--log-key", log.verifier.vkey, "--key-file", str(observer["key"])]
    args += ["--state", str(observer["state"]), *extra]
    return CliRunner().invoke(witness_command, args)


def test_the_witness_cosigns_posts_and_saves_its_state(observer, witness_key):
    log = FakeLog(leaves(6))
    with LogServer(log) as server:
        result = run(server.url, log, observer)
        assert result.exit_code == 0, result.output
        assert "Cosigned the checkpoint of 6 events" in result.output
        assert server.posted == [observer["state"].read_text()]
        assert len(cosigners(server.posted[0], log, witness_key)) == 1
        log.history = leaves(10)
        result = run(server.url, log, observer)
        assert result.exit_code == 0, result.output
        assert log.proofs_asked == [(6, 10)]
        assert Checkpoint.parse(notes.split_note(observer["state"].read_text())[0]).size == 10
        assert len(server.posted) == 2
    assert not [p for p in observer["state"].parent.iterdir() if p.name.endswith(".tmp")]


def test_a_split_view_is_refused_with_exit_2_and_nothing_is_posted(observer, witness_key):
    honest = FakeLog(leaves(8))
    with LogServer(honest) as server:
        assert run(server.url, honest, observer).exit_code == 0
        cosigned = observer["state"].read_text()
        server.log = FakeLog(leaves(8, rewritten=5))  # the same log key, another history of 8 events
        result = run(server.url, honest, observer)
        assert result.exit_code == 2, result.output
        assert "REFUSED (split view)" in result.output and "Traceback" not in result.output
        assert len(server.posted) == 1  # only the first, honest cosignature
    assert observer["state"].read_text() == cosigned  # the witness still holds what it cosigned
    (evidence,) = observer["state"].parent.glob("checkpoint.txt.refused-*")
    assert evidence.read_text() == server.log.note()  # the other history, as the log signed it


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda log: FakeLog(leaves(4)), "rollback"),
        (lambda log: FakeLog(leaves(12, rewritten=2)), "inconsistent"),
        (lambda log: FakeLog(leaves(8), seed=2), "bad log signature"),
    ],
)
def test_every_refusal_exits_2_and_posts_nothing(observer, change, reason):
    log = FakeLog(leaves(8))
    with LogServer(log) as server:
        assert run(server.url, log, observer).exit_code == 0
        server.log = change(log)
        result = run(server.url, log, observer)
        assert result.exit_code == 2 and f"REFUSED ({reason})" in result.output, result.output
        assert len(server.posted) == 1


def test_a_log_that_cannot_be_reached_is_exit_1_without_a_traceback(observer, tmp_path):
    log = FakeLog(leaves(3))
    with LogServer(log) as server:
        closed = server.url
    result = run(closed, log, observer, "--timeout", "2")
    assert result.exit_code == 1 and "FAILED" in result.output and "cannot be reached" in result.output
    assert isinstance(result.exception, SystemExit)  # no traceback: a clean exit
    assert not observer["state"].exists()


def test_a_log_that_does_not_answer_in_time_is_exit_1(observer):
    log = FakeLog(leaves(3))
    with LogServer(log) as server:
        server.delay = 1.5
        result = run(server.url, log, observer, "--timeout", "0.3")
    assert result.exit_code == 1 and "no answer within 0.3 s" in result.output, result.output
    assert isinstance(result.exception, SystemExit)


def test_a_refused_post_is_exit_1_with_the_logs_reason_and_the_state_is_kept(observer):
    log = FakeLog(leaves(3))
    with LogServer(log) as server:
        server.post_answer = (403, {"error": {"code": "unknown_witness", "message": "Tidak terdaftar.", "details": {}}})
        result = run(server.url, log, observer)
    assert result.exit_code == 1 and "HTTP 403: unknown_witness" in result.output, result.output
    # Saved before posting: the witness never cosigns a checkpoint inconsistent with one that may have left.
    assert observer["state"].read_text() == server.posted[0]


def test_a_damaged_state_file_stops_the_witness_instead_of_starting_afresh(observer):
    log = FakeLog(leaves(3))
    observer["state"].parent.mkdir()
    observer["state"].write_text("")
    with LogServer(log) as server:
        result = run(server.url, log, observer)
        assert result.exit_code == 1 and "FAILED" in result.output, result.output
        assert server.posted == []
    assert observer["state"].read_text() == ""


def test_bad_options_are_exit_1_with_a_message(observer):
    log = FakeLog(leaves(3))
    with LogServer(log) as server:
        for args, words in (
            (("--log", "ftp://log.example"), "http(s) address"),
            (("--log-key", "junk"), "--log-key"),
        ):
            base = {"--log": server.url, "--log-key": log.verifier.vkey}
            base[args[0]] = args[1]
            result = CliRunner().invoke(
                witness_command,
                [*sum(base.items(), ()), "--key-file", str(observer["key"]), "--state", str(observer["state"])],
            )
            assert result.exit_code == 1 and words in result.output, result.output
        witness_vkey = witness_verifier(WITNESS, Ed25519PrivateKey.generate()).vkey
        result = run(server.url, FakeLog(leaves(1)), observer, "--log-key", witness_vkey)
        assert result.exit_code == 1 and "not a log key" in result.output
        assert server.posted == []


def test_keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_vkey(tmp_path):
    path = tmp_path / "bawaslu.key"
    result = CliRunner().invoke(witness_keygen_command, [WITNESS, "--key-file", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    name, private = load_private_key(path.read_text())
    vkey = result.output.strip().splitlines()[-1]
    assert name == WITNESS and Verifier.from_vkey(vkey) == witness_verifier(WITNESS, private)
    before = path.read_text()
    again = CliRunner().invoke(witness_keygen_command, [WITNESS, "--key-file", str(path)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    assert path.read_text() == before
    bad = CliRunner().invoke(witness_keygen_command, ["has space", "--key-file", str(tmp_path / "x.key")])
    assert bad.exit_code == 1 and not Path(tmp_path / "x.key").exists()
