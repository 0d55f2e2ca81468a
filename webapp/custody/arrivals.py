"""What a site is waiting for: the boxes in transit to it and not yet arrived, and the boxes that arrived
there today (the site's local day: WIB, WITA or WIT), each grouped by the TPS or PPS the box is finally for.

Read by the site's arrivals page (geo/views.py) and by the phone (GET /api/v1/sites/CODE/arrivals).
The caller checks the site is in the viewer's scope; the boxes are narrowed by the viewer's box scope too.
Each box is named as people name it, in the request's language: its contest as on the ballot and its
dapil, or a printer's carton by the item it holds; the codes travel alongside for the machines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from webapp.boxes.models import Box, BoxKind, BoxStatus, ManifestLine
from webapp.core.batching import chunks
from webapp.core.names import contest_label
from webapp.custody.actions import EventKind
from webapp.custody.event import utc_text
from webapp.custody.holders import site_holder
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Site
from webapp.geo.zones import Zone, local_day, site_zone
from webapp.planning.models import ItemType

LIMIT = 20_000  # a kab/kota warehouse's whole delivery fits


@dataclass
class Group:
    """The boxes of one final destination."""

    destination: Site
    boxes: list[tuple[Box, datetime | None]] = field(default_factory=list)

    def json(self, items: dict[int, str]) -> dict:
        return {
            "code": self.destination.code,
            "name": self.destination.name,
            "kind": self.destination.kind,
            "count": len(self.boxes),
            "boxes": [_box_json(box, at, items.get(box.id)) for box, at in self.boxes],
        }


@dataclass
class Arrivals:
    """A site's expected and arrived boxes on its local `day`."""

    site: Site
    zone: Zone
    day: date
    in_transit: list[Group]
    arrived_today: list[Group]
    items: dict[int, str] = field(default_factory=dict)  # a printer's carton (by box id): the item it holds

    @staticmethod
    def count(groups: list[Group]) -> int:
        return sum(len(g.boxes) for g in groups)

    def json(self) -> dict:
        return {
            "site": self.site.code,
            "name": self.site.name,
            "zone": self.zone.name,
            "day": self.day.isoformat(),
            **{
                part: {"count": self.count(groups), "destinations": [g.json(self.items) for g in groups]}
                for part, groups in (("in_transit", self.in_transit), ("arrived_today", self.arrived_today))
            },
        }


def _box_json(box: Box, at: datetime | None, item: str | None) -> dict:
    return {
        "sscc": box.sscc,
        "kind": box.kind,
        "contest": box.contest,
        # what a person reads: the contest as on its ballot, the dapil's name, a carton's item
        "contest_name": contest_label(box.contest) if box.contest else None,
        "dapil": box.dapil.name if box.dapil else None,
        "item": item,
        "set": {"index": box.set_index, "size": box.set_size},
        "status": box.status,
        # On the way: who sent it (the sender holds a box until its receiver scans it in).
        "from": box.holder_site.code if box.status == BoxStatus.IN_TRANSIT and box.holder_site else None,
        "at": utc_text(at) if at else None,
    }


def _grouped(rows: list[tuple[Box, datetime | None]]) -> list[Group]:
    groups: dict[int, Group] = {}
    for box, at in rows:
        groups.setdefault(box.destination_id, Group(box.destination)).boxes.append((box, at))
    for group in groups.values():
        group.boxes.sort(key=lambda pair: (pair[0].contest or "", pair[0].set_index, pair[0].sscc))
    return sorted(groups.values(), key=lambda g: g.destination.code)


def site_arrivals(session: Session, site: Site, visible: ColumnElement[bool], now: datetime | None = None) -> Arrivals:
    """The site's boxes on their way and arrived today; `visible` is the viewer's box clause."""
    zone = site_zone(site)
    day, start, end = local_day(zone, now)
    load = (selectinload(Box.destination), selectinload(Box.holder_site), selectinload(Box.dapil))
    on_the_way = session.scalars(
        select(Box)
        .where(Box.status == BoxStatus.IN_TRANSIT, Box.transit_site_id == site.id, visible)
        .options(*load)
        .limit(LIMIT)
    ).all()
    arrived = session.execute(
        select(Box, func.min(CustodyEvent.scanned_at))
        .join(CustodyEvent, CustodyEvent.box_id == Box.id)
        .where(
            CustodyEvent.kind == EventKind.RECEIVE,
            CustodyEvent.site_id == site.id,
            CustodyEvent.to_holder == site_holder(site.code),
            CustodyEvent.scanned_at >= start,
            CustodyEvent.scanned_at < end,
            visible,
        )
        .group_by(Box.id)
        .options(*load)
        .limit(LIMIT)
    ).all()
    return Arrivals(
        site=site,
        zone=zone,
        day=day,
        in_transit=_grouped([(box, box.last_event_at) for box in on_the_way]),
        arrived_today=_grouped([(box, at) for box, at in arrived]),
        items=_carton_items(session, [*on_the_way, *(box for box, _ in arrived)]),
    )


def _carton_items(session: Session, boxes: list[Box]) -> dict[int, str]:
    """The item each printer's carton among `boxes` holds, by its name (a carton holds one item type)."""
    ids = [box.id for box in boxes if box.kind == BoxKind.VENDOR_CARTON]
    items: dict[int, str] = {}
    for chunk in chunks(ids):
        items.update(
            session.execute(
                select(ManifestLine.box_id, ItemType.name)
                .join(ItemType, ItemType.id == ManifestLine.item_type_id)
                .where(ManifestLine.box_id.in_(chunk))
            ).all()
        )
    return items
