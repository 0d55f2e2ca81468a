// Sending the outbox: in device order, in batches, through POST /api/v1/scans/batch. A scan leaves
// the outbox only when the server has answered it (accepted, duplicate or refused; the scan's id makes
// a resend harmless); a refusal is kept until a person acknowledges it. A network failure or an error
// answer leaves everything in place, counted and explained, for the next try.
import { addRefusal, failed, markSynced, photoSent, sent, settle, waiting, waitingPhotos } from "./store.js";

const BATCH = 200;
let running = null;

export class LoginNeeded extends Error {}

async function sendBatch(records, csrfToken) {
  const response = await fetch("/api/v1/scans/batch", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...(csrfToken ? { "X-CSRFToken": csrfToken } : {}) },
    body: JSON.stringify({ scans: records.map((r) => r.payload) }),
  });
  if (response.status === 401 || response.status === 403 || response.status === 400 && (await isCsrf(response))) {
    throw new LoginNeeded(String(response.status));
  }
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    let body = null;
    try {
      body = await response.json();
      message = body.error ? `${body.error.message} ${JSON.stringify(body.error.details || {})}` : message;
    } catch (_) {
      /* not JSON: keep the status */
    }
    const invalid = invalidScans(body, records);
    if (invalid.length) {
      // A scan the server can never accept (its shape is wrong) would block every scan behind it:
      // it leaves the outbox as a refusal a person must see and acknowledge, never silently.
      for (const [record, problem] of invalid) {
        await addRefusal({ id: record.id, sscc: record.payload.code, message: problem, reason: "invalid", at: record.payload.scanned_at });
      }
      await sent(invalid.map(([record]) => record.id));
    }
    await failed(records.map((r) => r.id), message.slice(0, 300));
    throw new Error(message);
  }
  return (await response.json()).results;
}

function invalidScans(body, records) {
  const problems = body && body.error && body.error.code === "invalid_request" ? body.error.details.problems || [] : [];
  const found = new Map();
  for (const problem of problems) {
    const match = /^scans\.(\d+)(\.|$)/.exec(problem.field || "");
    if (match && records[Number(match[1])]) {
      found.set(records[Number(match[1])], `${problem.field}: ${problem.problem}`);
    }
  }
  return [...found.entries()];
}

async function isCsrf(response) {
  try {
    const body = await response.clone().json();
    return body.error && body.error.code === "csrf_failed";
  } catch (_) {
    return false;
  }
}

// Incident photos go first (the scans name them by their SHA-256); each leaves the phone once kept.
async function sendPhotos(csrfToken) {
  for (const photo of await waitingPhotos()) {
    const response = await fetch("/api/v1/photos", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "image/jpeg", ...(csrfToken ? { "X-CSRFToken": csrfToken } : {}) },
      body: photo.blob,
    });
    if (response.status === 401 || response.status === 403) throw new LoginNeeded(String(response.status));
    if (response.ok) {
      await photoSent(photo.sha256);
    } else if (response.status >= 400 && response.status < 500 && !(await isCsrf(response))) {
      // The server will never take this photo: say so once, keep nothing that would be resent forever.
      const body = await response.json().catch(() => ({}));
      await addRefusal({
        id: `photo-${photo.sha256}`,
        sscc: `foto ${photo.sha256.slice(0, 12)}`,
        message: (body.error && body.error.message) || `HTTP ${response.status}`,
        reason: "invalid",
        at: new Date(photo.created_at).toISOString(),
      });
      await photoSent(photo.sha256);
    }
  }
}

// Send everything waiting; resolves to the server's results (each with its record). One run at a time.
export function flush(csrfToken, onResult, owner = null) {
  if (!running) {
    running = (async () => {
      const answered = [];
      await sendPhotos(csrfToken);
      for (;;) {
        const records = await waiting(BATCH, owner);
        if (!records.length) break;
        let results;
        try {
          results = await sendBatch(records, csrfToken);
        } catch (error) {
          if (error instanceof TypeError) {
            await failed(records.map((r) => r.id), "no network");
          }
          throw error;
        }
        for (let i = 0; i < records.length; i += 1) {
          const result = results[i];
          const record = records[i];
          const refused = result.verdict === "refused" || result.original_verdict === "refused";
          if (refused) {
            await addRefusal({
              id: record.id,
              sscc: result.details && result.details.sscc ? result.details.sscc : record.payload.code,
              message: result.message,
              reason: result.reason,
              at: record.payload.scanned_at,
            });
          }
          answered.push({ record, result });
          if (onResult) onResult(record, result);
        }
        await settle(
          records.map((record, i) => {
            const verdict = results[i].original_verdict || results[i].verdict;
            return [record.id, { verdict, message: verdict === "refused" ? results[i].message : null }];
          }),
        );
        await sent(records.map((r) => r.id));
      }
      // Everything this run tried was answered: the phone is in sync as of now (the status panel's time).
      await markSynced();
      return answered;
    })().finally(() => {
      running = null;
    });
  }
  return running;
}

// --- corrections of one's own accepted scans (API v1 /corrections; they need the network) --------

// The caller's own requests, newest first, or null when the server cannot be asked now.
export async function fetchCorrections() {
  try {
    const response = await fetch("/api/v1/corrections", { credentials: "same-origin" });
    if (!response.ok) return null;
    return (await response.json()).mine;
  } catch (_) {
    return null; // offline: the list as last kept
  }
}

// Ask to correct one's own accepted scan: {status, body}. A network failure throws (a TypeError).
export async function askCorrection(csrfToken, clientId, reason) {
  const response = await fetch("/api/v1/corrections", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...(csrfToken ? { "X-CSRFToken": csrfToken } : {}) },
    body: JSON.stringify({ client_id: clientId, reason }),
  });
  if (response.status === 401 || (response.status === 400 && (await isCsrf(response)))) {
    throw new LoginNeeded(String(response.status));
  }
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    /* not JSON: the status says it */
  }
  return { status: response.status, body };
}
