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

// The site's offline box list, kept on the phone in a form that is cheap to read back, in two IndexedDB
// meta records written together: `cache:SITE` {site, area, fields, cursor, count, fetched_at (ms)} and
// `rows:SITE`, one JSON string {boxes: [rows], destinations, dapils}. IndexedDB hands back one string in a
// few milliseconds where 31,140 small arrays cost a slow phone a second and more; the string is parsed and
// indexed only when a scan first needs it, or as soon as the page is idle (`warm`). `refreshCache` asks only
// for what changed since the cursor (GET .../offline?since=CURSOR); when nothing did, only the header is
// written again.
const headerKey = (site) => `cache:${site}`;
const rowsKey = (site) => `rows:${site}`;

function pack(list) {
  const { boxes, destinations, dapils, ...header } = list;
  return { ...header, body: JSON.stringify({ boxes: [...boxes.values()], destinations, dapils }) };
}

function unpack(stored) {
  const { body, ...header } = stored;
  const parsed = JSON.parse(body);
  return { ...header, ...parsed, boxes: new Map(parsed.boxes.map((row) => [row[0], row])) };
}

async function storedList(site) {
  const [header, body] = await store.getMetas([headerKey(site), rowsKey(site)]);
  if (!header) return null;
  if (typeof body === "string" && !header.boxes) return { ...header, body };
  if (!header.boxes) return null;
  // A copy stored whole by an earlier version (rows in a Map, or in an array without a cursor): packed as it is.
  const rows = header.boxes instanceof Map ? [...header.boxes.values()] : header.boxes;
  const cursor = header.boxes instanceof Map ? header.cursor : null;
  const list = { ...header, cursor, fetched_at: header.fetched_at || null };
  return pack({ ...list, boxes: new Map(rows.map((row) => [row[0], row])) });
}

async function keep(site, stored, bodyToo = true) {
  const { body, ...header } = stored;
  await store.setMetas(bodyToo ? [[headerKey(site), header], [rowsKey(site), body]] : [[headerKey(site), header]]);
}

// The cache a screen judges scans from: what `judge` reads (`boxes`, `destinations`, `dapils`), indexed on
// first use; `size` (the boxes held) and `fetchedAt` (when last brought up to date) are known at once.
// `index` is shared with a cache opened from the same list (a refresh that found nothing changed).
function openCache(stored, index = null) {
  const load = () => {
    if (!index.value) index.value = indexCache(unpack(stored));
    return index.value;
  };
  index = index || { value: null };
  return {
    site: stored.site,
    size: stored.count,
    fetchedAt: stored.fetched_at || null,
    shared: index,
    get boxes() {
      return load().boxes;
    },
    get destinations() {
      return load().destinations;
    },
    get dapils() {
      return load().dapils;
    },
    // Index now, while nobody scans (one slice of main-thread work a moment after the screen is ready).
    warm() {
      setTimeout(load, 50);
    },
  };
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

// Nothing changed since the stored copy: the answer to `?since=` names no box, no place and the same count.
function unchanged(kept, data) {
  const none = (object) => !object || Object.keys(object).length === 0;
  return (
    !data.full &&
    data.count === kept.count &&
    !(data.boxes || []).length &&
    !(data.gone || []).length &&
    none(data.destinations) &&
    none(data.dapils) &&
    JSON.stringify(data.fields) === JSON.stringify(kept.fields)
  );
}

const refreshing = new Map(); // site -> the refresh under way (one at a time per site)

// Bring the stored copy up to date from the server: the changes since its cursor, or the whole list when
// the phone has none (or its merged copy does not have the server's count of boxes). Returns the new cache
// (`known`: the cache the caller holds, whose index is kept when nothing changed), or null when offline or
// refused (the stored copy stays as it was).
export function refreshCache(site, known = null) {
  if (!site || !navigator.onLine) return Promise.resolve(null);
  if (!refreshing.has(site)) {
    const run = (async () => {
      try {
        const kept = await storedList(site);
        let data = kept && kept.cursor ? await getList(site, kept.cursor) : null;
        if (data && unchanged(kept, data)) {
          const stored = { ...kept, cursor: data.cursor, fetched_at: Date.now() };
          await keep(site, stored, false);
          return openCache(stored, known && known.site === site ? known.shared : null);
        }
        const sameFields = (answer) => JSON.stringify(answer.fields) === JSON.stringify(kept.fields);
        let list = data && (data.full || sameFields(data)) ? merged(unpack(kept), data) : null;
        if (!list || list.boxes.size !== list.count) {
          data = await getList(site, null); // no copy, an old one, or one that lost count: the whole list
          list = data ? merged(null, data) : null;
        }
        if (!list) return null;
        const stored = pack(list);
        await keep(site, stored);
        return openCache(stored);
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
  const stored = await storedList(site);
  const kept = stored ? openCache(stored) : null;
  const fresh = refreshCache(site, kept);
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
