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

// The site's offline cache (GET /api/v1/sites/CODE/offline), refreshed when online, indexed by SSCC.
export async function fetchCache(site) {
  if (!site) return null;
  let data = null;
  if (navigator.onLine) {
    try {
      const response = await fetch(`/api/v1/sites/${encodeURIComponent(site)}/offline`, { credentials: "same-origin" });
      if (response.ok) {
        data = await response.json();
        await store.setMeta(`cache:${site}`, data);
      }
    } catch (_) {
      /* offline after all: the stored copy */
    }
  }
  data = data || (await store.getMeta(`cache:${site}`));
  return data ? indexCache(data) : null;
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
