"""The ledger's public proofs and signed checkpoints, checked with code the project did not write.

A real ledger (hundreds of recorded scans, several signed checkpoints of sizes that are mostly not powers of
two) is read only through the public endpoints, as an outsider would, then checked with:

- sigstore (PyPI, the Sigstore project's Python client): its Rekor checkpoint code parses the signed note
  and checks the log's Ed25519 note signature with the published key, and its Merkle inclusion verifier (a
  port of Trillian's) hashes the leaf from the event's hash and folds the RFC 9162 proof up to the signed
  root. These are `sigstore._internal` modules: requirements-dev.txt pins the version they were read at.
- pymerkle (PyPI): an RFC 6962 tree of its own (security mode: 0x00 leaf and 0x01 node prefixes) built from
  the event hashes gives the leaf hashes, the signed roots, the inclusion paths, and consistency proofs of
  its own between every pair of signed roots. Its consistency proofs have another shape than RFC 9162's,
  so it cannot read ours: each hash of our consistency proofs is instead compared with pymerkle's root of
  the leaf range RFC 9162 section 2.1.4.1 names for it.

Each check is also shown to refuse something tampered, so that the test can fail.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime
from itertools import combinations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pymerkle import InmemoryTree, InvalidProof, verify_consistency, verify_inclusion
from pymerkle.proof import InclusionProof
from sigstore._internal.merkle import verify_merkle_inclusion
from sigstore._internal.rekor.checkpoint import SignedCheckpoint, verify_checkpoint
from sigstore._internal.trust import Keyring
from sigstore._utils import KeyID
from sigstore.errors import VerificationError
from sigstore.models import TransparencyLogEntry
from sigstore_models.common import v1 as common_v1
from sigstore_models.rekor.v1 import TransparencyLogEntry as RekorEntry
from sqlalchemy import select

from tests.custody.conftest import KEY, make_scan, record_scans
from tests.custody.test_proofs import LEAVES, ROOTS
from webapp.boxes.models import Box
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.ledger import merkle_leaf
from webapp.custody.models import CustodyEvent
from webapp.custody.notes import cosign
from webapp.custody.witnesses import register_witness, witness_verifier

# Signed tree sizes: all but 64 are not powers of two (64 is there for RFC 9162's special case of a
# consistency proof from a size that is one).
SIZES = (37, 64, 129, 255, 300, 431)
ORIGIN = "127.0.0.1:8000/jejak/pemilu"
WITNESS = "bawaslu.example/witness"


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def merkle_tree(entries: list[bytes]) -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for entry in entries:
        tree.append_entry(entry)
    return tree


class Outsider:
    """What an outsider holds after reading the public endpoints: the log's key, every signed note by size,
    and (from the events, as an auditor with the export would) the event hashes in leaf order."""

    def __init__(self, client, events: list[tuple[int, bytes]]) -> None:
        self.client = client
        self.events = events  # (event id, 32-byte event hash), in id order: leaf i is events[i]
        self.vkey = client.get("/api/v1/ledger/key").text.strip()
        name, hex_id, material = self.vkey.split("+", 2)  # base64 may hold a "+" itself
        raw = b64(material)
        assert (name, raw[0], len(raw)) == (ORIGIN, 0x01, 33)
        self.name, self.public = name, raw[1:]
        self.key_id = bytes.fromhex(hex_id)
        listed = client.get("/api/v1/ledger/checkpoints").json["checkpoints"]
        self.notes = {c["size"]: c["note"] for c in listed}
        # The newest as GET /ledger/checkpoint publishes it: the same note, then the witness's cosignature.
        published = client.get("/api/v1/ledger/checkpoint").text
        assert published.startswith(self.notes[max(self.notes)]) and published != self.notes[max(self.notes)]
        self.notes[max(self.notes)] = published
        self.tree = merkle_tree([event_hash for _, event_hash in events])

    def keyring(self, public: bytes | None = None) -> Keyring:
        """A sigstore keyring holding the log's Ed25519 key (or another one)."""
        der = Ed25519PublicKey.from_public_bytes(public or self.public).public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
        key = common_v1.PublicKey(raw_bytes=base64.b64encode(der), key_details=common_v1.PublicKeyDetails.PKIX_ED25519)
        return Keyring([key])  # (protobuf bytes go in as base64)

    def open(self, note: str, keyring: Keyring | None = None) -> SignedCheckpoint:
        """sigstore parses the note and checks the signature whose key hint is the log's key ID."""
        signed = SignedCheckpoint.from_text(note)
        signed.signed_note.verify(keyring or self.keyring(), KeyID(self.key_id))
        return signed

    def root(self, size: int) -> bytes:
        """The root the log signed at `size`, as sigstore reads it from the verified note."""
        checkpoint = self.open(self.notes[size]).checkpoint
        assert (checkpoint.origin, checkpoint.log_size) == (ORIGIN, size)
        return bytes.fromhex(checkpoint.log_hash)

    def inclusion(self, event_id: int, size: int) -> dict:
        answer = self.client.get(f"/api/v1/ledger/proof/inclusion?event={event_id}&size={size}")
        assert answer.status_code == 200, answer.text
        return answer.json

    def rekor_entry(self, event_hash: bytes, proof: dict, note: str, root: bytes) -> TransparencyLogEntry:
        """The proof as a Rekor log entry, which is what sigstore's verifiers take: the entry's body is the
        event's 32-byte hash (sigstore hashes the leaf from it), its log ID our note key ID."""
        inner = RekorEntry.from_dict(
            {
                "logIndex": str(proof["leaf_index"]),
                "logId": {"keyId": base64.b64encode(self.key_id).decode()},
                "kindVersion": {"kind": "jejak-event", "version": "1"},
                "inclusionProof": {
                    "logIndex": str(proof["leaf_index"]),
                    "rootHash": base64.b64encode(root).decode(),
                    "treeSize": str(proof["tree_size"]),
                    "hashes": proof["proof"],
                    "checkpoint": {"envelope": note},
                },
                "canonicalizedBody": base64.b64encode(event_hash).decode(),
            }
        )
        return TransparencyLogEntry(inner)


@pytest.fixture
def outsider(world, client) -> Outsider:
    """Commission 37 boxes and inspect them round and round, signing a checkpoint at each of SIZES; a witness
    cosigns the newest one, so the published note carries two signature lines."""
    session = world.session
    boxes = session.scalars(select(Box).order_by(Box.id).limit(SIZES[0])).all()
    outcomes = record_scans(
        session, actor=world.gudang, scans=[make_scan(b.sscc, "commission", "KPU-3101") for b in boxes]
    )
    made = len(outcomes)
    make_checkpoint(session, KEY)
    session.commit()
    for size in SIZES[1:]:
        scans = [make_scan(boxes[n % len(boxes)].sscc, "inspect", "KPU-3101") for n in range(made, size)]
        outcomes += record_scans(session, actor=world.gudang, scans=scans)
        made = size
        make_checkpoint(session, KEY)
        session.commit()
    assert {o.verdict for o in outcomes} == {"accepted"} and len(outcomes) == SIZES[-1]

    witness = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
    register_witness(session, WITNESS, witness_verifier(WITNESS, witness).vkey, "Bawaslu", datetime.now(UTC))
    session.commit()
    text = client.get("/api/v1/ledger/checkpoint").text.split("\n\n")[0] + "\n"
    body = text + "\n" + cosign(text, WITNESS, witness, int(datetime.now(UTC).timestamp())).line
    posted = client.post("/api/v1/ledger/cosignatures", data=body.encode(), content_type="text/plain; charset=utf-8")
    assert posted.status_code == 201, posted.text

    rows = session.execute(select(CustodyEvent.id, CustodyEvent.hash).order_by(CustodyEvent.id)).all()
    return Outsider(client, [(event_id, bytes.fromhex(event_hash)) for event_id, event_hash in rows])


def test_pymerkle_hashes_as_rfc_6962_does():
    """Its security mode is RFC 6962's hashing: the CT test vectors' roots come out of it."""
    tree = merkle_tree([bytes.fromhex(leaf) for leaf in LEAVES])
    assert tree.security and tree.leaf_prefix == b"\x00" and tree.node_prefix == b"\x01"
    assert [tree.get_root(n).hex() for n in range(1, 9)] == ROOTS
    assert tree.get_root(0) == hashlib.sha256(b"").digest()


def test_the_published_checkpoint_and_every_note_verify_with_sigstores_note_code(outsider, client):
    # The key ID, as c2sp.org/signed-note defines it, from the published name and key.
    assert outsider.key_id == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + outsider.public).digest()[:4]
    newest = client.get("/api/v1/ledger/checkpoint")
    assert newest.status_code == 200 and newest.mimetype == "text/plain"
    signed = outsider.open(newest.text)
    assert [s.name for s in signed.signed_note.signatures] == [ORIGIN, WITNESS]  # the cosignature line parses
    assert signed.checkpoint.origin == ORIGIN and signed.checkpoint.log_size == SIZES[-1]
    assert bytes.fromhex(signed.checkpoint.log_hash) == outsider.tree.get_root()
    assert sorted(outsider.notes) == list(SIZES)
    for size in SIZES:
        assert outsider.root(size) == outsider.tree.get_root(size)

    text, _, signatures = newest.text.partition("\n\n")
    refused = {
        "another size": newest.text.replace(f"\n{SIZES[-1]}\n", f"\n{SIZES[-1] - 1}\n", 1),
        "another root": text.replace(
            base64.b64encode(outsider.tree.get_root()).decode(),
            base64.b64encode(outsider.tree.get_root(SIZES[-2])).decode(),
        )
        + "\n\n"
        + signatures,
        "a changed signature": text + "\n\n" + resigned(signatures),
        "no log signature": text + "\n\n" + signatures.split("\n", 1)[1],
    }
    assert len({newest.text, *refused.values()}) == 5
    for what, note in refused.items():
        with pytest.raises(VerificationError):
            outsider.open(note)
            pytest.fail(f"sigstore accepted a note with {what}")
    with pytest.raises(VerificationError):  # the right note, another key
        outsider.open(newest.text, outsider.keyring(hashlib.sha256(b"not the log").digest()))


def resigned(signatures: str) -> str:
    """The signature lines with the last byte of the log's signature changed (its key ID kept)."""
    first, rest = signatures.split("\n", 1)
    dash, name, blob = first.split(" ")
    raw = bytearray(b64(blob))
    raw[-1] ^= 1
    return f"{dash} {name} {base64.b64encode(bytes(raw)).decode()}\n{rest}"


def sample(size: int) -> list[int]:
    """Leaf indexes to prove at `size`: both ends, around each power of two, and a few at random."""
    edges = {0, 1, size // 2, size - 2, size - 1}
    edges |= {i for p in (16, 32, 64, 128, 256) for i in (p - 1, p) if i < size}
    return sorted(edges | set(random.Random(size).sample(range(size), 6)))


def test_inclusion_proofs_verify_with_sigstore_and_pymerkle(outsider):
    proved = 0
    for size in SIZES:
        note, root = outsider.notes[size], outsider.root(size)
        for index in sample(size):
            event_id, event_hash = outsider.events[index]
            proof = outsider.inclusion(event_id, size)
            assert (proof["event"], proof["leaf_index"], proof["tree_size"]) == (event_id, index, size)
            leaf, path = b64(proof["leaf_hash"]), [b64(h) for h in proof["proof"]]
            # The leaf hash: ours, the API's, pymerkle's and sigstore's (inside its verifier) agree.
            assert leaf == merkle_leaf(event_hash.hex()) == outsider.tree.get_leaf(index + 1)

            # sigstore: leaf from the event hash, RFC 9162 proof up to the root, the note's signature and root.
            entry = outsider.rekor_entry(event_hash, proof, note, root)
            verify_merkle_inclusion(entry)
            verify_checkpoint(outsider.keyring(), entry)

            # pymerkle: the same path as its own, and our hashes verify as its proof against the signed root.
            own = outsider.tree.prove_inclusion(index + 1, size)
            assert own.path == [leaf, *path]
            ours = InclusionProof("sha256", True, size, index + 1, own.rule, [leaf, *path])
            verify_inclusion(leaf, root, ours, index=index + 1, size=size)
            proved += 1
    assert proved > 60


def test_sigstore_and_pymerkle_refuse_tampered_inclusion_proofs(outsider):
    size, index = 300, 200
    note, root = outsider.notes[size], outsider.root(size)
    event_id, event_hash = outsider.events[index]
    proof = outsider.inclusion(event_id, size)
    hashes = proof["proof"]
    other = base64.b64encode(hashlib.sha256(b"forged").digest()).decode()
    tampered = {
        "a changed proof hash": (event_hash, {**proof, "proof": [*hashes[:2], other, *hashes[3:]]}, root),
        "a shorter proof": (event_hash, {**proof, "proof": hashes[:-1]}, root),
        "another position": (event_hash, {**proof, "leaf_index": index + 1}, root),
        "another event": (outsider.events[index + 1][1], proof, root),
        "another signed root": (event_hash, proof, outsider.root(255)),
    }
    for what, (body, claimed, claimed_root) in tampered.items():
        with pytest.raises(VerificationError):
            verify_merkle_inclusion(outsider.rekor_entry(body, claimed, note, claimed_root))
            pytest.fail(f"sigstore accepted {what}")
        path = [merkle_leaf(body.hex()), *(b64(h) for h in claimed["proof"])]
        position = claimed["leaf_index"] + 1
        rule = outsider.tree.prove_inclusion(position, size).rule
        with pytest.raises(InvalidProof):
            verify_inclusion(path[0], claimed_root, InclusionProof("sha256", True, size, position, rule, path))
            pytest.fail(f"pymerkle accepted {what}")
    # A true proof and root, but a note whose root is not the proof's: sigstore's checkpoint check refuses.
    entry = outsider.rekor_entry(event_hash, proof, outsider.notes[431], root)
    verify_merkle_inclusion(entry)
    with pytest.raises(VerificationError):
        verify_checkpoint(outsider.keyring(), entry)


def rfc9162_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose roots make up PROOF(m, D[n]), as RFC 9162 section 2.1.4.1 defines
    SUBPROOF (a definition only: the hashes come from pymerkle)."""

    def sub(m: int, lo: int, hi: int, whole: bool) -> list[tuple[int, int]]:
        if m == hi - lo:
            return [] if whole else [(lo, hi)]
        k = 1 << ((hi - lo - 1).bit_length() - 1)  # the largest power of two smaller than hi - lo
        if m <= k:
            return [*sub(m, lo, lo + k, whole), (lo + k, hi)]
        return [*sub(m - k, lo + k, hi, False), (lo, lo + k)]

    return sub(m, 0, n, True) if 0 < m < n else []


def test_signed_checkpoints_are_consistent_by_pymerkle_and_our_proofs_are_its_subtrees(outsider, client):
    entries = [event_hash for _, event_hash in outsider.events]
    subtree: dict[tuple[int, int], bytes] = {}

    def range_root(lo: int, hi: int) -> bytes:
        if (lo, hi) not in subtree:
            subtree[lo, hi] = merkle_tree(entries[lo:hi]).get_root()
        return subtree[lo, hi]

    roots = {size: outsider.root(size) for size in SIZES}
    pairs = [*combinations(SIZES, 2), *((s, s) for s in SIZES), (0, SIZES[-1])]
    for first, second in pairs:
        answer = client.get(f"/api/v1/ledger/proof/consistency?from={first}&to={second}")
        assert answer.status_code == 200, answer.text
        assert (answer.json["from"], answer.json["to"]) == (first, second)
        ours = [b64(h) for h in answer.json["proof"]]
        assert ours == [range_root(lo, hi) for lo, hi in rfc9162_ranges(first, second)], (first, second)
        if first:
            proof = outsider.tree.prove_consistency(first, second)
            verify_consistency(roots[first], roots[second], proof, prior_size=first, later_size=second)
    assert len(subtree) > 30

    # pymerkle refuses roots that are not those two trees' (the two swapped; a history rewritten at leaf 99,
    # of the same sizes); a changed hash in our proof is no longer the subtree's root.
    rewritten = merkle_tree([*entries[:99], hashlib.sha256(b"rewritten").digest(), *entries[100:]])
    for first, second in ((129, 300), (255, 431), (64, 129)):
        proof = outsider.tree.prove_consistency(first, second)
        claims = [(roots[second], roots[first]), (roots[first], rewritten.get_root(second))]
        if first > 99:
            claims.append((rewritten.get_root(first), roots[second]))
        for prior, later in claims:
            with pytest.raises(InvalidProof):
                verify_consistency(prior, later, proof, prior_size=first, later_size=second)
    proof = [b64(h) for h in client.get("/api/v1/ledger/proof/consistency?from=129&to=300").json["proof"]]
    proof[1] = hashlib.sha256(b"forged").digest()
    assert proof != [range_root(lo, hi) for lo, hi in rfc9162_ranges(129, 300)]
