"""The ledger as an EPCIS 2.0 JSON-LD document, streamed event by event so a whole province exports in
constant memory.

Each custody event becomes an ObjectEvent (commission = ADD, void = DELETE, the rest OBSERVE) with the
box's GS1 Digital Link URI in `epcList`; a `pack` event becomes an AggregationEvent whose parent is the
box and whose child is the packet. bizStep and disposition come from CBV (each action's `epcis` in custody/actions.py); a handover's
sender and receiver are `possessing_party` source and destination. Sites and couriers are named by
URIs under the app's public address. No notes, GPS or witnesses leave in this export. The document ends
with `"jejak:complete": {"events": N}` (the `jejak` prefix is declared in its @context), written after
the last event only: a document cut off in transit lacks it.

A corrected event (custody/corrections.py) carries an `errorDeclaration`: declared when its correction was
recorded, for the CBV reason `incorrect_data`, naming the correction event's eventID. Every eventID is the
event's ledger hash (`ni:///sha-256;HASH?ver=CBV2.0`), so the declaration names the very ledger event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from webapp.boxes.models import Box, Packet
from webapp.custody import event as event_declaration
from webapp.custody.actions import ACTIONS, EventKind
from webapp.custody.event import utc_text
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"  # a name, never fetched by us
# The document's last member: written only once every event is, so a client can tell a whole document.
COMPLETE = "jejak:complete"


def _party(base: str, holder: str | None) -> str | None:
    if not holder:
        return None
    kind, _, name = holder.partition(":")
    return f"{base}/sites/{name}" if kind == "site" else f"{base}/people/{name}"


# The event's fields that the export carries (custody/event.py marks each with what it becomes here).
EXPORTED = tuple(f for f in event_declaration.FIELDS if f.epcis)


def event_id(event_hash: str) -> str:
    """An event's EPCIS eventID: its ledger hash as a named-information URI (RFC 6920)."""
    return f"ni:///sha-256;{event_hash}?ver=CBV2.0"


def epcis_event(row: Mapping, base: str) -> dict:
    """One ledger event (its EXPORTED fields by name, `packet`, and for a corrected event `corrected_by`
    and `corrected_at`) as EPCIS 2.0 JSON-LD."""
    kind = row["kind"]
    action = ACTIONS[kind]
    step, disposition = action.epcis
    event = {
        "type": "ObjectEvent",
        "eventID": event_id(row["hash"]),
        "eventTime": utc_text(row["scanned_at"]),
        "recordTime": utc_text(row["recorded_at"]),
        "eventTimeZoneOffset": "+00:00",
        "action": action.epcis_action,
        "bizStep": step,
        "disposition": disposition,
    }
    link = f"{base}/00/{row['box']}"
    if kind == EventKind.PACK and row["packet"]:
        event.update(type="AggregationEvent", parentID=link, childEPCs=[f"{base}/00/{row['packet']}"])
    else:
        event["epcList"] = [link]
    if row["site"]:
        event["readPoint"] = {"id": f"{base}/sites/{row['site']}"}
    if kind in (EventKind.DISPATCH, EventKind.RECEIVE):
        source, destination = _party(base, row["from"]), _party(base, row["to"])
        if source:
            event["sourceList"] = [{"type": "possessing_party", "source": source}]
        if destination:
            event["destinationList"] = [{"type": "possessing_party", "destination": destination}]
    if row.get("corrected_by"):
        event["errorDeclaration"] = {
            "declarationTime": utc_text(row["corrected_at"]),
            "reason": "incorrect_data",
            "correctiveEventIDs": [event_id(row["corrected_by"])],
        }
    return event


def _rows(session: Session, region: str, start: datetime, end: datetime):
    dest = aliased(Site)
    here = aliased(Site)
    t = CustodyEvent.__table__
    fix = CustodyEvent.__table__.alias("fix")  # the correction of a corrected event
    named = {"box_id": Box.sscc, "site_id": here.code}
    query = (
        select(
            *(named.get(f.column, t.c[f.column]).label(f.name) for f in EXPORTED),
            Packet.sscc.label("packet"),
            fix.c.hash.label("corrected_by"),
            fix.c.recorded_at.label("corrected_at"),
        )
        .join(Box, Box.id == t.c.box_id)
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(here, here.id == t.c.site_id)
        .outerjoin(Packet, Packet.packed_event_id == t.c.id)
        .outerjoin(fix, (fix.c.corrects == t.c.hash) & (fix.c.box_id == t.c.box_id) & (fix.c.kind == "correct"))
        .where(t.c.scanned_at >= start, t.c.scanned_at < end)
        .order_by(t.c.id)
        .execution_options(yield_per=2000, stream_results=True)
    )
    if region:
        query = query.where((dest.region_code == region) | dest.region_code.startswith(region + "."))
    return session.execute(query).mappings()


def stream_document(session: Session, *, region: str, start: datetime, end: datetime, base: str) -> Iterator[str]:
    """The EPCIS document as text chunks: header, each event, footer.

    The footer's last member, `"jejak:complete": {"events": N}`, comes only after the last event: a
    document without it (or whose eventList holds another number of events) was cut off. A cut anywhere
    also leaves the JSON unparseable, since the closing brackets come last.
    """
    header = {
        "@context": [CONTEXT, {"jejak": f"{base}/ns/epcis#"}],
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
            yield ("," if count else "") + json.dumps(epcis_event(row, base), ensure_ascii=False)
            count += 1
    finally:
        rows.close()  # the server-side cursor, also after a failure or when the client went away
    yield "]}, " + json.dumps({COMPLETE: {"events": count}})[1:]
