// The digital BAST on the phone. The sender opens a handover (online), scans each box out (dispatch
// scans carrying the handover's token, through the same offline outbox as the scanner) and shows a QR
// code listing them. The receiver scans that QR (the expected list, readable offline), scans each box
// in (receive scans with the token and the seals seen), sees expected, missing and unexpected boxes
// live, collects the signatures, and closes: the server numbers the BAST and draws its PDF.
import { CodeError, parseCode } from "./codes.js";
import { registerServiceWorker } from "./pwa.js";
import { applyLocally, judge } from "./scan/judge.js";
import { fetchCache, fetchMe, record } from "./scan/session.js";
import { signaturePad } from "./scan/signature.js";
import * as store from "./scan/store.js";
import { flush } from "./scan/sync.js";
import { codeArrived, setupVerdict, showNetwork, showVerdict, t } from "./scan/ui.js";
import qrcode from "../vendor/qrcode-generator/qrcode.mjs";

const $ = (id) => document.getElementById(id);
const PAYLOAD = /^JEJAK-BAST:([0-9a-f-]{36}):([0-9,]*)$/;
const QR_MAX_BOXES = 100;
const state = { me: null, csrf: null, cache: null, handover: null, seen: new Set() };

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

async function scanBox(raw, action) {
  codeArrived(performance.now());
  const { sscc } = parse(raw);
  if (!sscc) return;
  const h = state.handover;
  if (state.seen.has(`${action}:${sscc}`)) {
    showVerdict("warning", t("duplicate_session"), sscc);
    return;
  }
  const site = action === "dispatch" ? h.site : $("r-site").value.trim().toUpperCase();
  const scan = { sscc, action, site, to: h.to, role: state.me && state.me.role };
  const outcome = judge(state.cache, scan, t);
  let text = outcome.reason === "ok_for" && !outcome.vars.where ? t("ok") : t(outcome.reason, outcome.vars);
  let verdict = outcome.verdict;
  if (action === "receive" && verdict === "accepted" && !h.expected.includes(sscc)) {
    verdict = "warning";
    text = t("not_expected");
  }
  const seals = action === "receive" ? $("r-seals").value.split(",").map((s) => s.trim()).filter(Boolean) : [];
  try {
    const fields = { code: sscc, action, site, handover: h.token, ...(action === "dispatch" ? { to: h.to } : {}) };
    await record({ ...fields, ...(seals.length ? { seals } : {}) }, state.me && state.me.username);
  } catch (error) {
    console.error("outbox", error);
    showVerdict("refused", t("not_saved"), sscc);
    return;
  }
  state.seen.add(`${action}:${sscc}`);
  showVerdict(verdict, text, sscc);
  if (outcome.verdict !== "refused") applyLocally(outcome.box, scan);
  if (action === "dispatch") h.sent.push(sscc);
  else h.received.push(sscc);
  $("r-seals").value = "";
  await save();
  render();
  send();
}

async function send() {
  if (!navigator.onLine) return [];
  try {
    return await flush(state.csrf, null, state.me && state.me.username);
  } catch (error) {
    console.warn("outbox", error);
    return [];
  }
}

function render() {
  const h = state.handover;
  if (!h) return;
  $("new-handover").hidden = false;
  if (h.role === "sender") {
    $("sending").hidden = false;
    $("s-title").textContent = t("sending_title", { to: h.to });
    $("s-count").textContent = String(h.sent.length);
    $("s-list").replaceChildren(...h.sent.map((sscc) => Object.assign(document.createElement("li"), { textContent: sscc })));
    return;
  }
  $("receiving").hidden = false;
  $("r-title").textContent = t("receiving_title", { n: h.expected.length, sender: h.sender || "" });
  const received = new Set(h.received);
  const rows = h.expected.map((sscc) => {
    const item = document.createElement("li");
    const status = received.has(sscc) ? "received" : h.closing ? "missing" : "waiting";
    item.className = status;
    item.dataset.sscc = sscc;
    item.textContent = `${sscc} · ${t(status)}`;
    return item;
  });
  $("expected-list").replaceChildren(...rows);
  const unexpected = h.received.filter((sscc) => !h.expected.includes(sscc));
  $("unexpected-list").replaceChildren(
    ...unexpected.map((sscc) =>
      Object.assign(document.createElement("li"), { className: "unexpected", textContent: `${sscc} · ${t("unexpected")}` }),
    ),
  );
  const missing = h.expected.filter((sscc) => !received.has(sscc)).length;
  const counts = $("r-counts");
  counts.textContent = t("counts", { r: h.expected.length - missing, m: missing, u: unexpected.length });
  counts.dataset.missing = String(missing);
  counts.dataset.unexpected = String(unexpected.length);
}

// --- the sender ---------------------------------------------------------------------------------

$("as-sender").addEventListener("click", () => {
  $("choose").hidden = true;
  $("sender").hidden = false;
  $("s-site").value = $("s-site").value || (state.me && state.me.site) || "";
  $("s-to").focus();
});

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const site = $("s-site").value.trim().toUpperCase();
  const to = $("s-to").value.trim();
  const token = crypto.randomUUID();
  try {
    await api("/api/v1/handovers", { token, site, to });
  } catch (error) {
    showVerdict("refused", navigator.onLine ? error.message : t("needs_network"));
    return;
  }
  state.handover = { role: "sender", token, site, to, sent: [] };
  state.cache = await fetchCache(site);
  await save();
  $("start-form").hidden = true;
  render();
  $("s-code").focus();
});

$("s-scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const raw = $("s-code").value;
  $("s-code").value = "";
  if (raw.trim()) scanBox(raw, "dispatch");
});

$("show-qr").addEventListener("click", () => {
  const h = state.handover;
  // A QR code holds about 110 SSCCs; past that it carries the token only, and the receiver's phone
  // fetches the list from the server (so a handover that large needs the network at the receiving end).
  const payload = `JEJAK-BAST:${h.token}:${h.sent.length <= QR_MAX_BOXES ? h.sent.join(",") : ""}`;
  const qr = qrcode(0, "M");
  qr.addData(payload);
  qr.make();
  $("qr").innerHTML = qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true });
  $("qr").dataset.payload = payload;
  $("qr-box").hidden = false;
  send();
});

// --- the receiver -------------------------------------------------------------------------------

$("as-receiver").addEventListener("click", () => {
  $("choose").hidden = true;
  $("receiver").hidden = false;
  $("r-payload").focus();
});

$("load-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const match = PAYLOAD.exec($("r-payload").value.trim());
  if (!match) {
    showVerdict("refused", t("not_a_handover"));
    return;
  }
  const [, token, list] = match;
  const h = { role: "receiver", token, expected: list ? list.split(",") : [], received: [], sender: "" };
  try {
    const server = await api(`/api/v1/handovers/${token}`);
    h.sender = server.sender.text;
    h.to = server.receiver.site;
    if (!list) h.expected = server.items.filter((item) => item.outcome !== "unexpected").map((item) => item.sscc);
  } catch (_) {
    /* offline: the QR's list is enough to receive; the server joins up when the scans arrive */
  }
  state.handover = h;
  $("r-site").value = h.to || (state.me && state.me.site) || "";
  state.cache = await fetchCache($("r-site").value.trim().toUpperCase());
  await save();
  $("load-form").hidden = true;
  render();
  initPads();
  $("r-code").focus();
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

$("close").addEventListener("click", async () => {
  const h = state.handover;
  const error = $("close-error");
  error.hidden = true;
  const names = {
    sender: $("sig-sender-name").value.trim(),
    receiver: $("sig-receiver-name").value.trim(),
    witness: $("sig-witness-name").value.trim(),
  };
  if (names.sender.length < 2 || names.receiver.length < 2 || pads.sender.isEmpty() || pads.receiver.isEmpty()) {
    error.textContent = t("signatures_needed");
    error.hidden = false;
    return;
  }
  try {
    if (!state.csrf) state.csrf = (await fetchMe()).csrf; // opened offline: the token comes now
    await flush(state.csrf, null, state.me && state.me.username); // every scan in the ledger before closing
    for (const role of ["sender", "receiver", "witness"]) {
      if (role === "witness" && (names.witness.length < 2 || pads.witness.isEmpty())) continue;
      await api(`/api/v1/handovers/${h.token}/signatures`, {
        role,
        name: names[role],
        ...(role === "witness" && $("sig-witness-org").value.trim() ? { organisation: $("sig-witness-org").value.trim() } : {}),
        image: pads[role].toDataURL(),
      });
    }
    const closed = await api(`/api/v1/handovers/${h.token}/close`, {});
    h.closing = true;
    h.number = closed.number;
    await save();
    render();
    $("closed-text").textContent = t("closed", { number: closed.number });
    $("bast-pdf").href = `/bast/${closed.number}.pdf`;
    $("bast-page").href = `/bast/${closed.number}`;
    $("closed").hidden = false;
    $("closed").dataset.number = closed.number;
  } catch (failure) {
    error.textContent = navigator.onLine ? t("close_failed", { message: failure.message }) : t("needs_network");
    error.hidden = false;
  }
});

$("new-handover").addEventListener("click", async () => {
  await store.setMeta("handover", null); // its scans stay in the outbox until sent
  window.location.reload();
});

// --- start --------------------------------------------------------------------------------------

window.addEventListener("online", async () => {
  showNetwork();
  if (!state.csrf) state.csrf = (await fetchMe()).csrf;
  send();
});
window.addEventListener("offline", showNetwork);
setupVerdict(() => {});
registerServiceWorker(() => {});

showNetwork();
const who = await fetchMe();
state.me = who.me;
state.csrf = who.csrf;
$("login-needed").hidden = !who.loggedOut;
$("who-text").textContent = state.me ? t("who", { name: state.me.name, role: state.me.role_label || state.me.role }) : t("login_needed");
// A handover in progress survives a reload or a closed app: its lists come back from this phone.
const saved = await store.getMeta("handover");
if (saved && !saved.number) {
  state.handover = saved;
  $("choose").hidden = true;
  if (saved.role === "sender") {
    $("sender").hidden = false;
    $("start-form").hidden = true;
    state.cache = await fetchCache(saved.site);
  } else {
    $("receiver").hidden = false;
    $("load-form").hidden = true;
    $("r-site").value = saved.to || (state.me && state.me.site) || "";
    state.cache = await fetchCache($("r-site").value.trim().toUpperCase());
  }
  saved.sent = saved.sent || [];
  saved.received = saved.received || [];
  saved.sent.forEach((sscc) => state.seen.add(`dispatch:${sscc}`));
  saved.received.forEach((sscc) => state.seen.add(`receive:${sscc}`));
  render();
  if (saved.role === "receiver") {
    initPads();
  }
}
document.body.dataset.ready = "true";
send();
