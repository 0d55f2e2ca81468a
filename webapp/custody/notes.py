"""Signed notes, checkpoints and witness cosignatures in the C2SP formats, so that tools written for
Certificate Transparency, Go's checksum database and Sigstore read Jejak's checkpoints as they are:

- c2sp.org/signed-note: a text, a blank line, then lines `— <key name> base64(key ID || signature)`;
  a verifier key ("vkey") is `<name>+<key ID hex>+base64(type byte || public key)`.
- c2sp.org/tlog-checkpoint: a note whose text is the origin, the tree size and the base64 root hash.
- c2sp.org/tlog-cosignature (v1, Ed25519): a witness's note signature over
  "cosignature/v1\\ntime <POSIX seconds>\\n" + the checkpoint text, carrying the timestamp.

Pure: no database, no Flask. docs/ledger.md describes the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01  # signed-note signature type: the log's own key
COSIGNATURE_V1 = 0x04  # tlog-cosignature: a witness's timestamped Ed25519 cosignature
DASH = "\u2014 "  # em dash, space: how every signature line starts
MAX_SIGNATURES = 64  # the spec asks at least 16 to be accepted; more than this is refused as malformed
_NAME = re.compile(r"[^\s+\u2014]+")


class NoteError(ValueError):
    """A note, checkpoint or key that is malformed or does not verify; the message says which."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"not base64: {text[:40]!r}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise NoteError(f"a key name must be non-empty, without spaces or '+': {name!r}")
    return name


def key_id(name: str, kind: int, public: bytes) -> bytes:
    """SHA-256(name || "\\n" || type byte || public key)[:4], as signed-note and tlog-cosignature define it."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def public_bytes(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A key a note may be signed with: the log's (type 0x01) or a witness's (type 0x04)."""

    name: str
    kind: int
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.kind, self.public)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.id.hex()}+{_b64(bytes([self.kind]) + self.public)}"

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        """Parse `<name>+<8 hex>+<base64(type || key)>`; the key ID must match the key."""
        name, plus, rest = (text or "").strip().partition("+")
        hex_id, plus2, material = rest.partition("+")
        if not plus or not plus2 or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError("a verifier key is NAME+KEYID+KEY (KEYID: 8 lowercase hex digits)")
        raw = _b64decode(material)
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("a verifier key holds a type byte (0x01 or 0x04) and a 32-byte Ed25519 key")
        verifier = cls(_check_name(name), raw[0], raw[1:])
        if verifier.id.hex() != hex_id:
            raise NoteError(f"the key ID {hex_id} does not belong to that key")
        return verifier


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and what follows the ID (for a cosignature, the
    8-byte timestamp and the signature)."""

    name: str
    id: bytes
    blob: bytes

    @property
    def line(self) -> str:
        return f"{DASH}{self.name} {_b64(self.id + self.blob)}\n"

    @property
    def timestamp(self) -> int | None:
        """A cosignature's time (POSIX seconds); None when the blob is not a timestamped signature."""
        return struct.unpack(">Q", self.blob[:8])[0] if len(self.blob) == 72 else None


@dataclass(frozen=True)
class Checkpoint:
    """The text of a checkpoint note: origin, tree size, root hash (32 bytes), and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is at least three non-empty lines, each ending in a newline")
        origin, size, root = lines[0], lines[1], lines[2]
        if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
            raise NoteError(f"the tree size is not a decimal number: {size[:30]!r}")
        digest = _b64decode(root)
        if len(digest) != 32:
            raise NoteError("the root hash is not 32 bytes")
        return cls(origin, int(size), digest, tuple(lines[3:-1]))


def split_note(note: str) -> tuple[str, list[Signature]]:
    """The note's text (with its final newline) and its signature lines; NoteError when malformed."""
    if not isinstance(note, str) or any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("a note is UTF-8 text without control characters other than newline")
    text, sep, block = note.rpartition("\n\n")
    if not sep or not block.endswith("\n"):
        raise NoteError("a note is its text, a blank line, and signature lines each ending in a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(DASH):
            raise NoteError(f"not a signature line: {line[:40]!r}")
        name, space, encoded = line[len(DASH) :].partition(" ")
        blob = _b64decode(encoded) if space else b""
        if len(blob) < 5:
            raise NoteError(f"a signature line names a key and holds its ID and signature: {line[:40]!r}")
        signatures.append(Signature(_check_name(name), blob[:4], blob[4:]))
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"a note carries 1 to {MAX_SIGNATURES} signatures")
    return text + "\n", signatures


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a witness signs: the header line, the time line, then the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def sign(text: str, name: str, private: Ed25519PrivateKey) -> Signature:
    """The log's Ed25519 note signature over `text` (type 0x01)."""
    return Signature(_check_name(name), key_id(name, ED25519, public_bytes(private)), private.sign(text.encode()))


def cosign(text: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A witness's tlog-cosignature/v1 over a checkpoint's text at `timestamp` (type 0x04)."""
    if not 0 <= timestamp < 2**63:
        raise NoteError("a cosignature's time is 0 to 2^63-1 seconds")
    signature = private.sign(cosigned_message(text, timestamp))
    return Signature(
        _check_name(name), key_id(name, COSIGNATURE_V1, public_bytes(private)), struct.pack(">Q", timestamp) + signature
    )


def verify(text: str, signature: Signature, verifier: Verifier) -> bool:
    """Whether `signature` over `text` is valid for `verifier` (its name and ID must be the verifier's)."""
    if signature.name != verifier.name or signature.id != verifier.id:
        return False
    if verifier.kind == COSIGNATURE_V1:
        if signature.timestamp is None:
            return False
        message, raw = cosigned_message(text, signature.timestamp), signature.blob[8:]
    else:
        message, raw = text.encode(), signature.blob
    try:
        Ed25519PublicKey.from_public_bytes(verifier.public).verify(raw, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def open_note(
    note: str, log: Verifier, witnesses: tuple[Verifier, ...] = ()
) -> tuple[str, list[tuple[Verifier, Signature]]]:
    """Verify a note: the log's signature must be there and valid; a signature of a known witness must be
    valid (a bad one rejects the whole note); unknown signatures are ignored, as the spec asks.
    Returns the text and the witnesses' valid cosignatures."""
    text, signatures = split_note(note)
    known = {(v.name, v.id): v for v in (log, *witnesses)}
    logged, cosigned = False, []
    for signature in signatures:
        verifier = known.get((signature.name, signature.id))
        if verifier is None:
            continue
        if not verify(text, signature, verifier):
            raise NoteError(f"the signature of {signature.name} does not verify")
        if verifier == log:
            logged = True
        else:
            cosigned.append((verifier, signature))
    if not logged:
        raise NoteError(f"the note is not signed by the log's key {log.vkey}")
    return text, cosigned
