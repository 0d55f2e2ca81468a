"""Signed notes, checkpoints and cosignatures against the reference vectors of Go's golang.org/x/mod/sumdb/note
(the implementation Certificate Transparency, Go's checksum database and Sigstore's witnesses use)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from webapp.custody.notes import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    NoteError,
    Verifier,
    cosign,
    open_note,
    public_bytes,
    sign,
    split_note,
)

# From note_test.go: a key, a text and the signature Go's implementation makes of it.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def go_private() -> Ed25519PrivateKey:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])  # the key itself may hold "+"
    assert raw[0] == ED25519
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_signing_reproduces_go_reference_note_byte_for_byte():
    private = go_private()
    verifier = Verifier("PeterNeumann", ED25519, public_bytes(private))
    assert verifier.vkey == GO_VKEY
    assert sign(GO_TEXT, "PeterNeumann", private).line == GO_SIG
    text, cosigned = open_note(GO_TEXT + "\n" + GO_SIG, Verifier.from_vkey(GO_VKEY))
    assert (text, cosigned) == (GO_TEXT, [])


def test_a_changed_text_or_a_missing_log_signature_is_refused():
    log = Verifier.from_vkey(GO_VKEY)
    with pytest.raises(NoteError, match="does not verify"):
        open_note(GO_TEXT.replace("cryptography", "cryptographY") + "\n" + GO_SIG, log)
    stranger = Ed25519PrivateKey.from_private_bytes(bytes(32))
    other = sign(GO_TEXT, "someone.else/log", stranger).line
    with pytest.raises(NoteError, match="not signed by the log"):
        open_note(GO_TEXT + "\n" + other, log)  # an unknown key's signature is ignored, and is not enough


@pytest.mark.parametrize(
    "vkey",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # ID of another key
        GO_VKEY[:-4],  # key cut short
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey):
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + GO_SIG,  # no blank line
        GO_TEXT + "\n" + GO_SIG.rstrip("\n"),  # last line not ended
        GO_TEXT + "\n" + "-- PeterNeumann x08go\n",  # not an em dash
        GO_TEXT + "\n" + "— PeterNeumann !!!\n",  # not base64
        GO_TEXT.replace("\n", "\r\n", 1) + "\n" + GO_SIG,  # a control character
    ],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(NoteError):
        split_note(note)


def test_checkpoint_text_round_trips_and_is_strict():
    root = hashlib.sha256(b"").digest()
    checkpoint = Checkpoint("jejak.example/pemilu-2029", 20852163, root)
    assert checkpoint.text == f"jejak.example/pemilu-2029\n20852163\n{base64.b64encode(root).decode()}\n"
    assert Checkpoint.parse(checkpoint.text) == checkpoint
    for bad in ("origin\n012\nAAAA\n", "origin\n-1\n" + base64.b64encode(root).decode() + "\n", "origin\n1\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(bad)


def test_a_witness_cosignature_verifies_only_for_its_text_and_time():
    log_key, witness_key = go_private(), Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    log = Verifier("PeterNeumann", ED25519, public_bytes(log_key))
    witness = Verifier("witness.example/w1", COSIGNATURE_V1, public_bytes(witness_key))
    text = Checkpoint("PeterNeumann", 5, hashlib.sha256(b"five").digest()).text
    cosignature = cosign(text, witness.name, witness_key, 1_679_315_147)
    note = text + "\n" + sign(text, log.name, log_key).line + cosignature.line
    _, cosigned = open_note(note, log, (witness,))
    assert [(v.name, s.timestamp) for v, s in cosigned] == [("witness.example/w1", 1_679_315_147)]
    later = cosign(text, witness.name, witness_key, 1_679_315_148)
    forged = note.replace(cosignature.line, later.line[:-20] + cosignature.line[-20:])  # another time, old signature
    with pytest.raises(NoteError):
        open_note(forged, log, (witness,))
