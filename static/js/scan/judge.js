// The verdict a phone gives at once, from its cached boxes, before (or without) the server: the same
// rules as webapp/custody/actions.py for the checks a phone can make alone. The server has the last
// word when the scan is sent; where it disagrees, its refusal is shown and kept until acknowledged.

// The sites above a destination, from its code: TPS-3175041001001 lies under PPS-3175041001,
// PPK-317504, KPU-3175 and KPU-31 (DESIGN.md section 3; route_codes_for in custody/services.py).
export function routeCodes(destination) {
  const digits = destination.replace(/^[A-Z]+-/, "");
  const codes = new Set([destination]);
  const prefixes = { 2: "KPU-", 4: "KPU-", 6: "PPK-", 10: "PPS-" };
  for (const [length, prefix] of Object.entries(prefixes)) {
    if (digits.length >= Number(length)) {
      codes.add(prefix + digits.slice(0, Number(length)));
    }
  }
  return codes;
}

// The cache as the API sends it (GET /api/v1/sites/CODE/offline) or as the phone keeps it (its rows in a
// Map by SSCC, static/js/scan/session.js), indexed by SSCC; `fetchedAt` is when it was last brought up to date.
export function indexCache(data) {
  const boxes = new Map();
  const fields = data.fields;
  for (const row of data.boxes instanceof Map ? data.boxes.values() : data.boxes) {
    const box = {};
    fields.forEach((name, i) => {
      box[name] = row[i];
    });
    boxes.set(box.sscc, box);
  }
  return {
    site: data.site,
    destinations: data.destinations || {},
    dapils: data.dapils || {},
    boxes,
    fetchedAt: data.fetched_at || null,
  };
}

// Where a box belongs, as the server says it (custody/messages.py _where): name, desa, kecamatan, dapil.
export function where(cache, box, t) {
  const place = cache.destinations[box.destination] || {};
  const parts = [place.name || box.destination];
  if (place.desa) parts.push(t("kel", { name: place.desa }));
  if (place.kecamatan) parts.push(t("kec", { name: place.kecamatan }));
  if (box.dapil) parts.push(t("dapil", { name: cache.dapils[box.dapil] || box.dapil }));
  return parts.join(", ");
}

// The actions that put seals on a box (custody/actions.py, `seals=True`).
export const SEALING = new Set(["seal", "reseal"]);

// {verdict: accepted|warning|refused, reason, vars} for one scan, judged on the cached state.
export function judge(cache, scan, t) {
  const box = cache && cache.boxes.get(scan.sscc);
  if (!box) {
    return { verdict: "warning", reason: "unknown_box", vars: {} };
  }
  const vars = { where: where(cache, box, t) };
  if (scan.action === "receive" && scan.role !== "courier") {
    if (!routeCodes(box.destination).has(scan.site)) {
      return { verdict: "refused", reason: "wrong_destination", vars, box };
    }
    const place = cache.destinations[box.destination] || {};
    const tpsDapil = place.dapils && box.contest ? place.dapils[box.contest] : null;
    if (box.dapil && tpsDapil && tpsDapil !== box.dapil) {
      const name = (code) => cache.dapils[code] || code;
      return { verdict: "refused", reason: "wrong_dapil", vars: { box: name(box.dapil), tps: name(tpsDapil) }, box };
    }
    if (box.held_at === scan.site && !box.in_transit_to) {
      return { verdict: "accepted", reason: "already_here", vars, box }; // calm: the server records nothing
    }
    if (box.in_transit_to !== scan.site) {
      return { verdict: "warning", reason: "not_in_transit_to_you", vars, box };
    }
    return { verdict: "accepted", reason: "ok_for", vars, box };
  }
  if (SEALING.has(scan.action) && box.held_at !== scan.site) {
    return { verdict: "warning", reason: "not_held_by_you", vars, box }; // sealed only where it is held
  }
  if (scan.action === "dispatch" && scan.role !== "courier" && box.held_at !== scan.site) {
    return { verdict: "warning", reason: "not_held_by_you", vars, box };
  }
  if (scan.action === "dispatch" && box.sealed === false) {
    return { verdict: "refused", reason: "not_sealed", vars, box }; // actions.py `unsealed`
  }
  if (scan.action === "dispatch" && scan.role !== "courier") {
    const to = (scan.to || "").toUpperCase();
    if (!to.startsWith("COURIER:") && !routeCodes(box.destination).has(to)) {
      return { verdict: "refused", reason: "wrong_destination", vars, box };
    }
  }
  return { verdict: "accepted", reason: "ok_for", vars, box };
}

// After an accepted scan, the cached box moves as the server will move it, so the next scan of the
// same box (a dispatch after a receipt) is judged on the new state, offline too.
export function applyLocally(box, scan) {
  if (!box) return;
  if (scan.action === "receive") {
    box.held_at = scan.role === "courier" ? null : scan.site;
    box.in_transit_to = null;
  } else if (scan.action === "dispatch") {
    box.in_transit_to = (scan.to || "").toUpperCase().startsWith("COURIER:") ? null : (scan.to || "").toUpperCase();
    box.held_at = null;
  } else if (SEALING.has(scan.action)) {
    box.sealed = true;
  }
}

// Seal numbers as a person types or scans them into one field: separated by commas, semicolons or
// spaces, each as the server takes it (api/schemas.py `Seal`: letters, digits, - / . ; at most 40
// characters; at most 20 seals). Returns the list without repeats, or null when one is not a seal number.
const SEAL = /^[A-Za-z0-9][A-Za-z0-9\-/.]{0,39}$/;
export function parseSeals(text) {
  const seals = [...new Set((text || "").split(/[\s,;]+/).filter(Boolean))];
  if (seals.length > 20 || !seals.every((seal) => SEAL.test(seal))) return null;
  return seals;
}
