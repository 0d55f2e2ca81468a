// "Expected here" on the phone: the boxes on their way to the person's site and not yet arrived, and those
// that arrived there today, by the TPS or PPS each is for (GET /api/v1/sites/CODE/arrivals). Kept in
// IndexedDB for an offline start; a box this phone receives moves to "arrived today" at once, before the
// server has the scan.
import { getMeta, setMeta } from "./store.js";
import { clockText } from "./status.js";
import { t } from "./ui.js";

const shown = { site: null, data: null, fetchedAt: null, element: null };

async function load(site) {
  if (navigator.onLine) {
    try {
      const response = await fetch(`/api/v1/sites/${encodeURIComponent(site)}/arrivals`, { credentials: "same-origin" });
      if (response.ok) {
        const kept = { data: await response.json(), fetched_at: Date.now() };
        await setMeta(`arrivals:${site}`, kept);
        return { ...kept, live: true };
      }
      if (response.status === 403 || response.status === 404) return null; // not a site of this person's
    } catch (_) {
      /* offline after all: the stored copy */
    }
  }
  const kept = await getMeta(`arrivals:${site}`);
  return kept ? { ...kept, live: false } : null;
}

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

// What a box is, in the words the server sent in the person's language: the contest as on its ballot and
// its dapil ("DPRD Provinsi DKI Jakarta 6"), or the item a printer's carton holds. Never the codes.
function boxWords(box) {
  return [box.contest_name || box.item, box.dapil].filter(Boolean).join(" ");
}

function part(id, title, data, empty) {
  const section = node("details", "arrivals-part");
  section.id = id;
  section.dataset.count = String(data.count);
  section.open = data.count > 0 && id === "phone-in-transit";
  section.append(node("summary", null, title));
  if (!data.destinations.length) section.append(node("p", "muted", empty));
  const list = node("ul", "list arrivals-list");
  for (const group of data.destinations) {
    const item = node("li");
    item.dataset.destination = group.code;
    const head = node("p", "arrivals-destination");
    head.append(node("strong", "arrival-count", String(group.count)), ` · ${group.name} `, node("span", "code muted", group.code));
    const boxes = node("ul", "arrivals-boxes");
    for (const box of group.boxes) {
      const line = node("li");
      line.dataset.sscc = box.sscc;
      line.append(node("span", "code", box.sscc));
      const what = boxWords(box);
      if (what) line.append(` · ${what}`);
      line.append(" ", node("span", "muted", `${box.set.index}/${box.set.size}`));
      boxes.append(line);
    }
    item.append(head, boxes);
    list.append(item);
  }
  if (data.destinations.length) section.append(list);
  return section;
}

function render() {
  const { element, data, site } = shown;
  if (!element) return;
  element.closest(".card").hidden = !data;
  if (!data) return;
  const counts = node("p", "arrivals-counts");
  counts.append(
    node("strong", null, String(data.in_transit.count)),
    ` ${t("arrivals_on_the_way")} · `,
    node("strong", null, String(data.arrived_today.count)),
    ` ${t("arrivals_arrived", { zone: data.zone })}`,
  );
  counts.dataset.inTransit = String(data.in_transit.count);
  counts.dataset.arrivedToday = String(data.arrived_today.count);
  const parts = [counts];
  if (!shown.live && shown.fetchedAt) parts.push(node("p", "muted small", t("arrivals_as_of", { when: clockText(shown.fetchedAt) })));
  parts.push(
    part("phone-in-transit", t("arrivals_in_transit_title", { n: data.in_transit.count }), data.in_transit, t("arrivals_none_on_the_way")),
    part("phone-arrived-today", t("arrivals_arrived_title", { n: data.arrived_today.count }), data.arrived_today, t("arrivals_none_arrived")),
  );
  const link = node("a", "button secondary", t("arrivals_see_all"));
  link.href = `/sites/${encodeURIComponent(site)}/arrivals`;
  link.id = "phone-arrivals-link";
  parts.push(node("p"));
  parts[parts.length - 1].append(link);
  element.replaceChildren(...parts);
}

// Show the site's arrivals in the element (its card is hidden while there is nothing to show).
export async function showArrivals(elementId, site) {
  shown.element = document.getElementById(elementId);
  if (!site) {
    Object.assign(shown, { site: null, data: null });
    return render();
  }
  const found = await load(site);
  Object.assign(shown, { site, data: found ? found.data : null, fetchedAt: found && found.fetched_at, live: Boolean(found && found.live) });
  render();
}

// A box this phone has just received at the shown site: from "on the way" to "arrived today" at once.
export async function arrivedHere(sscc, site) {
  const data = shown.data;
  if (!data || site !== shown.site) return;
  for (const group of data.in_transit.destinations) {
    const index = group.boxes.findIndex((box) => box.sscc === sscc);
    if (index < 0) continue;
    const [box] = group.boxes.splice(index, 1);
    group.count -= 1;
    data.in_transit.count -= 1;
    data.in_transit.destinations = data.in_transit.destinations.filter((g) => g.count > 0);
    let target = data.arrived_today.destinations.find((g) => g.code === group.code);
    if (!target) {
      target = { code: group.code, name: group.name, kind: group.kind, count: 0, boxes: [] };
      data.arrived_today.destinations.push(target);
      data.arrived_today.destinations.sort((a, b) => a.code.localeCompare(b.code));
    }
    target.boxes.push({ ...box, status: "held", from: null, at: new Date().toISOString() });
    target.count += 1;
    data.arrived_today.count += 1;
    await setMeta(`arrivals:${site}`, { data, fetched_at: shown.fetchedAt || Date.now() });
    render();
    return;
  }
}
