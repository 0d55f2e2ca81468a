"""The server's side of witnessing: an admin registers witness keys (`flask ledger witnesses`), a registered
witness posts its cosignature (POST /api/v1/ledger/cosignatures, no login), the server checks and keeps it,
and serves the kept lines with the checkpoint (witnesses.cosignature_lines).

The checkpoint rows are inserted here. Until LedgerCheckpoint has its `note` and `size` columns (the
checkpoint-format branch of issue 15), the lookup of a checkpoint by its text is replaced by one over the
rows these tests insert; once the columns exist the tests insert them and use the real lookup."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import rate_limited_app
from tests.custody.test_witnesses import FakeLog, leaves
from webapp.custody import notes, witnesses
from webapp.custody.ledger import SigningKey
from webapp.custody.models import LedgerCheckpoint, LedgerCosignature, LedgerWitness
from webapp.custody.notes import ED25519, Checkpoint, Verifier, cosign
from webapp.custody.proofs import root
from webapp.custody.witnesses import cosignature_lines, register_witness, witness_step, witness_verifier
from webapp.extensions import limiter

URL = "/api/v1/ledger/cosignatures"
ORIGIN = "127.0.0.1:8000/jejak/pemilu"


class Log(FakeLog):
    """The fake log signing with the test configuration's ledger key, as the server does."""

    def __init__(self, history) -> None:
        super().__init__(history, origin=ORIGIN)
        self.key = SigningKey.from_text(TestConfig.LEDGER_SIGNING_KEY).private
        self.verifier = Verifier(ORIGIN, ED25519, notes.public_bytes(self.key))


@pytest.fixture
def checkpoints(session, monkeypatch):
    """Insert a checkpoint of N events (its row, and its note as the log signs it): `checkpoints(n)`."""
    log = Log(leaves(40))
    rows: dict[str, LedgerCheckpoint] = {}

    def insert(size: int) -> tuple[LedgerCheckpoint, str]:
        note = log.note(size)
        row = LedgerCheckpoint(
            upto_event_id=10**12 + size,
            event_count=size,
            root=root(log.history[:size]).hex(),
            peaks=[],
            key_id="0" * 16,
            signature="0" * 128,
            created_at=datetime.now(UTC),
            note=note,
        )
        session.add(row)
        session.commit()
        rows[notes.split_note(note)[0]] = row
        return row, note

    insert.log = log
    return insert


def key(n: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def registered(session, name: str, seed: int, organisation: str) -> tuple[str, Ed25519PrivateKey]:
    """A registered, active witness: its name and private key."""
    private = key(seed)
    register_witness(session, name, witness_verifier(name, private).vkey, organisation, datetime.now(UTC))
    session.commit()
    return name, private


@pytest.fixture
def bawaslu(session) -> tuple[str, Ed25519PrivateKey]:
    return registered(session, "bawaslu.example/witness", 21, "Bawaslu RI")


@pytest.fixture
def campus(session) -> tuple[str, Ed25519PrivateKey]:
    return registered(session, "campus.example/witness", 24, "Universitas Contoh")


def cosigned(note: str, name: str, private: Ed25519PrivateKey, when: int | None = None) -> tuple[str, str]:
    """The note with the witness's cosignature line appended, and that line."""
    text = notes.split_note(note)[0]
    line = cosign(text, name, private, int(datetime.now(UTC).timestamp()) if when is None else when).line
    return note + line, line


def post(client, body: str | bytes, content_type: str = "text/plain; charset=utf-8"):
    return client.post(URL, data=body if isinstance(body, bytes) else body.encode(), content_type=content_type)


def kept(session) -> int:
    return session.scalar(select(func.count()).select_from(LedgerCosignature))


def test_a_registered_witness_cosignature_is_kept_and_served_with_its_checkpoint(client, session, checkpoints, bawaslu):
    row, note = checkpoints(12)
    body, line = cosigned(note, *bawaslu, when=1_790_000_000)
    response = post(client, body)
    assert response.status_code == 201, response.text
    assert response.json == {"witness": bawaslu[0], "size": 12, "timestamp": 1_790_000_000}
    assert cosignature_lines(session, row) == [line]
    # The checkpoint's note with the lines served after it verifies with the log's and the witness's keys.
    log_key = checkpoints.log.verifier
    _, valid = notes.open_note(note + "".join(cosignature_lines(session, row)), log_key, (witness_verifier(*bawaslu),))
    assert [v.name for v, _ in valid] == [bawaslu[0]]


def test_posting_again_is_idempotent_and_the_first_cosignature_stays(client, session, checkpoints, bawaslu):
    row, note = checkpoints(12)
    first, line = cosigned(note, *bawaslu, when=1_790_000_000)
    assert post(client, first).status_code == 201
    again = post(client, first)
    assert again.status_code == 200 and again.json["timestamp"] == 1_790_000_000
    later, _ = cosigned(note, *bawaslu, when=1_790_000_600)
    response = post(client, later)
    assert response.status_code == 200 and response.json["timestamp"] == 1_790_000_000
    assert kept(session) == 1 and cosignature_lines(session, row) == [line]


def test_an_unregistered_witness_is_refused_and_nothing_is_kept(client, session, checkpoints, bawaslu):
    row, note = checkpoints(12)
    body, _ = cosigned(note, "stranger.example/witness", key(22))
    response = post(client, body)
    assert response.status_code == 403 and response.json["error"]["code"] == "unknown_witness"
    assert "saksi yang terdaftar" in response.json["error"]["message"]  # in words, in Indonesian by default
    # A stranger who takes a registered witness's name still lacks its key: another key ID, unknown.
    body, _ = cosigned(note, bawaslu[0], key(23))
    assert post(client, body).json["error"]["code"] == "unknown_witness"
    assert kept(session) == 0 and cosignature_lines(session, row) == []


def test_a_bad_signature_of_a_registered_witness_is_refused(client, session, checkpoints, bawaslu):
    _, note = checkpoints(12)
    _, other_note = checkpoints(13)
    _, line = cosigned(other_note, *bawaslu)  # a real cosignature, of another checkpoint
    response = post(client, note + line)
    assert response.status_code == 403 and response.json["error"]["code"] == "bad_signature"
    text = notes.split_note(note)[0]
    signature = cosign(text, *bawaslu, 1_790_000_000)
    moved = notes.Signature(signature.name, signature.id, (1_790_000_001).to_bytes(8, "big") + signature.blob[8:])
    response = post(client, note + moved.line)  # its time changed after signing
    assert response.status_code == 403 and response.json["error"]["code"] == "bad_signature"
    assert kept(session) == 0


def test_a_retired_witness_is_refused_and_its_lines_are_no_longer_served(client, session, checkpoints, bawaslu, campus):
    row, note = checkpoints(12)
    body, bawaslu_line = cosigned(note, *bawaslu, when=1_790_000_000)
    assert post(client, body).status_code == 201
    body, campus_line = cosigned(note, *campus, when=1_790_000_030)
    assert post(client, body).status_code == 201
    assert cosignature_lines(session, row) == [bawaslu_line, campus_line]  # earliest first
    witnesses.retire_witness(session, campus[0], datetime.now(UTC))
    session.commit()
    assert cosignature_lines(session, row) == [bawaslu_line]
    _, next_note = checkpoints(14)
    body, _ = cosigned(next_note, *campus)
    assert post(client, body).json["error"]["code"] == "unknown_witness"


def test_an_unknown_checkpoint_is_404(client, session, checkpoints, bawaslu):
    checkpoints(12)
    log = checkpoints.log
    text = Checkpoint(ORIGIN, 12, root(leaves(12, rewritten=4))).text  # a text the log never stored
    note = text + "\n" + notes.sign(text, ORIGIN, log.key).line
    body, _ = cosigned(note, *bawaslu)
    response = post(client, body)
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_checkpoint"
    assert kept(session) == 0


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        ("halo", "text/plain", 422, "invalid_note"),
        ("", "text/plain", 422, "invalid_note"),
        (b"\xff\xfe", "text/plain", 422, "invalid_note"),
        ('{"note": "x"}', "application/json", 415, "unsupported_media_type"),
        ("x" * (witnesses.MAX_NOTE_BYTES + 1), "text/plain", 413, "too_large"),
    ],
    ids=["not a note", "empty", "not utf-8", "json", "too large"],
)
def test_malformed_posts_are_refused_with_the_error_envelope(client, session, body, content_type, status, code):
    response = post(client, body, content_type)
    assert response.status_code == status and response.json["error"]["code"] == code, response.text
    assert set(response.json["error"]) == {"code", "message", "details"}
    assert kept(session) == 0


def test_two_witnesses_in_one_post_and_a_cosignature_from_the_future_are_refused(
    client, session, checkpoints, bawaslu, campus
):
    _, note = checkpoints(12)
    body, _ = cosigned(note, *bawaslu)
    body, _ = cosigned(body, *campus)
    assert post(client, body).json["error"]["code"] == "several_witnesses"
    future = int(datetime.now(UTC).timestamp()) + witnesses.MAX_CLOCK_SKEW + 60
    response = post(client, cosigned(note, *bawaslu, when=future)[0])
    assert response.status_code == 422 and response.json["error"]["code"] == "clock_skew"
    assert kept(session) == 0


def test_what_the_witness_posts_is_what_the_server_keeps(client, session, checkpoints, bawaslu):
    """Both halves together: witness_step's note, posted as the CLI posts it, is kept as it was signed."""
    row, note = checkpoints(20)
    line, state = witness_step(
        None, note, checkpoints.log.verifier, checkpoints.log.consistency, bawaslu[1], bawaslu[0], 1_790_000_000
    )
    response = post(client, state)
    assert response.status_code == 201 and response.json["size"] == 20
    assert cosignature_lines(session, row) == [line]


def test_a_checkpoint_is_found_by_its_text_byte_for_byte(session, checkpoints):
    row, note = checkpoints(12)
    text = notes.split_note(note)[0]
    assert witnesses.find_checkpoint_by_text(session, text) == row
    assert witnesses.find_checkpoint_by_text(session, text.replace("\n12\n", "\n11\n")) is None
    assert witnesses.find_checkpoint_by_text(session, text + "extension\n") is None
    assert witnesses.find_checkpoint_by_text(session, "junk") is None


# --- the admin's register ---------------------------------------------------------------------------


def test_an_admin_registers_lists_and_retires_witnesses(runner, session):
    vkey = witness_verifier("bawaslu.example/witness", key(21)).vkey
    result = runner.invoke(
        args=["ledger", "witnesses", "add", "bawaslu.example/witness", vkey, "--organisation", "Bawaslu RI"]
    )
    assert result.exit_code == 0 and "Registered witness bawaslu.example/witness" in result.output, result.output
    result = runner.invoke(args=["ledger", "witnesses", "list"])
    assert "bawaslu.example/witness\tBawaslu RI\tactive\t0 cosignatures\t" + vkey in result.output
    result = runner.invoke(args=["ledger", "witnesses", "retire", "bawaslu.example/witness"])
    assert result.exit_code == 0, result.output
    assert "\tretired " in runner.invoke(args=["ledger", "witnesses", "list"]).output
    witness = session.scalar(select(LedgerWitness))
    assert not witness.active and witness.retired_at is not None


@pytest.mark.parametrize(
    "name, vkey, words",
    [
        ("bawaslu.example/witness", "junk", "not a witness key"),
        ("other.example/witness", None, "is named"),
        ("bawaslu.example/witness", "log", "log key"),
        ("bawaslu.example/witness", None, "already registered"),
    ],
)
def test_a_wrong_witness_key_is_refused_with_a_message(runner, session, name, vkey, words):
    good = witness_verifier("bawaslu.example/witness", key(21)).vkey
    if words == "already registered":
        assert runner.invoke(args=["ledger", "witnesses", "add", name, good, "--organisation", "X"]).exit_code == 0
    vkey = {None: good, "log": Verifier(name, ED25519, notes.public_bytes(key(21))).vkey}.get(vkey, vkey)
    result = runner.invoke(args=["ledger", "witnesses", "add", name, vkey, "--organisation", "Bawaslu RI"])
    assert result.exit_code == 1 and words in result.output, result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count()).select_from(LedgerWitness)) == (
        1 if words == "already registered" else 0
    )


def test_unknown_names_are_refused_by_retire(runner, session):
    result = runner.invoke(args=["ledger", "witnesses", "retire", "nobody.example/witness"])
    assert result.exit_code == 1 and "no witness named" in result.output


def test_posts_are_rate_limited(app, tmp_path):
    limited = rate_limited_app(tmp_path, COSIGNATURE_RATE_LIMIT="2 per minute")
    try:
        client = limited.test_client()
        statuses = [post(client, "halo").status_code for _ in range(3)]
        assert statuses == [422, 422, 429]
        assert post(client, "halo").json["error"]["code"] == "too_many_requests"
    finally:
        limiter.enabled = app.config["RATELIMIT_ENABLED"]  # one Limiter object serves every app: hand it back
