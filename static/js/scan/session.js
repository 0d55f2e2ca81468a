// Who is scanning and which boxes the phone knows: from the API when online, else as last stored.
import { indexCache } from "./judge.js";
import * as store from "./store.js";

// {me, csrf, loggedOut}: the user (stored for offline starts) and the CSRF token for writes.
export async function fetchMe() {
  try {
    const response = await fetch("/api/v1/me", { credentials: "same-origin" });
    if (response.ok) {
      const me = await response.json();
      await store.setMeta("me", { ...me, csrf_token: null });
      return { me, csrf: me.csrf_token, loggedOut: false };
    }
    if (response.status === 401) return { me: null, csrf: null, loggedOut: true };
  } catch (_) {
    /* offline: who was here last */
  }
  return { me: (await store.getMeta("me")) || null, csrf: null, loggedOut: false };
}

// The site's offline box list, kept on the phone (IndexedDB meta `cache:SITE`): {site, area, fields, cursor,
// count, fetched_at (ms), destinations, dapils, boxes: Map SSCC -> row}. A scanner opens from it at once;
// `refreshCache` then asks only for what changed since its cursor (GET .../offline?since=CURSOR) and merges.
function cacheKey(site) {
  return `cache:${site}`;
}

async function storedList(site) {
  const kept = await store.getMeta(cacheKey(site));
  if (!kept) return null;
  if (kept.boxes instanceof Map) return kept;
  // A copy stored whole by an earlier version (rows in an array, no cursor): used as it is, replaced on refresh.
  return { ...kept, cursor: null, fetched_at: kept.fetched_at || null, boxes: new Map(kept.boxes.map((row) => [row[0], row])) };
}

// The stored copy, indexed (null if the phone has none for this site): no network, so a scan is judged at once.
export async function storedCache(site) {
  if (!site) return null;
  const kept = await storedList(site);
  return kept ? indexCache(kept) : null;
}

async function getList(site, since) {
  const query = since ? `?since=${encodeURIComponent(since)}` : "";
  const response = await fetch(`/api/v1/sites/${encodeURIComponent(site)}/offline${query}`, { credentials: "same-origin" });
  return response.ok ? response.json() : null;
}

function merged(kept, data) {
  const boxes = data.full ? new Map() : new Map(kept.boxes);
  for (const sscc of data.gone || []) boxes.delete(sscc);
  for (const row of data.boxes) boxes.set(row[0], row);
  return {
    site: data.site,
    area: data.area,
    fields: data.fields,
    cursor: data.cursor,
    count: data.count,
    fetched_at: Date.now(),
    destinations: data.full ? data.destinations : { ...kept.destinations, ...data.destinations },
    dapils: data.full ? data.dapils : { ...kept.dapils, ...data.dapils },
    boxes,
  };
}

const refreshing = new Map(); // site -> the refresh under way (one at a time per site)

// Bring the stored copy up to date from the server: the changes since its cursor, or the whole list when
// the phone has none (or its merged copy does not have the server's count of boxes). Returns the new
// indexed cache, or null when offline or refused (the stored copy stays as it was).
export function refreshCache(site, known = undefined) {
  if (!site || !navigator.onLine) return Promise.resolve(null);
  if (!refreshing.has(site)) {
    const run = (async () => {
      try {
        // The copy the caller has just read (reading 30,000 boxes again costs a slow phone a second).
        const kept = known === undefined ? await storedList(site) : known;
        const sameFields = (data) => !kept || JSON.stringify(data.fields) === JSON.stringify(kept.fields);
        let data = kept && kept.cursor ? await getList(site, kept.cursor) : null;
        let list = data && (data.full || sameFields(data)) ? merged(kept, data) : null;
        if (!list || list.boxes.size !== list.count) {
          data = await getList(site, null); // no copy, an old one, or one that lost count: the whole list
          list = data ? merged(null, data) : null;
        }
        if (!list) return null;
        await store.setMeta(cacheKey(site), list);
        return indexCache(list);
      } catch (_) {
        return null; /* offline after all: the stored copy stays */
      } finally {
        refreshing.delete(site);
      }
    })();
    refreshing.set(site, run);
  }
  return refreshing.get(site);
}

// The site's cache for a screen: the stored copy at once, refreshed in the background (`onFresh` gets the
// new cache when it arrives); without a stored copy, the first download is waited for.
export async function fetchCache(site, onFresh = () => {}) {
  if (!site) return null;
  const list = await storedList(site);
  const kept = list ? indexCache(list) : null;
  const fresh = refreshCache(site, list);
  if (!kept) return fresh;
  fresh.then((cache) => cache && onFresh(cache));
  return kept;
}

// Put one scan in the outbox (the payload of POST /api/v1/scans/batch), as `owner`'s.
export async function record(fields, owner = null) {
  return store.enqueue(
    {
      id: crypto.randomUUID(),
      scanned_at: new Date().toISOString(),
      device_id: await store.deviceId(),
      ...fields,
    },
    owner,
  );
}
