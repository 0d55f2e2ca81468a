"""The ledger as an EPCIS 2.0 JSON-LD document, streamed event by event so a whole province exports in
constant memory.

Each custody event becomes an ObjectEvent with the box's GS1 Digital Link URI in `epcList`: the first
label print is a commissioning (ADD), a label reprint an observation (OBSERVE, bizStep `encoding`) of the
box that already exists, a void a DELETE, the rest OBSERVE. A `pack` event becomes an AggregationEvent
(ADD) whose parent is the box and whose child is the packet. bizStep and disposition are CBV 2.0 words
(each action's `epcis` in custody/actions.py): packing leaves a box `in_progress`; only a seal (or reseal)
makes it `container_closed`.

Places are named by their sites' GS1 location numbers (geo/gln.py) as GS1 Digital Links,
`https://id.gs1.org/414/<GLN>`: `readPoint` is the site where the scan was made, `bizLocation` the site
where the box is after it (none for a dispatch, the box being in transit, nor for a loss). A handover's
sending and receiving sites are `location` entries of `sourceList` / `destinationList` and, as the
organisations holding the box, `possessing_party` entries (`https://id.gs1.org/417/<GLN>`). A person (a
courier) is never named: a side held by a person is left out. No notes, GPS, witnesses, usernames or names
leave in this export.

`eventTime` is written in the local time of the site (WIB +07:00, WITA +08:00, WIT +09:00; geo/zones.py)
with that `eventTimeZoneOffset`. `eventID` is the EPCIS event hash ID of the event as exported
(exports/event_hash.py, CBV 2.0 section 8.9), which anyone can recompute; the ledger's own chain hash
travels as `jejak:chainHash`. The document ends with `"jejak:complete": {"events": N}` (the `jejak`
prefix is declared in its @context), written after the last event only: a document cut off in transit
lacks it.

A corrected event (custody/corrections.py) carries an `errorDeclaration`: declared when its correction was
recorded, for the CBV reason `incorrect_data`, naming the eventID of the correction event. An error
declaration is no part of the event hash, so the corrected event keeps its eventID.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from webapp.boxes.models import Box, Packet
from webapp.custody import event as event_declaration
from webapp.custody.actions import ACTIONS, EventKind
from webapp.custody.event import utc_text
from webapp.custody.holders import SITE
from webapp.custody.models import CustodyEvent
from webapp.exports.event_hash import event_hash_id
from webapp.geo.models import Site
from webapp.geo.zones import ZONES, zone_of

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"  # a name, never fetched by us
# The document's last member: written only once every event is, so a client can tell a whole document.
COMPLETE = "jejak:complete"
CHAIN_HASH = "jejak:chainHash"
LOCATION = "https://id.gs1.org/414/"
PARTY = "https://id.gs1.org/417/"
# A label reprint: an observation that a label for the box was printed again (CBV 2.0 bizStep `encoding`).
REPRINT = ("encoding", "active")
# Where the box is after the event is not a site: on its way, or lost.
NO_BIZ_LOCATION = frozenset({EventKind.DISPATCH, EventKind.LOSS})

# The event's fields that the export carries (custody/event.py marks each with what it becomes here).
EXPORTED = tuple(f for f in event_declaration.FIELDS if f.epcis)


def namespaces(base: str) -> dict[str, str]:
    """The document's own prefix: Jejak's extension fields."""
    return {"jejak": f"{base}/ns/epcis#"}


def _local(moment: datetime, where) -> tuple[str, str]:
    """A UTC moment as the site's local time with milliseconds, and that offset."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    zone = ZONES[zone_of(where)]
    return moment.astimezone(zone.tzinfo).isoformat(timespec="milliseconds"), f"+{zone.hours:02d}:00"


def _side(gln: str | None, member: str) -> list[dict]:
    """A handover side held by a site: its place and its organisation; nothing for a person."""
    if not gln:
        return []
    return [{"type": "location", member: LOCATION + gln}, {"type": "possessing_party", member: PARTY + gln}]


def epcis_event(row: Mapping, base: str) -> dict:
    """One ledger event as EPCIS 2.0 JSON-LD. `row`: its EXPORTED fields by name, `packet`, `reprint`, its
    site's `site_gln` and `site_region`, `from_gln` / `to_gln` for handover sides held by sites, and for a
    corrected event `corrected_at` and `correction` (the correcting event's row of the same shape)."""
    kind = row["kind"]
    action = ACTIONS[kind]
    step, disposition = REPRINT if row.get("reprint") else action.epcis
    event_time, offset = _local(row["scanned_at"], row.get("site_region") or row.get("site"))
    event = {
        "type": "ObjectEvent",
        "eventTime": event_time,
        "eventTimeZoneOffset": offset,
        "recordTime": utc_text(row["recorded_at"]),
    }
    link = f"{base}/00/{row['box']}"
    if kind == EventKind.PACK and row.get("packet"):
        event.update(type="AggregationEvent", parentID=link, childEPCs=[f"{base}/00/{row['packet']}"])
    else:
        event["epcList"] = [link]
    event.update(action="OBSERVE" if row.get("reprint") else action.epcis_action, bizStep=step)
    event["disposition"] = disposition
    if row.get("site_gln"):
        event["readPoint"] = {"id": LOCATION + row["site_gln"]}
        if kind not in NO_BIZ_LOCATION:
            event["bizLocation"] = {"id": LOCATION + row["site_gln"]}
    if kind in (EventKind.DISPATCH, EventKind.RECEIVE):
        if sources := _side(row.get("from_gln"), "source"):
            event["sourceList"] = sources
        if destinations := _side(row.get("to_gln"), "destination"):
            event["destinationList"] = destinations
    event[CHAIN_HASH] = row["hash"]
    event = {"type": event["type"], "eventID": event_hash_id(event, [namespaces(base)]), **event}
    if row.get("correction"):
        event["errorDeclaration"] = {
            "declarationTime": utc_text(row["corrected_at"]),
            "reason": "incorrect_data",
            "correctiveEventIDs": [epcis_event(row["correction"], base)["eventID"]],
        }
    return event


def _holder_site(holder_column):
    """An alias of Site joined on a `site:CODE` holder (no row for a person)."""
    site = aliased(Site)
    return site, and_(holder_column.like(SITE + "%"), site.code == func.substr(holder_column, len(SITE) + 1))


def _query(*conditions, region: str = ""):
    """Every event's row for `epcis_event`, in ledger order, where `conditions` hold (on the event table,
    `CustodyEvent.__table__`, on Box and on Packet) and, with `region`, of the boxes bound there."""
    dest = aliased(Site)
    here = aliased(Site)
    t = CustodyEvent.__table__
    fix = CustodyEvent.__table__.alias("fix")  # the correction of a corrected event
    there = aliased(Site)  # where the correction was recorded
    prior = CustodyEvent.__table__.alias("prior")  # an earlier label print of the box
    source, source_on = _holder_site(t.c.from_holder)
    target, target_on = _holder_site(t.c.to_holder)
    named = {"box_id": Box.sscc, "site_id": here.code}
    query = (
        select(
            *(named.get(f.column, t.c[f.column]).label(f.name) for f in EXPORTED),
            Packet.sscc.label("packet"),
            here.gln.label("site_gln"),
            here.region_code.label("site_region"),
            source.gln.label("from_gln"),
            target.gln.label("to_gln"),
            (
                (t.c.kind == EventKind.COMMISSION.value)
                & exists().where(
                    prior.c.box_id == t.c.box_id,
                    prior.c.kind == EventKind.COMMISSION.value,
                    prior.c.box_seq < t.c.box_seq,
                )
            ).label("reprint"),
            fix.c.hash.label("fix_hash"),
            fix.c.kind.label("fix_kind"),
            fix.c.scanned_at.label("fix_scanned_at"),
            fix.c.recorded_at.label("corrected_at"),
            there.code.label("fix_site"),
            there.gln.label("fix_site_gln"),
            there.region_code.label("fix_site_region"),
        )
        .join(Box, Box.id == t.c.box_id)
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(here, here.id == t.c.site_id)
        .outerjoin(source, source_on)
        .outerjoin(target, target_on)
        .outerjoin(Packet, Packet.packed_event_id == t.c.id)
        .outerjoin(fix, (fix.c.corrects == t.c.hash) & (fix.c.box_id == t.c.box_id) & (fix.c.kind == "correct"))
        .outerjoin(there, there.id == fix.c.site_id)
        .where(*conditions)
        .order_by(t.c.id)
    )
    if region:
        query = query.where((dest.region_code == region) | dest.region_code.startswith(region + "."))
    return query


def _rows(session: Session, region: str, start: datetime, end: datetime):
    t = CustodyEvent.__table__
    query = _query(t.c.scanned_at >= start, t.c.scanned_at < end, region=region)
    return session.execute(query.execution_options(yield_per=2000, stream_results=True)).mappings()


def query_events(
    session: Session, conditions: list, *, after: int, limit: int, base: str
) -> tuple[list[dict], int | None]:
    """Up to `limit` events after ledger id `after` where `conditions` hold, as EPCIS events, and the id to
    go on after when there may be more (else None)."""
    query = _query(CustodyEvent.__table__.c.id > after, *conditions).add_columns(
        CustodyEvent.__table__.c.id.label("ledger_id")
    )
    rows = session.execute(query.limit(limit + 1)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [epcis_event(_with_correction(row), base) for row in rows], rows[-1]["ledger_id"] if more else None


def _with_correction(row: Mapping) -> dict:
    """The row, with its correcting event's own row (what the correction's eventID is computed from)."""
    row = dict(row)
    if row["fix_hash"]:
        row["correction"] = {
            "kind": row["fix_kind"],
            "box": row["box"],
            "scanned_at": row["fix_scanned_at"],
            "recorded_at": row["corrected_at"],
            "site": row["fix_site"],
            "site_gln": row["fix_site_gln"],
            "site_region": row["fix_site_region"],
            "hash": row["fix_hash"],
        }
    return row


def stream_document(session: Session, *, region: str, start: datetime, end: datetime, base: str) -> Iterator[str]:
    """The EPCIS document as text chunks: header, each event, footer.

    The footer's last member, `"jejak:complete": {"events": N}`, comes only after the last event: a
    document without it (or whose eventList holds another number of events) was cut off. A cut anywhere
    also leaves the JSON unparseable, since the closing brackets come last.
    """
    header = {
        "@context": [CONTEXT, namespaces(base)],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_text(datetime.now(start.tzinfo)),
        "epcisBody": {"eventList": []},
    }
    opening = json.dumps(header, ensure_ascii=False)
    yield opening[: -len("]}}")]  # up to the open event list
    count = 0
    rows = _rows(session, region, start, end)
    try:
        for row in rows:
            yield ("," if count else "") + json.dumps(epcis_event(_with_correction(row), base), ensure_ascii=False)
            count += 1
    finally:
        rows.close()  # the server-side cursor, also after a failure or when the client went away
    yield "]}, " + json.dumps({COMPLETE: {"events": count}})[1:]
