// The scanner screen: wedge scanner, typed codes and the camera feed one handler. Every code gets a
// full-screen verdict at once from the phone's cache, goes into the IndexedDB outbox, and the outbox is
// sent in device order whenever the network allows (on start, on `online`, after each scan, on a
// background-sync wake-up, and on "Send now"). Refusals stay listed until acknowledged.
import { CodeError, parseCode } from "./codes.js";
import { registerServiceWorker } from "./pwa.js";
import { startCamera } from "./scan/camera.js";
import { compressPhoto, position } from "./scan/incident.js";
import { applyLocally, judge } from "./scan/judge.js";
import { fetchCache, fetchMe, record } from "./scan/session.js";
import * as store from "./scan/store.js";
import { LoginNeeded, flush } from "./scan/sync.js";
import { codeArrived, setupVerdict, showNetwork, showVerdict, t } from "./scan/ui.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, cache: null, seen: new Set(), csrf: null, stopCamera: null, lastCamera: new Map() };

// --- who and where ------------------------------------------------------------------------------

async function loadMe() {
  const who = await fetchMe();
  state.me = who.me;
  state.csrf = who.csrf;
  $("login-needed").hidden = !who.loggedOut;
  $("who-text").textContent = state.me
    ? t("who", { name: state.me.name, role: state.me.role_label || state.me.role })
    : t("login_needed");
  const site = (await store.getMeta("site")) || (state.me && state.me.site) || "";
  if (!$("site").value) $("site").value = site;
}

async function loadCache() {
  state.cache = await fetchCache($("site").value.trim().toUpperCase());
  document.body.dataset.cached = state.cache ? String(state.cache.boxes.size) : "0";
}

function addRecent(sscc, verdict, text) {
  const item = document.createElement("li");
  item.className = `recent-${verdict}`;
  item.textContent = `${sscc} · ${text}`;
  $("recent").prepend(item);
  while ($("recent").children.length > 20) $("recent").lastChild.remove();
}

// --- scanning -----------------------------------------------------------------------------------

async function handleCode(raw, at = performance.now()) {
  codeArrived(at);
  const site = $("site").value.trim().toUpperCase();
  const action = $("action").value;
  const to = $("to").value.trim();
  $("code-error").hidden = true;
  if (!site) {
    showVerdict("warning", t("no_site"));
    return;
  }
  if (action === "dispatch" && !to) {
    showVerdict("warning", t("no_to"));
    return;
  }
  let sscc;
  try {
    sscc = parseCode(raw);
  } catch (error) {
    const key = error instanceof CodeError && error.kind === "check_digit" ? "check_digit" : "malformed";
    $("code-error").textContent = t(key);
    $("code-error").hidden = false;
    showVerdict("refused", t(key));
    return;
  }
  const incident = action === "damage" || action === "loss";
  const note = $("note").value.trim();
  if (incident && !note) {
    showVerdict("warning", t("note_needed"));
    return;
  }
  const key = `${action}:${sscc}`;
  if (state.seen.has(key)) {
    showVerdict("warning", t("duplicate_session"), sscc);
    addRecent(sscc, "warning", t("duplicate_session"));
    return;
  }
  const scan = { sscc, action, site, to, role: state.me ? state.me.role : null };
  const outcome = judge(state.cache, scan, t);
  let text = outcome.reason === "ok_for" && !outcome.vars.where ? t("ok") : t(outcome.reason, outcome.vars);
  const extra = {};
  if (incident) {
    text = t("incident_recorded");
    extra.note = note;
    const file = $("photo").files[0];
    if (file) {
      const { blob, sha256 } = await compressPhoto(file);
      await store.keepPhoto(sha256, blob);
      extra.note = `${note} · foto sha256:${sha256}`; // the ledger event vouches for this very photo
    }
    Object.assign(extra, await position());
    $("note").value = "";
    $("photo").value = "";
  }
  try {
    // Every scan is recorded, a refused one too: the server keeps the refusal as an alert.
    const fields = { code: sscc, action, site, ...(action === "dispatch" ? { to } : {}), ...extra };
    await record(fields, state.me && state.me.username);
  } catch (error) {
    console.error("outbox", error);
    showVerdict("refused", t("not_saved"), sscc); // the person scans again: nothing is pretended
    return;
  }
  state.seen.add(key); // only once it is safely in the outbox
  showVerdict(outcome.verdict, text, navigator.onLine ? sscc : `${sscc} · ${t("kept_offline")}`);
  addRecent(sscc, outcome.verdict, text);
  if (outcome.verdict !== "refused") applyLocally(outcome.box, scan);
  await showPending();
  scheduleSync();
}

// --- the outbox ---------------------------------------------------------------------------------

async function showPending() {
  const waiting = await store.waitingCount();
  $("pending").textContent = waiting ? t("pending", { n: waiting }) : t("all_sent");
  $("pending").dataset.count = String(waiting);
  const [first] = await store.waiting(1);
  const error = $("sync-error");
  error.hidden = !(first && first.attempts);
  if (first && first.attempts) error.textContent = t("send_failed", { error: first.last_error, n: first.attempts });
  await showRefusals();
}

async function showRefusals() {
  const list = $("refusals");
  const items = await store.refusals();
  list.replaceChildren(
    ...items.map((refusal) => {
      const item = document.createElement("li");
      const text = document.createElement("p");
      text.textContent = `${refusal.sscc}: ${t("server_refused", { message: refusal.message })}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary small";
      button.textContent = t("acknowledge");
      button.addEventListener("click", async () => {
        await store.acknowledge(refusal.id);
        await showRefusals();
      });
      item.append(text, button);
      return item;
    }),
  );
  $("refusals-card").hidden = items.length === 0;
}

let syncTimer = null;
function scheduleSync() {
  clearTimeout(syncTimer);
  syncTimer = setTimeout(sync, 400);
  if (navigator.serviceWorker && navigator.serviceWorker.ready && window.SyncManager) {
    navigator.serviceWorker.ready.then((registration) => registration.sync.register("jejak-outbox")).catch(() => {});
  }
}

async function sync() {
  if (!navigator.onLine) return showPending();
  try {
    if (!state.csrf) await loadMe();
    const answered = await flush(state.csrf, () => {}, state.me && state.me.username);
    const refused = answered.filter(({ result }) => result.verdict === "refused");
    if (refused.length) {
      const last = refused[refused.length - 1];
      showVerdict("refused", t("server_refused", { message: last.result.message }), last.record.payload.code);
    }
  } catch (error) {
    if (error instanceof LoginNeeded) {
      state.csrf = null;
      $("login-needed").hidden = false;
    }
  }
  await showPending();
}

// --- wiring -------------------------------------------------------------------------------------


// One scan at a time, in the order they came: a wedge scanner can send codes faster than storage.
let queue = Promise.resolve();
function submit(raw) {
  const at = performance.now();
  queue = queue.then(() => handleCode(raw, at)).catch((error) => console.error("scan", error));
  return queue;
}

$("scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const raw = $("code").value;
  $("code").value = "";
  if (raw.trim()) submit(raw);
});
$("action").addEventListener("change", () => {
  $("to-field").hidden = $("action").value !== "dispatch";
  $("incident-fields").hidden = !["damage", "loss"].includes($("action").value);
});
$("site").addEventListener("change", async () => {
  await store.setMeta("site", $("site").value.trim().toUpperCase());
  await loadCache();
});
setupVerdict(() => {
  if (!state.stopCamera) $("code").focus();
});
$("sync-now").addEventListener("click", sync);
$("camera-start").addEventListener("click", async () => {
  try {
    state.stopCamera = await startCamera($("video"), document.body.dataset.wasm, (text) => {
      const last = state.lastCamera.get(text) || 0;
      if (Date.now() - last < 3000) return; // the same label held in view is one scan
      state.lastCamera.set(text, Date.now());
      submit(text);
    });
    $("camera-start").hidden = true;
    $("camera-stop").hidden = false;
  } catch (error) {
    console.warn("camera", error);
    showVerdict("warning", t("camera_failed"));
  }
});
$("camera-stop").addEventListener("click", () => {
  if (state.stopCamera) state.stopCamera();
  state.stopCamera = null;
  $("camera-start").hidden = false;
  $("camera-stop").hidden = true;
});
window.addEventListener("online", () => {
  showNetwork();
  loadMe().then(loadCache).then(sync);
});
window.addEventListener("offline", showNetwork);
if (navigator.serviceWorker) {
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "sync") sync();
  });
}
$("update-reload").addEventListener("click", () => window.location.reload());
registerServiceWorker(() => {
  $("update").hidden = false;
});

// Whatever still waits (a server error, a timeout on a weak signal) is tried again every half minute.
setInterval(() => {
  if (navigator.onLine && $("pending").dataset.count !== "0") sync();
}, 30_000);

showNetwork();
await loadMe();
await loadCache();
await showPending();
document.body.dataset.ready = "true";
$("code").focus();
sync();
