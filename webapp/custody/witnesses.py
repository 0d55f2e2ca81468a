"""Witnesses: observer organisations (Bawaslu, a university, a civil society group) that each keep the last
checkpoint they saw, check that every newer one extends it, and cosign it (c2sp.org/tlog-cosignature).
A server that showed two histories to two observers, or rewrote what a checkpoint covered, would have to
get a witness to cosign both: the witness refuses, and keeps the two signed notes that prove it.

Two halves:

- the witness's side, pure: `witness_step` decides, from the checkpoint it cosigned last and the newest one
  the log offers, whether to cosign (webapp/custody/witness_cli.py does the HTTP around it);
- the server's side: registered witness keys, storing a posted cosignature after checking it
  (`store_cosignature`), and the stored lines served after each checkpoint's note (`cosignature_lines`).

docs/ledger.md ("Witnesses") describes the formats and the protocol.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.custody import notes
from webapp.custody.models import LedgerCheckpoint, LedgerCosignature, LedgerWitness
from webapp.custody.notes import COSIGNATURE_V1, Checkpoint, NoteError, Signature, Verifier
from webapp.custody.proofs import ProofError, verify_consistency

PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"  # the signed-note private key form of Go's sumdb/note
MAX_CLOCK_SKEW = 600  # seconds: a cosignature dated further in the future than this is refused
MAX_NOTE_BYTES = (
    16 * 1024
)  # a checkpoint note with a few signatures is well under 1 KB (the API documents 4,096 characters)


class WitnessError(Exception):
    """The witness could not do its work (a key or state file, the network, the log's answer): nothing was
    cosigned, and nothing is proven against the log."""


class WitnessRefused(WitnessError):
    """The log offered a checkpoint the witness must not cosign; `reason` says why in one or two words."""

    ROLLBACK = "rollback"
    SPLIT_VIEW = "split view"
    INCONSISTENT = "inconsistent"
    BAD_SIGNATURE = "bad log signature"
    WRONG_ORIGIN = "wrong origin"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


# --- witness keys ------------------------------------------------------------------------------------


def private_key_text(name: str, private: Ed25519PrivateKey) -> str:
    """A witness's private key as `PRIVATE+KEY+NAME+KEYID+base64(0x04 || 32-byte seed)`, the form Go's
    sumdb/note gives signer keys, with the cosignature type byte."""
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    verifier = witness_verifier(name, private)
    material = base64.b64encode(bytes([COSIGNATURE_V1]) + seed).decode()
    return f"{PRIVATE_KEY_PREFIX}{name}+{verifier.id.hex()}+{material}"


def load_private_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """The witness's name and key from `private_key_text`'s form; WitnessError when it is not one."""
    body = (text or "").strip()
    if not body.startswith(PRIVATE_KEY_PREFIX):
        raise WitnessError(f"a witness key starts with {PRIVATE_KEY_PREFIX} (made by `flask ledger witness-keygen`)")
    name, _, rest = body[len(PRIVATE_KEY_PREFIX) :].partition("+")
    hex_id, _, material = rest.partition("+")
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        raise WitnessError("the witness key is not base64") from None
    if len(raw) != 33 or raw[0] != COSIGNATURE_V1:
        raise WitnessError("the witness key holds the type byte 0x04 and a 32-byte Ed25519 seed")
    private = Ed25519PrivateKey.from_private_bytes(raw[1:])
    try:
        verifier = witness_verifier(name, private)
    except NoteError as exc:
        raise WitnessError(f"the witness key's name: {exc}") from None
    if verifier.id.hex() != hex_id:
        raise WitnessError(f"the key ID {hex_id[:8]!r} does not belong to that witness key")
    return name, private


def witness_verifier(name: str, private: Ed25519PrivateKey) -> Verifier:
    """The public half, to register on the server (its `.vkey`); NoteError for a name a note cannot carry
    (empty, with a space or a '+')."""
    return Verifier.from_vkey(Verifier(name, COSIGNATURE_V1, notes.public_bytes(private)).vkey)


def new_witness_key(name: str) -> tuple[str, str]:
    """A fresh witness key: (private key text, vkey)."""
    private = Ed25519PrivateKey.generate()
    return private_key_text(name, private), witness_verifier(name, private).vkey


# --- the witness's decision --------------------------------------------------------------------------


def _log_signature(note: str, log: Verifier) -> Signature:
    return next(s for s in notes.split_note(note)[1] if (s.name, s.id) == (log.name, log.id))


def _opened(note: str, verifiers: Sequence[Verifier]) -> tuple[Checkpoint, str]:
    """The checkpoint of a note signed by one of `verifiers`, and that key's signature line; NoteError."""
    problem = None
    for verifier in verifiers:
        try:
            text, _ = notes.open_note(note, verifier)
        except NoteError as exc:
            problem = exc
            continue
        return Checkpoint.parse(text), _log_signature(note, verifier).line
    raise problem or NoteError("no log key to check the note with")


def witness_step(
    state_note: str | None,
    new_note: str,
    log_verifier: Verifier,
    fetch_consistency: Callable[[int, int], list[bytes]],
    witness_key: Ed25519PrivateKey,
    witness_name: str,
    now: int,
    *,
    state_verifiers: Sequence[Verifier] = (),
) -> tuple[str, str]:
    """Cosign `new_note` if it extends the checkpoint this witness cosigned last (`state_note`, None on the
    first run), or raise WitnessRefused:

    - bad log signature: the note is malformed or not signed by the log's key;
    - wrong origin: the checkpoint names another log than the key's (the origin is the key's name);
    - rollback: a smaller tree than the one cosigned before;
    - split view: the same size with another root hash (two histories of one size);
    - inconsistent: a larger tree whose consistency proof (RFC 9162, from `fetch_consistency(old, new)`)
      does not show the older tree as its prefix: the history cosigned before was rewritten.

    The same checkpoint again is cosigned again at `now` (a fresher cosignature). Returns the cosignature line
    and the new state: the checkpoint's text, the log's signature line and that cosignature line, which is
    also the note to post back to the log. The state is checked with the log's key (or `state_verifiers`:
    its keys before a rotation); a state that does not verify is a WitnessError, never a first run.
    A network failure in `fetch_consistency` propagates as it is (nothing was decided)."""
    try:
        checkpoint, log_line = _opened(new_note, (log_verifier,))
    except NoteError as exc:
        raise WitnessRefused(WitnessRefused.BAD_SIGNATURE, f"the log's checkpoint does not verify: {exc}") from None
    if checkpoint.origin != log_verifier.name:
        raise WitnessRefused(
            WitnessRefused.WRONG_ORIGIN,
            f"the checkpoint names the log {checkpoint.origin!r}, the log's key is {log_verifier.name!r}",
        )
    if state_note is not None:
        try:
            old, _ = _opened(state_note, (log_verifier, *state_verifiers))
        except NoteError as exc:
            raise WitnessError(
                f"the saved checkpoint does not verify with the log's key ({exc}): the state file was changed, "
                "or the log's key changed (give its previous key with --previous-log-key)"
            ) from None
        if old.origin != checkpoint.origin:
            raise WitnessError(f"the saved checkpoint is of another log ({old.origin!r}), not {checkpoint.origin!r}")
        _check_extends(old, checkpoint, fetch_consistency)
    signature = notes.cosign(checkpoint.text, witness_name, witness_key, now)
    return signature.line, checkpoint.text + "\n" + log_line + signature.line


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _check_extends(old: Checkpoint, new: Checkpoint, fetch_consistency: Callable[[int, int], list[bytes]]) -> None:
    if new.size < old.size:
        raise WitnessRefused(
            WitnessRefused.ROLLBACK,
            f"the log offers a tree of {new.size} events; this witness already cosigned one of {old.size}",
        )
    if new.size == old.size:
        if new.root != old.root:
            raise WitnessRefused(
                WitnessRefused.SPLIT_VIEW,
                f"two different trees of {new.size} events: root {_b64(new.root)} now, {_b64(old.root)} cosigned "
                "before. The log shows different histories to different observers",
            )
        return
    proof = fetch_consistency(old.size, new.size) if old.size else []
    try:
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except ProofError as exc:
        raise WitnessRefused(
            WitnessRefused.INCONSISTENT,
            f"the tree of {new.size} events does not extend the tree of {old.size} (root {_b64(old.root)}) this "
            f"witness cosigned: {exc}. What that checkpoint covered was rewritten",
        ) from None


# --- the server's side: registered witnesses and their cosignatures ----------------------------------


def register_witness(session: Session, name: str, vkey: str, organisation: str, now: datetime) -> LedgerWitness:
    """Register a witness key (type 0x04) under its name; WitnessError when malformed or already known."""
    try:
        verifier = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise WitnessError(f"not a witness key: {exc}") from None
    if verifier.kind != COSIGNATURE_V1:
        raise WitnessError("that is a log key (type 0x01); a witness key has the type 0x04 (tlog-cosignature)")
    if verifier.name != name:
        raise WitnessError(f"the key is named {verifier.name!r}, not {name!r}")
    organisation = " ".join((organisation or "").split())
    if not organisation or len(organisation) > 200 or len(verifier.vkey) > 300:
        raise WitnessError("give the organisation that runs the witness (at most 200 characters)")
    if session.scalar(select(LedgerWitness.id).where(LedgerWitness.name == name)) is not None:
        raise WitnessError(f"a witness named {name!r} is already registered; a new key needs a new name")
    if session.scalar(select(LedgerWitness.id).where(LedgerWitness.vkey == verifier.vkey)) is not None:
        raise WitnessError("that key is already registered")
    witness = LedgerWitness(
        name=name, vkey=verifier.vkey, key_id=verifier.id.hex(), organisation=organisation, active=True, added_at=now
    )
    session.add(witness)
    session.flush()
    return witness


def retire_witness(session: Session, name: str, now: datetime) -> LedgerWitness:
    """Stop accepting and serving a witness's cosignatures (its rows stay)."""
    witness = session.scalar(select(LedgerWitness).where(LedgerWitness.name == name))
    if witness is None:
        raise WitnessError(f"no witness named {name!r}")
    if witness.active:
        witness.active, witness.retired_at = False, now
        session.flush()
    return witness


def active_witnesses(session: Session) -> list[tuple[LedgerWitness, Verifier]]:
    """The registered witnesses whose cosignatures count, with their keys."""
    rows = session.scalars(select(LedgerWitness).where(LedgerWitness.active).order_by(LedgerWitness.name))
    return [(w, Verifier.from_vkey(w.vkey)) for w in rows]


def find_checkpoint_by_text(session: Session, text: str) -> LedgerCheckpoint | None:
    """The stored checkpoint whose note's text is `text`, byte for byte.

    Reads LedgerCheckpoint.event_count (its tree size) and .note (the signed note: text, blank line,
    signatures); checkpoints made before notes have none and never match."""
    try:
        size = Checkpoint.parse(text).size
    except NoteError:
        return None
    found = select(LedgerCheckpoint).where(LedgerCheckpoint.event_count == size, LedgerCheckpoint.note.is_not(None))
    for checkpoint in session.scalars(found):
        if checkpoint.note and notes.split_note(checkpoint.note)[0] == text:
            return checkpoint
    return None


class CosignatureRefused(Exception):
    """A posted cosignature the server does not keep; `code` names why (the API maps it to a status)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Stored:
    cosignature: LedgerCosignature
    size: int
    created: bool  # False: this witness's cosignature of that checkpoint was already kept


def store_cosignature(session: Session, note: str, now: datetime) -> Stored:
    """Keep the cosignature a registered, active witness posted with a checkpoint's note, after checking it.

    The note is the checkpoint's text followed by signature lines; exactly one of them must be a registered
    active witness's (other lines, the log's own included, are ignored). Refusals (CosignatureRefused.code):
    invalid_note, unknown_witness (no line of an active witness), several_witnesses, bad_signature,
    clock_skew (dated more than MAX_CLOCK_SKEW s ahead), unknown_checkpoint. The first cosignature of a
    witness for a checkpoint is kept; posting again answers with it (`created` False)."""
    try:
        text, signatures = notes.split_note(note)
        checkpoint_text = Checkpoint.parse(text)
    except NoteError as exc:
        raise CosignatureRefused("invalid_note", str(exc)) from None
    witnesses = {(v.name, v.id): (w, v) for w, v in active_witnesses(session)}
    theirs = [(s, *witnesses[(s.name, s.id)]) for s in signatures if (s.name, s.id) in witnesses]
    if not theirs:
        raise CosignatureRefused("unknown_witness")
    if len(theirs) > 1:
        raise CosignatureRefused("several_witnesses")
    signature, witness, verifier = theirs[0]
    if not notes.verify(text, signature, verifier):
        raise CosignatureRefused("bad_signature", witness.name)
    if signature.timestamp > now.timestamp() + MAX_CLOCK_SKEW:
        raise CosignatureRefused("clock_skew", str(signature.timestamp))
    checkpoint = find_checkpoint_by_text(session, text)
    if checkpoint is None:
        raise CosignatureRefused("unknown_checkpoint", str(checkpoint_text.size))
    found = _stored(session, witness, checkpoint)
    if found is not None:
        return Stored(found, checkpoint_text.size, False)
    row = LedgerCosignature(
        witness=witness, checkpoint=checkpoint, timestamp=signature.timestamp, line=signature.line, received_at=now
    )
    try:
        with session.begin_nested():  # two posts of the same cosignature at once: the second finds the first
            session.add(row)
            session.flush()
    except IntegrityError:
        return Stored(_stored(session, witness, checkpoint), checkpoint_text.size, False)
    return Stored(row, checkpoint_text.size, True)


def _stored(session: Session, witness: LedgerWitness, checkpoint: LedgerCheckpoint) -> LedgerCosignature | None:
    return session.scalar(
        select(LedgerCosignature).where(
            LedgerCosignature.witness_id == witness.id, LedgerCosignature.checkpoint_id == checkpoint.id
        )
    )


def checkpoint_cosignatures(session: Session, checkpoint: LedgerCheckpoint) -> list[LedgerCosignature]:
    """The kept cosignatures of active witnesses for a checkpoint, earliest first (their `.witness` for the
    name and organisation): what the public page shows as "cosigned by ... at ...". At most
    notes.MAX_SIGNATURES - 1, so that the note with the log's own signature stays readable."""
    return list(
        session.scalars(
            select(LedgerCosignature)
            .join(LedgerWitness, LedgerCosignature.witness_id == LedgerWitness.id)
            .where(LedgerCosignature.checkpoint_id == checkpoint.id, LedgerWitness.active)
            .order_by(LedgerCosignature.timestamp, LedgerWitness.name)
            .limit(notes.MAX_SIGNATURES - 1)
        )
    )


def cosignature_lines(session: Session, checkpoint: LedgerCheckpoint) -> list[str]:
    """The signature lines to serve after the log's own in the checkpoint's note, each ending in a newline:
    `note + "".join(cosignature_lines(...))` is the cosigned note."""
    return [c.line for c in checkpoint_cosignatures(session, checkpoint)]
