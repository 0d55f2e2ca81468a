// The phone's own storage (IndexedDB through the `idb` package): the outbox of scans waiting for the
// network, the refusals a person has not acknowledged yet, the offline box cache, and a few settings.
// Nothing here is ever deleted except by a server's answer or a person's acknowledgement.
import { openDB } from "../../vendor/idb/idb.js";

const db = openDB("jejak", 2, {
  upgrade(database, oldVersion) {
    if (oldVersion < 1) {
      const outbox = database.createObjectStore("outbox", { keyPath: "id" });
      outbox.createIndex("seq", "seq", { unique: true });
      database.createObjectStore("refusals", { keyPath: "id" });
      database.createObjectStore("meta");
    }
    if (oldVersion < 2) {
      database.createObjectStore("photos", { keyPath: "sha256" }); // incident photos waiting to upload
    }
  },
});

// Every change to the outbox is announced on the page (the status panel, static/js/scan/status.js, listens).
function changed() {
  if (typeof window !== "undefined") window.dispatchEvent(new Event("jejak:outbox"));
}

export async function getMeta(key) {
  return (await db).get("meta", key);
}

export async function setMeta(key, value) {
  return (await db).put("meta", value, key);
}

// Several settings read, or written, in one transaction (a record kept in parts stays whole).
export async function getMetas(keys) {
  const tx = (await db).transaction("meta");
  const values = await Promise.all(keys.map((key) => tx.store.get(key)));
  await tx.done;
  return values;
}

export async function setMetas(entries) {
  const tx = (await db).transaction("meta", "readwrite");
  await Promise.all(entries.map(([key, value]) => tx.store.put(value, key)));
  await tx.done;
}

// This phone's id, made once and kept.
export async function deviceId() {
  let id = await getMeta("device_id");
  if (!id) {
    id = `phone-${crypto.randomUUID()}`;
    await setMeta("device_id", id);
  }
  return id;
}

// Put a scan in the outbox with the next device sequence number, in one transaction: two scans can
// never share a number, and the order survives restarts.
export async function enqueue(payload, owner = null) {
  const tx = (await db).transaction(["outbox", "meta"], "readwrite");
  const meta = tx.objectStore("meta");
  const seq = (await meta.get("next_seq")) || 1;
  await meta.put(seq + 1, "next_seq");
  const record = {
    id: payload.id,
    seq,
    payload: { ...payload, device_seq: seq },
    owner,
    attempts: 0,
    last_error: null,
    created_at: Date.now(),
  };
  await tx.objectStore("outbox").add(record);
  await tx.done;
  changed();
  return record;
}

// Waiting scans, oldest first (device order); with `owner`, only that person's (a shared phone sends
// each person's scans under their own login).
export async function waiting(limit, owner = null) {
  if (!owner) return (await db).getAllFromIndex("outbox", "seq", null, limit);
  const found = [];
  let cursor = await (await db).transaction("outbox").store.index("seq").openCursor();
  while (cursor && (!limit || found.length < limit)) {
    if (!cursor.value.owner || cursor.value.owner === owner) found.push(cursor.value);
    cursor = await cursor.continue();
  }
  return found;
}

export async function waitingCount() {
  return (await db).count("outbox");
}

export async function sent(ids) {
  const tx = (await db).transaction("outbox", "readwrite");
  await Promise.all(ids.map((id) => tx.store.delete(id)));
  await tx.done;
  changed();
}

export async function failed(ids, error) {
  const tx = (await db).transaction("outbox", "readwrite");
  for (const id of ids) {
    const record = await tx.store.get(id);
    if (record) {
      record.attempts += 1;
      record.last_error = error;
      await tx.store.put(record);
    }
  }
  await tx.done;
  changed();
}

// When this phone was last in sync: a flush that ended with everything it tried answered by the server.
export async function lastSync() {
  return (await getMeta("last_sync")) || null;
}

export async function markSynced(at = Date.now()) {
  await setMeta("last_sync", at);
  changed();
}

// The latest scans made on this phone (newest first, at most RECENT), kept across a reload so that the
// scanner's "Latest scans" can list them again, each marked waiting or sent by whether it is still in
// the outbox, with whose scan it was (`owner`), its action and, once answered, the server's verdict.
const RECENT = 20;

export async function remember(entry) {
  // One transaction: a scan remembered while an answer is being kept loses neither.
  const tx = (await db).transaction("meta", "readwrite");
  const list = [entry, ...((await tx.store.get("recent")) || [])].slice(0, RECENT);
  await tx.store.put(list, "recent");
  await tx.done;
  return list;
}

export async function recent() {
  return (await getMeta("recent")) || [];
}

// The server's answers to this phone's scans, by scan id, the latest ANSWERS: {verdict: accepted, refused
// or duplicate, message: the refusal in words}. Only a scan the server accepted is in the ledger, and only
// that one may be corrected.
const ANSWERS = 200;

export async function settle(answers) {
  if (!answers.length) return;
  const tx = (await db).transaction("meta", "readwrite");
  const kept = (await tx.store.get("verdicts")) || {};
  for (const [id, answer] of answers) kept[id] = answer;
  const ids = Object.keys(kept); // in the order they were answered
  for (const id of ids.slice(0, Math.max(0, ids.length - ANSWERS))) delete kept[id];
  await tx.store.put(kept, "verdicts");
  await tx.done;
}

export async function verdicts() {
  return (await getMeta("verdicts")) || {};
}

// The person's own correction requests as the server last listed them (GET /api/v1/corrections), by the
// corrected scan's id, kept for an offline start.
export async function keepCorrections(owner, requests) {
  const byScan = {};
  for (const request of requests) {
    if (!byScan[request.client_id]) byScan[request.client_id] = request; // newest first: the latest request
  }
  await setMeta(`corrections:${owner}`, byScan);
  return byScan;
}

export async function corrections(owner) {
  return (owner && (await getMeta(`corrections:${owner}`))) || {};
}

export async function waitingIds() {
  return new Set(await (await db).getAllKeys("outbox"));
}

export async function addRefusal(refusal) {
  return (await db).put("refusals", refusal);
}

export async function refusals() {
  return (await db).getAll("refusals");
}

export async function acknowledge(id) {
  return (await db).delete("refusals", id);
}

export async function keepPhoto(sha256, blob) {
  return (await db).put("photos", { sha256, blob, created_at: Date.now() });
}

export async function waitingPhotos() {
  return (await db).getAll("photos");
}

export async function photoSent(sha256) {
  return (await db).delete("photos", sha256);
}
