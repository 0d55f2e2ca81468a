"""docs/ledger.md section 8 is enough to check a witness's cosignature: its worked example, recomputed from the
page alone (hashlib and cryptography, as an outsider would), and Jejak's own code agree with it."""

from __future__ import annotations

import base64
import hashlib
import re
import struct
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from webapp.custody import notes
from webapp.custody.witnesses import load_private_key, witness_verifier

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ledger.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## 8. Witnesses") :]
NAME = "bawaslu.example/witness"
EVENT_HASH = "3460b55653c6a526e0eb76433936b0d5003f80440d21d3a51c4a9c7af7ed231d"  # section 3's example
T = 1790000000


def blocks() -> list[str]:
    return re.findall(r"```\n(.*?)```", SECTION, re.S)


def test_the_worked_example_follows_from_the_page_alone():
    private_file, text, line = blocks()[1:4]  # after the message's layout: key file, checkpoint, line
    seed = bytes(range(0x20, 0x40))
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = hashlib.sha256(NAME.encode() + b"\n" + b"\x04" + public).digest()[:4]
    assert private_file.strip() == f"PRIVATE+KEY+{NAME}+{key_id.hex()}+" + base64.b64encode(b"\x04" + seed).decode()
    vkey = f"{NAME}+{key_id.hex()}+" + base64.b64encode(b"\x04" + public).decode()
    assert f"the vkey `{vkey}`" in SECTION
    # The checkpoint of one event: origin, size, and the root (the leaf of section 4), base64.
    leaf = hashlib.sha256(b"\x00" + bytes.fromhex(EVENT_HASH)).digest()
    assert text == f"127.0.0.1:8000/jejak/pemilu\n1\n{base64.b64encode(leaf).decode()}\n"
    # The line: em dash, space, name, space, base64(key ID || T big-endian || signature over the message).
    assert line.startswith(f"\u2014 {NAME} ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2].strip(), validate=True)
    assert blob[:4] == key_id and struct.unpack(">Q", blob[4:12])[0] == T and len(blob) == 76
    message = f"cosignature/v1\ntime {T}\n".encode() + text.encode()
    Ed25519PrivateKey.from_private_bytes(seed).public_key().verify(blob[12:], message)  # raises if it does not
    assert Ed25519PrivateKey.from_private_bytes(seed).sign(message) == blob[12:]  # Ed25519 is deterministic


def test_jejaks_code_makes_the_same_bytes():
    private_file, text, line = blocks()[1:4]
    name, private = load_private_key(private_file)
    assert name == NAME and f"the vkey `{witness_verifier(name, private).vkey}`" in SECTION
    assert notes.cosign(text, name, private, T).line == line
