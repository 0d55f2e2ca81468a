// Checking the ledger in the browser, from the published keys and the proofs, without trusting the page:
// C2SP signed notes and checkpoints (c2sp.org/signed-note, tlog-checkpoint), witness cosignatures
// (tlog-cosignature v1), and RFC 9162 inclusion proofs (section 2.1.3.2). WebCrypto does the SHA-256
// and the Ed25519; docs/ledger.md describes the same bytes.

const DASH = "\u2014 ";
export const ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;

export class CheckError extends Error {}

export function b64decode(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new CheckError("not base64");
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function b64encode(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const utf8 = (text) => new TextEncoder().encode(text);

// SHA-256(name || "\n" || type || public key)[:4]
export async function keyId(name, kind, publicKey) {
  return (await sha256(concat(utf8(name), Uint8Array.of(0x0a, kind), publicKey))).slice(0, 4);
}

// NAME+KEYID+base64(type || key) -> { name, kind, publicKey, id }
export async function parseVkey(vkey) {
  const parts = vkey.trim().split("+");
  if (parts.length < 3) throw new CheckError("a verifier key is NAME+KEYID+KEY");
  const [name, hexId] = parts;
  const raw = b64decode(parts.slice(2).join("+"));
  if (raw.length !== 33 || ![ED25519, COSIGNATURE_V1].includes(raw[0])) throw new CheckError("not an Ed25519 key");
  const verifier = { name, kind: raw[0], publicKey: raw.slice(1) };
  verifier.id = await keyId(name, verifier.kind, verifier.publicKey);
  if ([...verifier.id].map((b) => b.toString(16).padStart(2, "0")).join("") !== hexId) {
    throw new CheckError("the key ID does not belong to the key");
  }
  return verifier;
}

// A note's text (with its final newline) and its signatures [{ name, id, blob }].
export function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) throw new CheckError("not a signed note");
  const text = note.slice(0, at + 1);
  const signatures = note
    .slice(at + 2, -1)
    .split("\n")
    .map((line) => {
      if (!line.startsWith(DASH)) throw new CheckError("not a signature line");
      const [name, encoded] = line.slice(DASH.length).split(" ");
      const blob = b64decode(encoded || "");
      if (blob.length < 5) throw new CheckError("a signature too short");
      return { name, id: blob.slice(0, 4), blob: blob.slice(4) };
    });
  return { text, signatures };
}

export function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || lines.at(-1) !== "" || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new CheckError("not a checkpoint");
  }
  const root = b64decode(lines[2]);
  if (root.length !== 32) throw new CheckError("the root hash is not 32 bytes");
  return { origin: lines[0], size: Number(lines[1]), root };
}

async function ed25519Verify(publicKey, signature, message) {
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

// Verify a checkpoint note with the log's key, and the cosignatures of the known witnesses.
// Returns { checkpoint, witnesses: [{ name, time }] }; throws CheckError when the log's signature is
// missing or wrong, or a known witness's cosignature is wrong.
export async function openCheckpoint(note, logKey, witnessKeys = []) {
  const { text, signatures } = splitNote(note);
  let logged = false;
  const witnesses = [];
  for (const signature of signatures) {
    const known = [logKey, ...witnessKeys].find((v) => v.name === signature.name && equal(v.id, signature.id));
    if (!known) continue; // an unknown key's signature is ignored (signed-note)
    let ok;
    if (known.kind === COSIGNATURE_V1) {
      if (signature.blob.length !== 72) throw new CheckError(`bad cosignature of ${known.name}`);
      const time = new DataView(signature.blob.buffer, signature.blob.byteOffset, 8).getBigUint64(0);
      const message = utf8(`cosignature/v1\ntime ${time}\n${text}`);
      ok = await ed25519Verify(known.publicKey, signature.blob.slice(8), message);
      if (ok) witnesses.push({ name: known.name, time: Number(time) });
    } else {
      ok = await ed25519Verify(known.publicKey, signature.blob, utf8(text));
      logged = logged || (ok && known === logKey);
    }
    if (!ok) throw new CheckError(`the signature of ${known.name} does not verify`);
  }
  if (!logged) throw new CheckError("not signed by the election commission's log key");
  return { checkpoint: parseCheckpoint(text), witnesses };
}

export async function leafHash(eventHashHex) {
  const raw = Uint8Array.from(eventHashHex.match(/../g), (h) => parseInt(h, 16));
  return sha256(concat(Uint8Array.of(0x00), raw));
}

const node = (left, right) => sha256(concat(Uint8Array.of(0x01), left, right));

// RFC 9162 section 2.1.3.2, step by step.
export async function verifyInclusion(leaf, index, size, path, root) {
  if (!(index >= 0 && index < size)) throw new CheckError("the event is not in that tree");
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new CheckError("the proof is too long");
    if (fn & 1n || fn === sn) {
      r = await node(p, r);
      if (!(fn & 1n)) {
        while (!(fn & 1n) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await node(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new CheckError("the proof is too short");
  if (!equal(r, root)) throw new CheckError("the proof does not lead to the signed root");
}
