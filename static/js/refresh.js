// Keeps a page's figures fresh without a <meta http-equiv="refresh"> (which reloads under the reader's
// finger, loses their place and is an axe-core violation): every N seconds while the tab is visible, fetch
// the page again and swap in the part marked data-refresh="N" (seconds). Paused while the tab is hidden (no
// data spent on a phone in a pocket), caught up as soon as it is shown again; skipped while the reader is
// working inside the part (focus in it, text selected) or offline; the page as served still works without it.
const part = document.querySelector("[data-refresh]");
const seconds = part ? Number(part.dataset.refresh) : 0;

if (part && seconds > 0) {
  let last = Date.now();
  let busy = false;

  const inUse = () =>
    part.contains(document.activeElement) || String(window.getSelection ? window.getSelection() : "").length > 0;

  async function refresh() {
    if (busy || document.hidden || !navigator.onLine || inUse()) return;
    busy = true;
    last = Date.now(); // one try per turn, whether it works or not
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      });
      if (!response.ok || response.redirected) return; // logged out or gone: leave the page as it is
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("[data-refresh]");
      if (fresh && !inUse()) {
        part.replaceChildren(...fresh.childNodes);
        part.dispatchEvent(new CustomEvent("refreshed", { bubbles: true }));
      }
    } catch {
      // no network: try again at the next turn
    } finally {
      busy = false;
    }
  }

  setInterval(() => {
    if (Date.now() - last >= seconds * 1000) refresh();
  }, 5000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - last >= seconds * 1000) refresh();
  });
}
