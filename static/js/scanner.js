// The scanner screen: wedge scanner, typed codes and the camera feed one handler. Every code gets a
// full-screen verdict at once from the phone's cache, goes into the IndexedDB outbox, and the outbox is
// sent in device order whenever the network allows (on start, on `online`, after each scan, on a
// background-sync wake-up, and on "Send now"). Refusals stay listed until acknowledged.
import { CodeError, parseCode } from "./codes.js";
import { registerServiceWorker } from "./pwa.js";
import { arrivedHere, showArrivals } from "./scan/arrivals.js";
import { cameraControls } from "./scan/camera.js";
import { compressPhoto, position } from "./scan/incident.js";
import { SEALING, applyLocally, judge, parseSeals } from "./scan/judge.js";
import { fetchCache, fetchMe, record, refreshCache } from "./scan/session.js";
import * as store from "./scan/store.js";
import { LoginNeeded, askCorrection, fetchCorrections, flush } from "./scan/sync.js";
import { mountSyncStatus } from "./scan/status.js";
import { codeArrived, setupVerdict, showCacheAge as showAge, showNetwork, showVerdict, t } from "./scan/ui.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, cache: null, seen: new Set(), csrf: null, correcting: null, recentStale: false, shownRed: new Set() };

// --- who and where ------------------------------------------------------------------------------

async function loadMe() {
  const who = await fetchMe();
  state.me = who.me;
  state.csrf = who.csrf;
  $("login-needed").hidden = !who.loggedOut;
  $("who-text").textContent = state.me
    ? t("who", { name: state.me.name, role: state.me.role_label || state.me.role })
    : t("login_needed");
  offerActions(state.me && state.me.role);
  const site = (await store.getMeta("site")) || (state.me && state.me.site) || "";
  if (!$("site").value) $("site").value = site;
}

// Only the actions the person's role may do (custody/actions.py ACTIONS, rendered into the options);
// the others are taken out of the list (a hidden option still shows in some phones' pickers).
const ALL_ACTIONS = [...document.getElementById("action").options];
function offerActions(role) {
  if (!role) return;
  const chosen = $("action").value;
  const mine = ALL_ACTIONS.filter((option) => (option.dataset.roles || "").split(" ").includes(role));
  if (!mine.length) return;
  $("action").replaceChildren(...mine);
  $("action").value = mine.some((option) => option.value === chosen) ? chosen : mine[0].value;
  showActionFields();
}

function showActionFields() {
  const action = $("action").value;
  $("to-field").hidden = action !== "dispatch";
  // Seals put on (seal, reseal: required), or seen at a receipt (optional: the server checks them against
  // the record, and a difference is refused until a witness signs).
  $("seals-field").hidden = !(SEALING.has(action) || action === "receive");
  $("seals-hint").hidden = action === "receive";
  $("seals-hint-receive").hidden = action !== "receive";
  $("incident-fields").hidden = !["damage", "loss"].includes(action);
}

// The site's boxes: the phone's stored copy at once (a scan is judged from it straight away), brought up
// to date in the background with only what changed; the page says how old the copy is.
function siteCode() {
  return $("site").value.trim().toUpperCase();
}

function useCache(site, cache) {
  if (site !== siteCode()) return; // the site changed meanwhile: that site's cache is being loaded
  state.cache = cache;
  document.body.dataset.cached = state.cache ? String(state.cache.size) : "0";
  if (state.cache) state.cache.warm(); // indexed while the person looks for the first box
  showCacheAge();
}

async function loadCache() {
  const site = siteCode();
  useCache(site, await fetchCache(site, (fresh) => useCache(site, fresh)));
}

async function refreshBoxes() {
  const site = siteCode();
  const fresh = await refreshCache(site, state.cache);
  if (fresh) useCache(site, fresh);
}

function showCacheAge() {
  const line = $("cache-age");
  if (!line) return;
  line.hidden = !siteCode();
  showAge(line, state.cache);
}

// "Latest scans": kept on the phone (store.remember), so a reopened scanner lists again the scans still
// waiting in the outbox (oldest unsent first) and then the latest ones already sent. Each of the person's
// own scans that the server accepted offers "Ask for a correction" (or says where its request stands).
async function addRecent(sscc, verdict, text, id = null, action = null) {
  const owner = state.me ? state.me.username : null;
  await store.remember({ id, sscc, verdict, text, action, owner, at: Date.now() });
  await showRecent();
}

function actionName(action) {
  const option = $("action").querySelector(`option[value="${action}"]`);
  return option ? option.textContent : action;
}

function recentItem(className, text, tag) {
  const item = document.createElement("li");
  item.className = className;
  item.textContent = text;
  if (tag) {
    const mark = document.createElement("span");
    mark.className = `recent-tag recent-tag-${tag}`;
    mark.textContent = t(`recent_${tag}`);
    item.append(" · ", mark);
  }
  return item;
}

async function showRecent() {
  if (state.correcting) {
    state.recentStale = true; // a reason is being written: the list waits until it is sent or cancelled
    return;
  }
  state.recentStale = false;
  const owner = state.me ? state.me.username : null;
  const [kept, waitingIds, outbox] = [await store.recent(), await store.waitingIds(), await store.waiting(50)];
  const [answers, requests] = [await store.verdicts(), await store.corrections(owner)];
  const byId = new Map(kept.filter((entry) => entry.id).map((entry) => [entry.id, entry]));
  const items = outbox.map((record) => {
    const entry = byId.get(record.id);
    const text = entry ? entry.text : actionName(record.payload.action);
    return recentItem(`recent-${entry ? entry.verdict : "waiting"} recent-waiting`, `${record.payload.code} · ${text}`, "waiting");
  });
  for (const entry of kept) {
    if (entry.id && waitingIds.has(entry.id)) continue;
    // Once answered, the server's word is the list's: a refusal replaces the phone's provisional sentence.
    const answer = (entry.id && answers[entry.id]) || {};
    const refused = answer.verdict === "refused";
    const item = recentItem(
      `recent-${refused ? "refused" : entry.verdict}`,
      `${entry.sscc} · ${refused && answer.message ? answer.message : entry.text}`,
      entry.id ? (refused ? "refused" : "sent") : null,
    );
    item.dataset.scan = entry.id || "";
    item.dataset.server = answer.verdict || "";
    if (answer.verdict === "accepted" && owner && entry.owner === owner) {
      correctionPart(item, entry, requests[entry.id]);
    }
    items.push(item);
  }
  if (state.correcting) {
    state.recentStale = true; // a reason form opened while the list was read: it stays until sent or cancelled
    return;
  }
  $("recent").replaceChildren(...items);
  $("recent").dataset.waiting = String(outbox.length);
}

// --- corrections of one's own accepted scans ------------------------------------------------------

// Under a scan the server accepted: where its correction request stands, or the button to ask for one.
function correctionPart(item, entry, request) {
  if (request) {
    const mark = make("p", { className: `correction-state correction-${request.state}` });
    mark.textContent = t(`correction_${request.state}`);
    const note = request.state === "pending" ? request.reason : request.decision_note;
    if (note) mark.textContent += `: ${note}`;
    item.append(mark);
    item.dataset.correction = request.state;
    if (request.state !== "rejected") return; // a rejected request may be asked again, with a better reason
  }
  const button = make("button", {
    type: "button",
    className: "button secondary small ask-correction",
    textContent: t("ask_correction"),
  });
  const said = errorLine();
  button.addEventListener("click", () => {
    if (!navigator.onLine) {
      said.say(t("correction_offline"));
      return;
    }
    button.hidden = true;
    said.hidden = true;
    item.append(correctionForm(entry, () => {
      button.hidden = false;
    }));
  });
  item.append(" ", button, said);
}

function make(tag, properties) {
  return Object.assign(document.createElement(tag), properties);
}

// A line that says what is wrong, read out when it appears.
function errorLine() {
  const line = make("p", { className: "field-error", hidden: true });
  line.setAttribute("role", "alert");
  line.say = (text) => {
    line.textContent = text;
    line.hidden = false;
  };
  return line;
}

// The reason, required (at least 5 characters besides spaces, as the server counts them), sent at once.
const REASON_MIN = 5;

function correctionForm(entry, onCancel) {
  state.correcting = entry.id;
  const form = make("form", { className: "correction-form", noValidate: true });
  const id = `reason-${entry.id}`;
  const label = make("label", { htmlFor: id, textContent: t("correction_why") });
  const reason = make("textarea", { id, name: "reason", rows: 3, maxLength: 1000, required: true });
  const error = errorLine();
  const say = error.say;
  const send = make("button", { type: "submit", className: "button primary small", textContent: t("correction_send") });
  const cancel = make("button", { type: "button", className: "button secondary small", textContent: t("cancel") });
  const close = async () => {
    form.remove();
    state.correcting = null;
    await showRecent(); // the list shows where the request stands (or the button again, after a cancel)
  };
  cancel.addEventListener("click", async () => {
    await close();
    onCancel();
    $("code").focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = reason.value;
    if (text.replace(/\s/gu, "").length < REASON_MIN) {
      reason.setAttribute("aria-invalid", "true");
      say(t("correction_reason_short"));
      reason.focus();
      return;
    }
    if (!navigator.onLine) return say(t("correction_offline"));
    send.disabled = true;
    try {
      if (!state.csrf) await loadMe();
      const { status, body } = await askCorrection(state.csrf, entry.id, text);
      if (status === 201) {
        await refreshCorrections();
        await close();
        showVerdict("accepted", t("correction_asked"), entry.sscc, "correction");
        return;
      }
      if (status === 409) await refreshCorrections(); // perhaps asked already, from another screen
      say((body && body.error && body.error.message) || `HTTP ${status}`);
    } catch (failure) {
      if (failure instanceof LoginNeeded) {
        state.csrf = null;
        $("login-needed").hidden = false;
        say(t("login_needed"));
      } else {
        say(t("correction_offline")); // the network went away on the way
      }
    } finally {
      send.disabled = false;
    }
  });
  form.append(label, reason, error, send, " ", cancel);
  setTimeout(() => reason.focus(), 0);
  return form;
}

// The person's own requests, as the server has them now (kept for an offline start); with `waiting`, only
// while one of them waits for a supervisor (after each send: the decision shows without a reload).
async function refreshCorrections({ waiting = false } = {}) {
  if (!state.me || !navigator.onLine) return;
  if (waiting) {
    const kept = Object.values(await store.corrections(state.me.username));
    if (!kept.some((request) => request.state === "pending")) return;
  }
  const mine = await fetchCorrections();
  if (mine) await store.keepCorrections(state.me.username, mine);
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
  const sealing = SEALING.has(action);
  // A receipt carries the seals seen, when the person typed or scanned them: the server compares them
  // with the record (a difference is refused until a witness signs).
  const seeing = action === "receive" && $("seals").value.trim() !== "";
  const seals = sealing || seeing ? parseSeals($("seals").value) : null;
  if (sealing && !(seals && seals.length)) {
    showVerdict("warning", t(seals ? "seals_needed" : "seals_invalid"));
    return;
  }
  if (seeing && !seals) {
    showVerdict("warning", t("seals_invalid"));
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
    showVerdict("warning", t("duplicate_session"), sscc, "duplicate");
    await addRecent(sscc, "warning", t("duplicate_session"));
    return;
  }
  const scan = { sscc, action, site, to, role: state.me ? state.me.role : null };
  const outcome = judge(state.cache, scan, t);
  // An accepted scan's sentence says what was done too: "Dikirim: kotak untuk ..." for a dispatch.
  const done = { receive: "ok", dispatch: "ok_dispatch" }[action] || "ok_recorded";
  const sentence = outcome.reason === "ok_for" ? (outcome.vars.where ? `${done}_for` : done) : outcome.reason;
  let text = t(sentence, outcome.vars);
  const extra = {};
  if (sealing) {
    extra.seals = seals;
    if (outcome.reason === "ok_for") text = t("sealed", { seals: seals.join(", ") });
  }
  if (seeing && seals.length) extra.seals = seals;
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
  let kept;
  try {
    // Every scan is recorded, a refused one too: the server keeps the refusal as an alert.
    const fields = { code: sscc, action, site, ...(action === "dispatch" ? { to } : {}), ...extra };
    kept = await record(fields, state.me && state.me.username);
  } catch (error) {
    console.error("outbox", error);
    showVerdict("refused", t("not_saved"), sscc); // the person scans again: nothing is pretended
    return;
  }
  state.seen.add(key); // only once it is safely in the outbox
  // The status bar counts it at once, before the verdict: "all sent" never shows while it still waits.
  const waiting = Number($("pending").dataset.count || 0) + 1;
  $("pending").dataset.count = String(waiting);
  $("pending").textContent = t("pending", { n: waiting });
  if (sealing || seeing) $("seals").value = ""; // the next box has seals of its own
  const word = outcome.reason === "already_here" ? "already_here" : action; // the big word says what was done
  showVerdict(outcome.verdict, text, navigator.onLine ? sscc : `${sscc} · ${t("kept_offline")}`, word);
  await addRecent(sscc, outcome.verdict, text, kept.id, action);
  if (outcome.verdict === "refused") state.shownRed.add(kept.id);
  if (outcome.verdict !== "refused") applyLocally(outcome.box, scan);
  if (outcome.verdict !== "refused" && action === "receive") await arrivedHere(sscc, site);
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
  await showRecent();
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
    if (answered.length) await showArrivals("arrivals", $("site").value.trim().toUpperCase());
    // A refusal the phone already showed in red is not shown again: the person has moved on to the next box.
    const refused = answered.filter(
      ({ record, result }) => result.verdict === "refused" && !state.shownRed.has(record.id),
    );
    if (refused.length) {
      const last = refused[refused.length - 1];
      showVerdict("refused", t("server_refused", { message: last.result.message }), last.record.payload.code);
    }
    await refreshCorrections({ waiting: true });
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
$("action").addEventListener("change", showActionFields);
// A wedge scanner ends each seal with Enter: the next seal follows in the same field (the box's code,
// scanned into the code field, records them).
$("seals").addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const value = $("seals").value.trimEnd();
  if (value && !/[,;]$/.test(value)) $("seals").value = `${value}, `;
});
$("site").addEventListener("change", async () => {
  await store.setMeta("site", $("site").value.trim().toUpperCase());
  await loadCache();
  await showArrivals("arrivals", $("site").value.trim().toUpperCase());
});
setupVerdict(() => {
  if (!camera.running()) $("code").focus();
});
$("sync-now").addEventListener("click", sync);
const camera = cameraControls({
  video: $("video"),
  wasmUrl: document.body.dataset.wasm,
  startButton: $("camera-start"),
  stopButton: $("camera-stop"),
  onCode: (text) => submit(text),
  onError: () => showVerdict("warning", t("camera_failed")),
});
window.addEventListener("online", () => {
  showNetwork();
  refreshBoxes(); // the box list catches up alongside: a scan meanwhile is judged from the stored copy
  loadMe()
    .then(sync)
    .then(() => showArrivals("arrivals", $("site").value.trim().toUpperCase()));
});
window.addEventListener("offline", showNetwork);
if (navigator.serviceWorker) {
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "sync") sync();
  });
}
// Back in the app (a supervisor may have decided meanwhile): the person's correction requests again.
document.addEventListener("visibilitychange", async () => {
  if (document.visibilityState !== "visible") return;
  await refreshCorrections();
  await showRecent();
});
$("update-reload").addEventListener("click", () => window.location.reload());
registerServiceWorker(() => {
  $("update").hidden = false;
});

// Whatever still waits (a server error, a timeout on a weak signal) is tried again every half minute.
setInterval(() => {
  if (navigator.onLine && $("pending").dataset.count !== "0") sync();
}, 30_000);

showNetwork();
await mountSyncStatus("sync-status");
// Who is here (the server's word) and this site's box list (the phone's copy) load side by side: the site is
// the one this phone last scanned at, else the person's own once the server has said who they are.
const whoIsHere = loadMe();
const keptSite = await store.getMeta("site");
if (!$("site").value && keptSite) $("site").value = keptSite; // (the server may have named it meanwhile)
await loadCache();
await whoIsHere;
if (!state.cache && siteCode()) await loadCache();
await showPending();
// The person's correction requests come when the network brings them; judging a scan does not need them.
refreshCorrections().then(showRecent);
setInterval(showCacheAge, 60_000);
// The arrivals list needs the network: it fills in when it comes, and the scanner does not wait for it.
showArrivals("arrivals", $("site").value.trim().toUpperCase());
document.body.dataset.ready = "true";
$("code").focus();
sync();
