// What the scanner and handover screens share: translated messages (rendered by Flask-Babel into a
// hidden list in the page, so no text lives in code) and the full-screen verdict.
import { feedback } from "./feedback.js";

const $ = (id) => document.getElementById(id);
const messages = {};
document.querySelectorAll("#i18n dd").forEach((dd) => {
  messages[dd.dataset.k] = dd.textContent;
});

export const t = (key, vars = {}) =>
  (messages[key] || key).replace(/%\((\w+)\)s/g, (_, name) => String(vars[name] ?? ""));

// How old the phone's copy of a site's box list is, in words, on a line (`element`): "Data kotak: 5 menit
// lalu"; with no copy, that one comes when online. The line carries the copy's time as data-fetched-at.
export function showCacheAge(element, cache) {
  if (!element) return;
  const at = cache && cache.fetchedAt;
  if (!at) {
    element.textContent = cache ? "" : t("cache_none");
    return;
  }
  const minutes = Math.max(0, Math.floor((Date.now() - at) / 60_000));
  const [key, n] =
    minutes < 1 ? ["cache_age_now", 0]
    : minutes < 60 ? ["cache_age_minutes", minutes]
    : minutes < 48 * 60 ? ["cache_age_hours", Math.floor(minutes / 60)]
    : ["cache_age_days", Math.floor(minutes / 1440)];
  element.textContent = t(key, { n });
  element.dataset.fetchedAt = String(at);
}

const VERDICT_MS = { accepted: 1400, warning: 2600 };
let timer = null;
let codeAt = null;
let onClose = null;

// When the code arrived (the time to its verdict is measured from here).
export function codeArrived(at) {
  codeAt = at;
}

// The big word says what was done: an accepted scan by its action (dispatch: DIKIRIM, receive: DITERIMA),
// a scan already recorded calmly (`action` "duplicate" or "already_here"); else the verdict's own word.
function verdictWord(verdict, action) {
  const calm = action === "duplicate" || action === "already_here";
  const key = action && (calm || verdict === "accepted") ? `word_${action}` : verdict;
  return messages[key] || t(verdict);
}

export function showVerdict(verdict, text, note, action) {
  // A code half typed (a wedge scanner mid-label when the server's refusal of an earlier scan arrives):
  // the focus stays in its field, so the rest and its Enter record that scan instead of acknowledging.
  const active = document.activeElement;
  const typing = active && active.tagName === "INPUT" && active.value !== "";
  const screen = $("verdict");
  screen.className = `verdict-screen verdict-${verdict}`;
  $("verdict-word").textContent = verdictWord(verdict, action);
  $("verdict-text").textContent = text;
  $("verdict-note").textContent = note || "";
  showSource("");
  screen.hidden = false;
  // How long from the code arriving to its verdict on screen (the browser tests hold it under 300 ms).
  document.body.dataset.verdictMs = String(Math.round(performance.now() - (codeAt || performance.now())));
  $("verdict-ok").hidden = verdict !== "refused";
  feedback(verdict);
  clearTimeout(timer);
  if (verdict !== "refused") {
    timer = setTimeout(closeVerdict, VERDICT_MS[verdict]);
  } else if (!typing) {
    $("verdict-ok").focus();
  }
}

// Whose verdict is on screen: the phone's own (provisional, until the server answers) or the server's.
export function showSource(text) {
  const source = $("verdict-source");
  if (!source) return;
  source.textContent = text || "";
  source.hidden = !text;
}

export function closeVerdict() {
  clearTimeout(timer);
  $("verdict").hidden = true;
  if (onClose) onClose();
}

export function setupVerdict(afterClose) {
  onClose = afterClose;
  $("verdict-ok").addEventListener("click", closeVerdict);
  $("verdict").addEventListener("click", () => {
    if ($("verdict-ok").hidden) closeVerdict();
  });
  // A wedge scanner types the next code straight after a red verdict: its first character closes the
  // verdict (the refusal stays listed until acknowledged) and, with the rest and its Enter, goes to the
  // code field, which `afterClose` focuses before the character lands. Only Enter or a tap acknowledges.
  $("verdict").addEventListener("keydown", (event) => {
    if (event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) closeVerdict();
  });
}

// The online/offline badge in the top bar.
export function showNetwork() {
  $("net").textContent = navigator.onLine ? t("online") : t("offline");
  $("net").className = `net ${navigator.onLine ? "net-on" : "net-off"}`;
}
