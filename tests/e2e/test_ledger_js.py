"""The browser's ledger checks (static/js/ledger/verify.js) agree with the server's Python on notes made and
proofs given by the Python side: a phone decides "signed and included" on its own, from the keys and proofs."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page

from webapp.custody.notes import COSIGNATURE_V1, ED25519, Checkpoint, Verifier, cosign, public_bytes, sign
from webapp.custody.proofs import inclusion_path, root

CHECK = """async (data) => {
    const v = await import("/static/js/ledger/verify.js");
    const b = (items) => items.map(v.b64decode);
    const outcome = async (work) => { try { return ["ok", await work()]; } catch (e) { return [e.constructor.name, e.message]; } };
    const log = await v.parseVkey(data.logKey);
    const witness = await v.parseVkey(data.witnessKey);
    const results = {};
    results.note = await outcome(async () => {
        const { checkpoint, witnesses } = await v.openCheckpoint(data.note, log, [witness]);
        return { size: checkpoint.size, origin: checkpoint.origin, witnesses };
    });
    results.tampered = await outcome(() => v.openCheckpoint(data.note.replace("\\n13\\n", "\\n12\\n"), log, [witness]));
    results.unsigned = await outcome(() => v.openCheckpoint(data.witnessOnly, log, [witness]));
    results.badKey = await outcome(() => v.parseVkey(data.logKey.replace(/\\+[0-9a-f]{8}\\+/, "+00000000+")));
    const root = v.b64decode(data.root);
    results.inclusion = [];
    for (const [index, hex, path] of data.proofs) {
        const leaf = await v.leafHash(hex);
        results.inclusion.push((await outcome(() => v.verifyInclusion(leaf, index, data.size, b(path), root)))[0]);
        const wrong = await outcome(() => v.verifyInclusion(leaf, (index + 1) % data.size, data.size, b(path), root));
        results.inclusion.push(wrong[0]);
    }
    return results;
}"""


def test_notes_cosignatures_and_inclusion_proofs_check_in_the_browser(page: Page):
    log_key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"log").digest())
    witness_key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"witness").digest())
    origin, witness_name = "jejak.example/jejak/pemilu", "bawaslu.example/w1"
    event_hashes = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(13)]
    leaves = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in event_hashes]
    head = root(leaves)
    text = Checkpoint(origin, len(leaves), head).text
    cosignature = cosign(text, witness_name, witness_key, 1_700_000_000)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    data = {
        "logKey": Verifier(origin, ED25519, public_bytes(log_key)).vkey,
        "witnessKey": Verifier(witness_name, COSIGNATURE_V1, public_bytes(witness_key)).vkey,
        "note": text + "\n" + sign(text, origin, log_key).line + cosignature.line,
        "witnessOnly": text + "\n" + cosignature.line,
        "root": b64(head),
        "size": len(leaves),
        "proofs": [[i, h, [b64(p) for p in inclusion_path(i, leaves)]] for i, h in enumerate(event_hashes)],
    }
    page.goto("/login")
    results = page.evaluate(CHECK, data)
    assert results["note"] == [
        "ok",
        {"size": 13, "origin": origin, "witnesses": [{"name": witness_name, "time": 1_700_000_000}]},
    ]
    assert results["tampered"][0] == "CheckError"  # a changed size: the log's signature no longer holds
    assert results["unsigned"] == ["CheckError", "not signed by the election commission's log key"]
    assert results["badKey"][0] == "CheckError"
    assert results["inclusion"] == ["ok", "CheckError"] * 13
