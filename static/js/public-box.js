// The public box page checks, on the reader's own phone, that the box's latest record is in the ledger the
// election commission signed: the signed checkpoint (the commission's key), the inclusion proof of the
// record's hash in it (RFC 9162), and which independent witnesses cosigned that checkpoint. It asserts
// nothing the server says without checking it; the words come translated from the page (#ledger-check).
import { CheckError, b64decode, leafHash, openCheckpoint, parseVkey, verifyInclusion } from "./ledger/verify.js";

const box = document.getElementById("ledger-check");

function say(kind, text) {
  const line = box.querySelector(".ledger-result");
  line.textContent = text;
  line.className = `ledger-result verify ${kind}`;
  box.dataset.state = kind;
}

const words = (name, values = {}) =>
  Object.entries(values).reduce((text, [key, value]) => text.replace(`{${key}}`, value), box.dataset[name]);

async function check() {
  const data = box.dataset;
  if (!data.event) return say("pending", words("unlabelled"));
  const logKey = await parseVkey(data.logKey);
  const witnessKeys = await Promise.all(JSON.parse(data.witnessKeys || "[]").map(parseVkey));
  const response = await fetch("/api/v1/ledger/checkpoint", { cache: "no-store" });
  if (response.status === 404) return say("pending", words("pending", { delay: data.maxDelay }));
  if (!response.ok) throw new CheckError(`checkpoint: HTTP ${response.status}`);
  const { checkpoint, witnesses } = await openCheckpoint(await response.text(), logKey, witnessKeys);
  const proofAnswer = await fetch(`/api/v1/ledger/proof/inclusion?event=${data.event}&size=${checkpoint.size}`);
  if (proofAnswer.status === 404) return say("pending", words("pending", { delay: data.maxDelay }));
  if (!proofAnswer.ok) throw new CheckError(`proof: HTTP ${proofAnswer.status}`);
  const proof = await proofAnswer.json();
  await verifyInclusion(
    await leafHash(data.hash),
    proof.leaf_index,
    checkpoint.size,
    proof.proof.map(b64decode),
    checkpoint.root,
  );
  const when = (time) => {
    // In the zone of the box's destination, as every time on the page: 27-11-2026 14:05 WIB.
    const local = new Date((time + Number(data.offset) * 3600) * 1000);
    const two = (n) => String(n).padStart(2, "0");
    const day = `${two(local.getUTCDate())}-${two(local.getUTCMonth() + 1)}-${local.getUTCFullYear()}`;
    return `${day} ${two(local.getUTCHours())}:${two(local.getUTCMinutes())} ${data.zone}`;
  };
  const names = witnesses.map((w) => `${w.name} (${when(w.time)})`).join(", ");
  say("ok", `${words("ok", { size: checkpoint.size })} ${names ? words("witnessed", { names }) : words("alone")}`);
  box.dataset.witnesses = String(witnesses.length);
}

if (box) {
  say("pending", box.dataset.checking);
  check().catch((error) => {
    console.warn("ledger check", error);
    if (error instanceof TypeError) return say("pending", words("offline"));
    say("bad", words("bad", { why: error.message }));
  });
}
