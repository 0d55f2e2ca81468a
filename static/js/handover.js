// The digital BAST on the phone. The sender picks whom they hand over to (filled in from their role and
// scope: nobody types a site code), opens the handover (online), scans each box out (dispatch scans carrying
// the handover's token, through the same offline outbox as the scanner) and shows a QR code listing them.
// The receiver reads that QR with the camera (or a wedge scanner), scans each box in (receive scans with the
// token and the seals seen), collects the signatures, and closes: the server numbers the BAST and draws its PDF.
//
// One truth: the lists, counts and QR are the server's (GET /api/v1/handovers/TOKEN, the same data the BAST
// page and PDF are drawn from). A scan the server has not answered yet is shown apart, marked as judged by
// this phone; a server refusal replaces the phone's verdict as soon as it arrives and stays until a person
// presses OK. A handover cannot be closed while any of its scans waits in the outbox or a refusal is unread.
import { CodeError, parseCode } from "./codes.js";
import { registerServiceWorker } from "./pwa.js";
import { cameraControls } from "./scan/camera.js";
import { mountSyncStatus } from "./scan/status.js";
import { applyLocally, judge } from "./scan/judge.js";
import { fetchCache, fetchMe, record, refreshCache } from "./scan/session.js";
import { signaturePad } from "./scan/signature.js";
import * as store from "./scan/store.js";
import { LoginNeeded, flush } from "./scan/sync.js";
import { codeArrived, setupVerdict, showCacheAge, showNetwork, showSource, showVerdict, t } from "./scan/ui.js";
import qrcode from "../vendor/qrcode-generator/qrcode.mjs";

const $ = (id) => document.getElementById(id);
// JEJAK-BAST:<token>:<sender's site>:<SSCCs> (the site tells a courier receiving where they stand, offline too).
const PAYLOAD = /^JEJAK-BAST:([0-9a-f-]{36}):(?:([A-Z][A-Z0-9-]*):)?([0-9,]*)$/;
const QR_MAX_BOXES = 100;
const REFRESH_MS = 4000;
const state = {
  me: null,
  csrf: null,
  cache: null,
  handover: null,
  parties: null,
  shown: null, // the outbox id of the scan whose verdict is on screen
  unacked: new Set(), // refusals not yet acknowledged (their outbox ids)
  sending: null, // the send under way (a promise)
  again: false,
};

// The box list brought up to date in the background (scan/session.js fetchCache): used if the handover is
// still at that site; until it arrives, a scan is judged from the phone's stored copy.
const freshCache = (site) => (cache) => {
  if (cache && state.handover && state.handover.site === site) useCache(cache);
};

function useCache(cache) {
  state.cache = cache;
  if (cache) cache.warm(); // indexed before the first box comes, not on its scan
  showCacheAges();
}

// Under each scan field: how old the box list is that this phone judges from.
function showCacheAges() {
  for (const line of document.querySelectorAll(".cache-age")) {
    line.hidden = !state.handover;
    showCacheAge(line, state.cache);
  }
}
setInterval(showCacheAges, 60_000);

async function api(path, body) {
  const response = await fetch(path, {
    method: body ? "POST" : "GET",
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json", "X-CSRFToken": state.csrf || "" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || `HTTP ${response.status}`);
  return data;
}

const owner = () => state.me && state.me.username;

async function save() {
  await store.setMeta("handover", state.handover);
}

function parse(raw) {
  try {
    return { sscc: parseCode(raw) };
  } catch (error) {
    const key = error instanceof CodeError && error.kind === "check_digit" ? "check_digit" : "malformed";
    showVerdict("refused", t(key));
    return {};
  }
}

// --- what the server says, and what still waits for it ----------------------------------------

const SENT = new Set(["received", "missing"]);
const TAKEN = new Set(["received", "unexpected"]);

function serverItems(h) {
  return (h.server && h.server.items) || [];
}

function pendingScans(h) {
  return Object.entries(h.scans).filter(([, scan]) => scan.status === "pending");
}

// Already counted at this handover (by the server, or waiting for it): a second scan records nothing.
function counted(h, action, sscc) {
  const done = action === "dispatch" ? SENT : TAKEN;
  return (
    serverItems(h).some((item) => item.sscc === sscc && done.has(item.outcome)) ||
    pendingScans(h).some(([, scan]) => scan.sscc === sscc && scan.action === action)
  );
}

// The boxes the sender handed over: the server's list, or offline the QR's.
function expectedList(h) {
  const sent = serverItems(h).filter((item) => SENT.has(item.outcome)).map((item) => item.sscc);
  return sent.length ? sent : h.expected || [];
}

async function scanBox(raw, action) {
  codeArrived(performance.now());
  const { sscc } = parse(raw);
  if (!sscc) return;
  const h = state.handover;
  if (counted(h, action, sscc)) {
    showVerdict("warning", t("duplicate_session"), sscc, action);
    return;
  }
  const scan = { sscc, action, site: h.site, to: h.to, role: state.me && state.me.role };
  const outcome = judge(state.cache, scan, t);
  let text = outcome.reason === "ok_for" && !outcome.vars.where ? t("ok") : t(outcome.reason, outcome.vars);
  let verdict = outcome.verdict;
  const expected = expectedList(h);
  const unexpected = action === "receive" && verdict === "accepted" && expected.length > 0 && !expected.includes(sscc);
  if (unexpected) {
    verdict = "warning";
    text = t("not_expected");
  }
  const seals = action === "receive" ? $("r-seals").value.split(",").map((s) => s.trim()).filter(Boolean) : [];
  const witness = action === "receive" ? $("r-witness").value.trim() : "";
  let stored;
  try {
    stored = await record(
      {
        code: sscc,
        action,
        site: h.site,
        handover: h.token,
        ...(action === "dispatch" ? { to: h.to } : {}),
        ...(seals.length ? { seals } : {}),
        ...(witness ? { witness } : {}),
      },
      owner(),
    );
  } catch (error) {
    console.error("outbox", error);
    showVerdict("refused", t("not_saved"), sscc, action);
    return;
  }
  h.scans[stored.id] = { sscc, action, verdict, text, status: "pending", unexpected };
  state.shown = stored.id;
  showVerdict(verdict, text, sscc, action);
  showSource(navigator.onLine ? t("source_waiting") : t("source_offline"));
  if (verdict !== "refused") applyLocally(outcome.box, scan);
  $("r-seals").value = "";
  $("r-witness").value = "";
  await save();
  render();
  send();
}

// Send the outbox, take the server's verdicts over the phone's, then read the handover back. A call made
// while a run is under way makes it go round once more and waits for that run: what the caller reads
// afterwards (the QR's list) includes its scans as the server holds them.
function send() {
  if (!navigator.onLine) return Promise.resolve();
  if (state.sending) {
    state.again = true; // a scan made while sending goes out straight after
    return state.sending;
  }
  state.sending = sendRounds(); // it always waits before it ends, so this is set before it is cleared
  return state.sending;
}

async function sendRounds() {
  try {
    // A scan made while this runs (flushing or reading back) sets `again`: go round once more for it.
    do {
      state.again = false;
      if (!state.csrf) state.csrf = (await fetchMe()).csrf;
      await answered(await flush(state.csrf, null, owner()));
      if (!state.again) await refresh();
    } while (state.again && navigator.onLine);
  } catch (error) {
    if (error instanceof LoginNeeded) $("login-needed").hidden = false;
    console.warn("outbox", error);
  } finally {
    state.sending = null; // in the step that ends the last round: a later call starts a new run
  }
}

async function answered(results) {
  const h = state.handover;
  if (!h) return;
  for (const { record: sent, result } of results) {
    const mine = h.scans[sent.id];
    if (!mine) continue;
    const refused = result.verdict === "refused" || result.original_verdict === "refused";
    mine.status = refused ? "refused" : "answered";
    mine.message = result.message;
    if (refused) {
      state.unacked.add(sent.id);
      state.shown = sent.id;
      showVerdict("refused", result.message, mine.sscc, mine.action); // with sound and vibration
      showSource(t("source_server"));
    } else if (state.shown === sent.id && !$("verdict").hidden) {
      // The server knows the sender's whole list (the phone's copy may be older, or empty when it was read
      // before the sender's first scan): a box not on it is taken with the warning `not_on_handover`, and
      // the BAST lists it as unexpected. The screen says what the server says, in the phone's words for it.
      const warnings = result.warnings || [];
      mine.unexpected = warnings.some((w) => w.code === "not_on_handover");
      const text = mine.unexpected && warnings.length === 1 ? t("not_expected") : result.message;
      showVerdict(warnings.length ? "warning" : "accepted", text, mine.sscc, mine.action);
      showSource(t("source_server"));
    }
  }
  await save();
  render();
}

async function refresh() {
  const h = state.handover;
  if (!h || !navigator.onLine) return;
  try {
    h.server = await api(`/api/v1/handovers/${h.token}`);
    h.readAt = new Date().toISOString();
    if (h.server.number) h.number = h.server.number;
    await save();
  } catch (error) {
    console.warn("handover", error);
  }
  await update();
}

async function update() {
  state.unacked = new Set((await store.refusals()).map((refusal) => refusal.id));
  render();
}

// --- what the screen shows ---------------------------------------------------------------------

function row(item, h, pending) {
  const li = document.createElement("li");
  li.dataset.sscc = item.sscc;
  li.dataset.outcome = item.outcome;
  const closed = h.server && h.server.status === "closed";
  const words = {
    received: t("received"),
    missing: closed ? t("missing") : t("waiting"),
    unexpected: t("unexpected"),
    refused: t("refused_row"),
  };
  li.className = item.outcome === "missing" && !closed ? "waiting" : item.outcome;
  const parts = [item.sscc, words[item.outcome]];
  if (item.witness) {
    li.className = "warning";
    parts.push(t("witnessed", { name: item.witness }));
  }
  if (item.message) parts.push(item.message);
  if (pending) {
    li.classList.add("provisional");
    parts.push(`${t(pending.verdict)}: ${t("provisional_row")}`);
  }
  li.append(document.createTextNode(parts.join(" · ")));
  const unread = Object.entries(h.scans).find(
    ([id, scan]) => scan.sscc === item.sscc && scan.status === "refused" && state.unacked.has(id),
  );
  if (unread) {
    const button = Object.assign(document.createElement("button"), {
      type: "button",
      className: "button secondary ack",
      textContent: t("acknowledge"),
    });
    button.addEventListener("click", () => acknowledge(unread[0]));
    li.append(" ", button);
  }
  return li;
}

function render() {
  const h = state.handover;
  if (!h) return;
  $("new-handover").hidden = false;
  $("lists").hidden = false;
  $("camera-card").hidden = Boolean(h.number);
  const items = serverItems(h);
  const pending = new Map(pendingScans(h).map(([, scan]) => [scan.sscc, scan]));
  const listed = new Set(items.map((item) => item.sscc));
  const expected = items.filter((item) => SENT.has(item.outcome));
  const unexpected = items.filter((item) => item.outcome === "unexpected");
  for (const sscc of h.expected || []) if (!listed.has(sscc)) expected.push({ sscc, outcome: "missing" });
  for (const [sscc, scan] of pending) {
    if (listed.has(sscc) || (h.expected || []).includes(sscc)) continue;
    (scan.action === "dispatch" ? expected : unexpected).push({ sscc, outcome: scan.action === "dispatch" ? "missing" : "unexpected" });
  }
  const draw = (name, list) => {
    $(`${name}-list`).replaceChildren(...list.map((item) => row(item, h, pending.get(item.sscc))));
    $(`${name}-part`).hidden = list.length === 0;
  };
  draw("expected", expected);
  draw("unexpected", unexpected);
  draw("refused", items.filter((item) => item.outcome === "refused"));
  const counts = (h.server && h.server.counts) || { received: 0, missing: 0, unexpected: 0, refused: 0 };
  const closed = h.server && h.server.status === "closed";
  $("counts").textContent = t(closed ? "counts" : "counts_open", {
    r: counts.received,
    m: counts.missing,
    u: counts.unexpected,
    x: counts.refused || 0,
  });
  Object.assign($("counts").dataset, {
    received: counts.received,
    missing: counts.missing,
    unexpected: counts.unexpected,
    refused: counts.refused || 0,
  });
  $("provisional").hidden = pending.size === 0;
  $("provisional").textContent = t("provisional_count", { n: pending.size });
  $("synced").textContent = h.readAt ? t("synced_at", { time: new Date(h.readAt).toLocaleTimeString() }) : "";
  if (h.role === "sender") renderSender(h, counts);
  else renderReceiver(h, expected.length);
  if (h.number) showClosed(h.number);
}

function renderSender(h, counts) {
  $("sender").hidden = false;
  $("start-form").hidden = true;
  $("sending").hidden = false;
  $("s-scan-form").hidden = Boolean(h.number);
  $("s-title").textContent = t("sending_title", { to: h.toText || h.to });
  $("s-count").textContent = String(counts.received + counts.missing);
  if (!$("qr-box").hidden) drawQr(h);
}

function renderReceiver(h, expectedCount) {
  $("receiver").hidden = false;
  $("load-form").hidden = true;
  $("receiving").hidden = false;
  $("r-scan-form").hidden = Boolean(h.number);
  $("signing").hidden = Boolean(h.number);
  $("r-title").textContent = t("receiving_title", { n: expectedCount, sender: h.sender || "" });
  $("r-where").textContent = h.where || h.site || "";
}

function showClosed(number) {
  $("closed-text").textContent = t("closed", { number });
  $("bast-pdf").href = `/bast/${number}.pdf`;
  $("bast-page").href = `/bast/${number}`;
  $("closed").hidden = false;
  $("closed").dataset.number = number;
}

async function acknowledge(id) {
  await store.acknowledge(id);
  await update();
}

// --- the sender ---------------------------------------------------------------------------------

$("as-sender").addEventListener("click", async () => {
  $("choose").hidden = true;
  $("sender").hidden = false;
  try {
    state.parties = await api("/api/v1/handovers/parties");
  } catch (_) {
    showVerdict("refused", t("needs_network"));
    return;
  }
  const { from, to } = state.parties;
  $("s-from").textContent = from ? from.text : "";
  $("s-to").replaceChildren(...to.map((choice) => new Option(choice.text, choice.value)));
  $("s-none").hidden = to.length > 0;
  $("s-to").focus();
});

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const parties = state.parties;
  const to = $("s-to").value;
  if (!parties || !parties.from || !to) return;
  const courier = parties.from.kind === "courier";
  const site = courier ? to : parties.from.code; // a courier hands over where they stand: the receiving site
  const token = crypto.randomUUID();
  try {
    await api("/api/v1/handovers", courier ? { token, to } : { token, site, to });
  } catch (error) {
    showVerdict("refused", navigator.onLine ? error.message : t("needs_network"));
    return;
  }
  const toText = $("s-to").selectedOptions[0].textContent;
  state.handover = { role: "sender", token, site, to, toText, expected: [], scans: {}, server: null };
  useCache(await fetchCache(site, freshCache(site)));
  await save();
  await refresh();
  $("s-code").focus();
});

$("s-scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const raw = $("s-code").value;
  $("s-code").value = "";
  if (raw.trim()) scanBox(raw, "dispatch");
});

function drawQr(h) {
  const listed = expectedList(h);
  const waiting = pendingScans(h)
    .filter(([, scan]) => scan.action === "dispatch" && !listed.includes(scan.sscc))
    .map(([, scan]) => scan.sscc);
  const boxes = [...listed, ...waiting];
  // A QR code holds about 110 SSCCs; past that it carries the token only, and the receiver's phone
  // fetches the list from the server (so a handover that large needs the network at the receiving end).
  const payload = `JEJAK-BAST:${h.token}:${h.site}:${boxes.length <= QR_MAX_BOXES ? boxes.join(",") : ""}`;
  if ($("qr").dataset.payload === payload) return;
  const qr = qrcode(0, "M");
  qr.addData(payload);
  qr.make();
  $("qr").innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  $("qr").dataset.payload = payload;
  $("qr-provisional").hidden = waiting.length === 0;
  $("qr-provisional").textContent = t("qr_provisional", { n: waiting.length });
}

$("show-qr").addEventListener("click", async () => {
  await send(); // the QR lists what the server recorded (what is still waiting is marked)
  $("qr-box").hidden = false;
  drawQr(state.handover);
});

// --- the receiver -------------------------------------------------------------------------------

$("as-receiver").addEventListener("click", () => {
  $("choose").hidden = true;
  $("receiver").hidden = false;
  $("camera-card").hidden = false;
  $("r-payload").focus();
});

async function load(text) {
  const match = PAYLOAD.exec(text.trim());
  if (!match) {
    showVerdict("refused", t("not_a_handover"));
    return;
  }
  const [, token, senderSite, list] = match;
  const h = { role: "receiver", token, expected: list ? list.split(",") : [], scans: {}, server: null, sender: "" };
  const courier = state.me && state.me.role === "courier";
  h.site = courier ? senderSite : state.me && state.me.site; // a courier takes the boxes where the sender is
  h.where = h.site;
  try {
    if (!courier) h.where = (await api("/api/v1/handovers/parties")).from.text;
    h.server = await api(`/api/v1/handovers/${token}`);
    h.sender = h.server.sender.text;
    h.readAt = new Date().toISOString();
    if (courier) [h.site, h.where] = [h.server.sender.site, h.server.sender.text];
  } catch (_) {
    /* offline: the QR's list is enough to receive; the server joins up when the scans arrive */
  }
  if (!h.site) {
    showVerdict("refused", t("no_site"));
    return;
  }
  state.handover = h;
  useCache(await fetchCache(h.site, freshCache(h.site)));
  await save();
  await update();
  initPads();
  $("r-code").focus();
}

$("load-form").addEventListener("submit", (event) => {
  event.preventDefault();
  load($("r-payload").value);
});

$("r-scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const raw = $("r-code").value;
  $("r-code").value = "";
  if (raw.trim()) scanBox(raw, "receive");
});

const pads = {};
// The signature pads are drawn once their section is visible (a hidden canvas has no size).
function initPads() {
  for (const role of ["sender", "receiver", "witness"]) pads[role] = signaturePad($(`sig-${role}`));
}
$("sig-clear").addEventListener("click", () => Object.values(pads).forEach((pad) => pad.clear()));

function closeError(text) {
  $("close-error").textContent = text;
  $("close-error").hidden = false;
}

// Nothing of this handover may still wait in the outbox, and every refusal must have been read.
async function readyToClose(h) {
  await send();
  const waitingIds = new Set((await store.waiting(0)).map((waiting) => waiting.id));
  const stuck = Object.keys(h.scans).filter((id) => waitingIds.has(id)).length;
  if (stuck) return t("blocked_outbox", { n: stuck });
  await update();
  const unread = Object.keys(h.scans).filter((id) => state.unacked.has(id)).length;
  return unread ? t("blocked_refusals", { n: unread }) : null;
}

$("close").addEventListener("click", async () => {
  const h = state.handover;
  $("close-error").hidden = true;
  const names = {
    sender: $("sig-sender-name").value.trim(),
    receiver: $("sig-receiver-name").value.trim(),
    witness: $("sig-witness-name").value.trim(),
  };
  if (names.sender.length < 2 || names.receiver.length < 2 || pads.sender.isEmpty() || pads.receiver.isEmpty()) {
    closeError(t("signatures_needed"));
    return;
  }
  if (!navigator.onLine) {
    closeError(t("needs_network"));
    return;
  }
  try {
    const blocked = await readyToClose(h);
    if (blocked) {
      closeError(blocked);
      return;
    }
    for (const role of ["sender", "receiver", "witness"]) {
      if (role === "witness" && (names.witness.length < 2 || pads.witness.isEmpty())) continue;
      const organisation = role === "witness" ? $("sig-witness-org").value.trim() : "";
      await api(`/api/v1/handovers/${h.token}/signatures`, {
        role,
        name: names[role],
        ...(organisation ? { organisation } : {}),
        image: pads[role].toDataURL(),
      });
    }
    h.server = await api(`/api/v1/handovers/${h.token}/close`, {});
    h.number = h.server.number;
    await save();
    render();
  } catch (failure) {
    closeError(navigator.onLine ? t("close_failed", { message: failure.message }) : t("needs_network"));
  }
});

$("new-handover").addEventListener("click", async () => {
  await store.setMeta("handover", null); // its scans stay in the outbox until sent
  window.location.reload();
});

// --- the camera: the handover QR first (receiver), then the boxes ----------------------------------

function cameraCode(text) {
  const h = state.handover;
  if (text.startsWith("JEJAK-BAST:")) {
    if (!h && !$("receiver").hidden) load(text);
    return;
  }
  if (h && !h.number) scanBox(text, h.role === "sender" ? "dispatch" : "receive");
}

const camera = cameraControls({
  video: $("video"),
  wasmUrl: document.body.dataset.wasm,
  startButton: $("camera-start"),
  stopButton: $("camera-stop"),
  onCode: cameraCode,
  onError: () => showVerdict("warning", t("camera_failed")),
});

// --- start --------------------------------------------------------------------------------------

window.addEventListener("online", () => {
  showNetwork();
  if (state.handover) refreshCache(state.handover.site, state.cache).then(freshCache(state.handover.site));
  send();
});
window.addEventListener("offline", showNetwork);
setupVerdict(() => {
  if (camera.running() || !state.handover) return;
  $(state.handover.role === "sender" ? "s-code" : "r-code").focus();
});
// Pressing OK on a server's refusal is reading it.
$("verdict-ok").addEventListener("click", () => {
  if (state.shown && state.unacked.has(state.shown)) acknowledge(state.shown);
});
registerServiceWorker(() => {});
setInterval(() => {
  const h = state.handover;
  // send() also retries any scan still waiting in the outbox before it reads the handover back.
  if (h && !h.number && navigator.onLine && document.visibilityState === "visible") send();
}, REFRESH_MS);

showNetwork();
const who = await fetchMe();
state.me = who.me;
state.csrf = who.csrf;
$("login-needed").hidden = !who.loggedOut;
$("who-text").textContent = state.me
  ? t("who", { name: state.me.name, role: state.me.role_label || state.me.role })
  : t("login_needed");
// A handover in progress survives a reload or a closed app: it comes back from this phone, then the server.
const saved = await store.getMeta("handover");
if (saved && saved.scans && !saved.number) {
  state.handover = saved;
  $("choose").hidden = true;
  useCache(await fetchCache(saved.site, freshCache(saved.site)));
  await update();
  if (saved.role === "receiver") initPads();
}
await mountSyncStatus("sync-status"); // how many scans wait on this phone, and its last sync
document.body.dataset.ready = "true";
send();
