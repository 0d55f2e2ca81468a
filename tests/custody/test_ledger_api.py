"""The ledger's public endpoints, used as an observer would, without logging in: read the key, open the
newest signed note with it, ask for an event's inclusion proof and a consistency proof between two signed
checkpoints, and check them with RFC 9162's verification; junk is refused with 400 in Indonesian, what
does not exist with 404; all of it in the OpenAPI document, and rate-limited."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from tests.conftest import rate_limited_app
from tests.custody.conftest import KEY
from webapp.custody import notes, proofs
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.ledger import merkle_leaf
from webapp.custody.models import CustodyEvent


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def events(session) -> list[tuple[int, str]]:
    return [tuple(r) for r in session.execute(select(CustodyEvent.id, CustodyEvent.hash).order_by(CustodyEvent.id))]


def observed(client) -> tuple[notes.Verifier, notes.Checkpoint]:
    """What an observer does first: take the key, open the newest note with it."""
    key = client.get("/api/v1/ledger/key")
    assert key.status_code == 200 and key.headers["Content-Type"] == "text/plain; charset=utf-8"
    verifier = notes.Verifier.from_vkey(key.text)
    note = client.get("/api/v1/ledger/checkpoint")
    assert note.status_code == 200 and note.headers["Content-Type"] == "text/plain; charset=utf-8"
    text, _ = notes.open_note(note.text, verifier)
    return verifier, notes.Checkpoint.parse(text)


def test_an_observer_checks_an_event_and_the_log_growing(ledger, client, openapi):
    verifier, first = observed(client)
    assert verifier.name == "127.0.0.1:8000/jejak/pemilu" and verifier.public == KEY.public_bytes
    assert (first.origin, first.size) == (verifier.name, 20)
    ids = events(ledger.session)
    event_id, event_hash = ids[6]
    answer = client.get(f"/api/v1/ledger/proof/inclusion?event={event_id}")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-cache"
    openapi("InclusionProof", answer.json)
    body = answer.json
    assert (body["event"], body["leaf_index"], body["tree_size"]) == (event_id, 6, 20)
    assert b64(body["leaf_hash"]) == merkle_leaf(event_hash)  # the observer computes it from the event
    proofs.verify_inclusion(merkle_leaf(event_hash), 6, 20, [b64(p) for p in body["proof"]], first.root)

    ledger.to_tps(ledger.box(contest="DPD"))
    make_checkpoint(ledger.session, KEY)
    ledger.session.commit()
    _, second = observed(client)
    assert second.size == 30
    answer = client.get("/api/v1/ledger/proof/consistency?from=20&to=30")
    assert answer.status_code == 200 and answer.headers["Cache-Control"].startswith("public")
    openapi("ConsistencyProof", answer.json)
    assert (answer.json["from"], answer.json["to"]) == (20, 30)
    proofs.verify_consistency(20, 30, [b64(p) for p in answer.json["proof"]], first.root, second.root)
    assert client.get("/api/v1/ledger/proof/consistency?from=20").json["to"] == 30  # to: the newest
    assert client.get("/api/v1/ledger/proof/consistency?from=0&to=20").json["proof"] == []
    assert client.get("/api/v1/ledger/proof/consistency?from=30&to=30").json["proof"] == []

    # The first event against the older checkpoint, the newest event against the newer one.
    body = client.get(f"/api/v1/ledger/proof/inclusion?event={ids[0][0]}&size=20").json
    proofs.verify_inclusion(merkle_leaf(ids[0][1]), 0, 20, [b64(p) for p in body["proof"]], first.root)
    newest_id, newest_hash = events(ledger.session)[-1]
    body = client.get(f"/api/v1/ledger/proof/inclusion?event={newest_id}&size=30").json
    assert body["leaf_index"] == 29
    proofs.verify_inclusion(merkle_leaf(newest_hash), 29, 30, [b64(p) for p in body["proof"]], second.root)

    listed = client.get("/api/v1/ledger/checkpoints").json
    openapi("Checkpoints", listed)
    assert [(c["size"], c["event_count"]) for c in listed["checkpoints"]] == [(20, 20), (30, 30)]
    assert listed["vkey"] == verifier.vkey
    for item in listed["checkpoints"]:
        assert notes.Checkpoint.parse(notes.open_note(item["note"], verifier)[0]).size == item["size"]


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("", "wajib"),
        ("event=", "wajib"),
        ("event=abc", "bilangan bulat"),
        ("event=-1", "bilangan bulat"),
        ("event=1.5", "bilangan bulat"),
        ("event=%EF%BC%91", "bilangan bulat"),  # a full-width digit
        ("event=1%00", "bilangan bulat"),
        ("event=99999999999999999999", "bilangan bulat"),
        ("event=1&size=x", "bilangan bulat"),
    ],
)
def test_junk_asking_for_an_inclusion_proof_is_refused_in_indonesian(ledger, client, query, word):
    answer = client.get(f"/api/v1/ledger/proof/inclusion?{query}")
    assert answer.status_code == 400 and answer.json["error"]["code"] == "invalid_request"
    assert word in answer.json["error"]["message"]


@pytest.mark.parametrize(
    ("query", "status", "word"),
    [
        ("", 400, "wajib"),
        ("from=x", 400, "bilangan bulat"),
        ("from=20&to=-3", 400, "bilangan bulat"),
        ("from=21&to=20", 400, "tidak boleh lebih besar"),
        ("from=99", 400, "tidak boleh lebih besar"),  # beyond the newest
        ("from=7&to=20", 404, "ukuran pohon 7"),
        ("from=0&to=19", 404, "ukuran pohon 19"),
    ],
)
def test_bad_or_unknown_sizes_for_a_consistency_proof(ledger, client, query, status, word):
    answer = client.get(f"/api/v1/ledger/proof/consistency?{query}")
    assert answer.status_code == status and answer.json["error"]["code"] == (
        "invalid_request" if status == 400 else "not_found"
    )
    assert word in answer.json["error"]["message"], answer.json


def test_what_no_signed_checkpoint_covers_is_a_404(ledger, client):
    ledger.scan(ledger.gudang, "commission", ledger.box(contest="DPD"), "KPU-3101")  # after the checkpoint
    newest_id = events(ledger.session)[-1][0]
    for query, word in (
        (f"event={newest_id}", "tidak tercakup"),
        (f"event={newest_id + 1000}", "tidak tercakup"),
        ("event=0", "tidak tercakup"),
        (f"event={newest_id}&size=21", "ukuran pohon 21"),
        ("event=1&size=5", "ukuran pohon 5"),
    ):
        answer = client.get(f"/api/v1/ledger/proof/inclusion?{query}")
        assert answer.status_code == 404 and answer.json["error"]["code"] == "not_found", query
        assert word in answer.json["error"]["message"], (query, answer.json)


def test_before_the_first_checkpoint_there_is_nothing_to_prove(world, client):
    world.scan(world.gudang, "commission", world.box(), "KPU-3101")
    for path in ("checkpoint", "proof/inclusion?event=1", "proof/consistency?from=0"):
        answer = client.get(f"/api/v1/ledger/{path}")
        assert answer.status_code == 404 and "Belum ada checkpoint" in answer.json["error"]["message"], path
    assert client.get("/api/v1/ledger/checkpoints").json["checkpoints"] == []
    assert client.get("/api/v1/ledger/key").status_code == 200


def test_the_ledger_endpoints_share_one_rate_limit(tmp_path):
    """Three requests a minute here: the fourth, to another of the ledger's endpoints, is refused (429, the
    JSON envelope) before its parameters are even read."""

    limited = rate_limited_app(tmp_path, LEDGER_RATE_LIMIT="3 per minute").test_client()
    assert [limited.get("/api/v1/ledger/key").status_code for _ in range(3)] == [200, 200, 200]
    answer = limited.get("/api/v1/ledger/proof/inclusion?event=junk")
    assert answer.status_code == 429 and answer.json["error"]["code"] == "too_many_requests"
    assert "Terlalu banyak" in answer.json["error"]["message"]
