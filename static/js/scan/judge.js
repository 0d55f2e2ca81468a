// The verdict a phone gives at once, from its cached boxes, before (or without) the server: the same
// rules as webapp/custody/services.py for the checks a phone can make alone. The server has the last
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

// The cache as the API sends it (GET /api/v1/sites/CODE/offline), indexed by SSCC.
export function indexCache(data) {
  const boxes = new Map();
  const fields = data.fields;
  for (const row of data.boxes) {
    const box = {};
    fields.forEach((name, i) => {
      box[name] = row[i];
    });
    boxes.set(box.sscc, box);
  }
  return { site: data.site, destinations: data.destinations || {}, dapils: data.dapils || {}, boxes };
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
  if (scan.action === "dispatch" && scan.role !== "courier") {
    if (box.held_at !== scan.site) {
      return { verdict: "warning", reason: "not_held_by_you", vars, box };
    }
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
  }
}
