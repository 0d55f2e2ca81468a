// The outbox's status, always in view on the phone's screens (the scanner, the handover screen): how many
// scans wait on this phone, when it was last in sync with the server, and a warning when scans have waited
// unsynced for more than a day (amber) or three days (red). It also asks the browser, once, to keep this
// site's storage (navigator.storage.persist()) so that the outbox is not evicted when the phone runs low.
//
// API (for any page that includes templates/pwa/_messages.html, which carries the texts):
//   const status = await mountSyncStatus("element-id");   // renders into that element, keeps it current
//   await status.refresh();                                // re-read the outbox now (optional)
// It refreshes itself on every outbox change (store.js's "jejak:outbox" event), on `online`/`offline`,
// and every 30 seconds. The element gets data-state (ok, waiting, amber, red) and data-waiting (a count).
import { getMeta, lastSync, setMeta, waiting, waitingCount } from "./store.js";
import { t } from "./ui.js";

const DAY_MS = 24 * 60 * 60 * 1000;
export const AMBER_AFTER_MS = DAY_MS;
export const RED_AFTER_MS = 3 * DAY_MS;

// A time on this phone's clock, day and hour: "13/02 14:05".
export function clockText(ms) {
  const lang = document.documentElement.lang || "id";
  return new Date(ms).toLocaleString(lang, { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}

// What the panel says, from the facts (pure, for tests and for other screens).
export function syncState({ waitingCount: count, lastSyncAt, oldestWaitingAt, now = Date.now() }) {
  // Unsynced since the last time everything went through; never synced: since the oldest waiting scan.
  const since = lastSyncAt || oldestWaitingAt || now;
  const age = now - since;
  let state = "ok";
  if (count > 0) state = age > RED_AFTER_MS ? "red" : age > AMBER_AFTER_MS ? "amber" : "waiting";
  return { state, count, lastSyncAt: lastSyncAt || null, age };
}

// Ask once per phone that the browser keep our storage (Firefox asks the person; Chrome decides alone),
// and say on the page what it answered: body data-persist = granted, refused or unsupported, and
// data-persist-asked: "now" when persist() was called on this load, "before" when an earlier load on this
// phone called it (it is asked once). A refusal is shown nowhere: the outbox
// still works, it is only evictable under storage pressure.
export async function askPersistence() {
  const body = document.body;
  if (!navigator.storage || !navigator.storage.persist) {
    body.dataset.persist = "unsupported";
    return "unsupported";
  }
  try {
    let granted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
    const askedAt = await getMeta("persist_asked");
    if (askedAt) body.dataset.persistAsked = "before";
    if (!granted && !askedAt) {
      body.dataset.persistAsked = "now";
      granted = await navigator.storage.persist();
      await setMeta("persist_asked", Date.now());
    }
    body.dataset.persist = granted ? "granted" : "refused";
  } catch (_) {
    body.dataset.persist = "refused";
  }
  return body.dataset.persist;
}

function render(element, facts) {
  const { state, count, lastSyncAt } = syncState(facts);
  element.dataset.state = state;
  element.dataset.waiting = String(count);
  const line = document.createElement("p");
  line.className = "sync-line";
  const counted = document.createElement("strong");
  counted.className = "sync-count";
  counted.textContent = count ? t("status_waiting", { n: count }) : t("status_none_waiting");
  const when = document.createElement("span");
  when.className = "sync-last";
  when.textContent = lastSyncAt ? t("status_last_sync", { when: clockText(lastSyncAt) }) : t("status_never");
  line.append(counted, " · ", when);
  const parts = [line];
  if (state === "amber" || state === "red") {
    const warning = document.createElement("p");
    warning.className = "sync-warning";
    warning.setAttribute("role", "alert");
    warning.textContent = t(state === "red" ? "status_warn_days" : "status_warn_day");
    parts.push(warning);
  }
  element.replaceChildren(...parts);
}

export async function mountSyncStatus(elementId) {
  const element = document.getElementById(elementId);
  element.classList.add("sync-status");
  element.setAttribute("role", "status");
  const refresh = async () => {
    const [count, lastSyncAt, oldest] = [await waitingCount(), await lastSync(), (await waiting(1))[0]];
    render(element, { waitingCount: count, lastSyncAt, oldestWaitingAt: oldest ? oldest.created_at : null });
  };
  let pending = null; // outbox events come in bursts (a wedge scanner): one read at a time
  const schedule = () => {
    pending = pending || Promise.resolve().then(refresh).finally(() => (pending = null));
    return pending;
  };
  window.addEventListener("jejak:outbox", schedule);
  window.addEventListener("online", schedule);
  window.addEventListener("offline", schedule);
  setInterval(schedule, 30_000);
  askPersistence(); // not awaited: a browser that asks the person must not hold the screen up
  await refresh();
  return { refresh: schedule, element };
}
