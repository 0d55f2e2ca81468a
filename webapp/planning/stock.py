"""Stock per item (and dapil) at a warehouse, derived from the ledger's state, held against the needs.

For one warehouse and each item type and dapil:
- ordered: vendor cartons for it still at the printer (commissioned, not yet sent);
- on the way: cartons sent towards it (to the warehouse, or in a courier's hands);
- received: cartons that arrived and are here (held, opened, or reported damaged or lost here);
- packed: packets packed here (from a carton or not);
- damaged: what was left in the cartons reported damaged or lost here;
- on hand = received - packed - damaged;
- need: what the TPS the warehouse serves need, plus the PSU reserve (planning/needs.py);
- shortage = need - packed - on hand - on the way, where positive.

Nothing is typed in: every figure is a sum over carton and packet rows the ledger's scans wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from webapp.boxes.models import Box, BoxKind, BoxStatus, ManifestLine, Packet
from webapp.custody.models import CustodyEvent
from webapp.geo.models import WAREHOUSES, Dapil, Site
from webapp.planning.models import ItemType
from webapp.planning.needs import needs_by_dapil

HERE = (BoxStatus.HELD, BoxStatus.OPENED, BoxStatus.DAMAGED, BoxStatus.LOST)
WRITTEN_OFF = (BoxStatus.DAMAGED, BoxStatus.LOST)


@dataclass
class StockRow:
    """One item (and dapil) at one warehouse."""

    item: ItemType
    dapil: Dapil | None
    need: int = 0
    ordered: int = 0
    on_the_way: int = 0
    received: int = 0
    packed: int = 0
    damaged: int = 0

    @property
    def on_hand(self) -> int:
        return self.received - self.packed - self.damaged

    @property
    def shortage(self) -> int:
        return max(0, self.need - self.packed - self.on_hand - self.on_the_way)


def warehouse_stock(session: Session, warehouse: Site) -> list[StockRow]:
    """Every item and dapil the warehouse needs, has, or has coming, in catalogue and dapil order."""
    return stock_of(session, [warehouse.id], warehouse.region_code)


def region_stock(session: Session, region_code: str) -> list[StockRow]:
    """The same for a region: what all its warehouses (provincial and kab/kota) hold and have coming,
    against what all its TPS need. A carton is at one place at a time, so nothing counts twice."""
    in_region = (  # "" is the whole country
        (Site.region_code == region_code) | Site.region_code.startswith(region_code + ".") if region_code else true()
    )
    ids = list(session.scalars(select(Site.id).where(Site.kind.in_([k.value for k in WAREHOUSES]), in_region)))
    return stock_of(session, ids, region_code)


def stock_of(session: Session, warehouse_ids: list[int], need_region: str | None) -> list[StockRow]:
    """Stock held at, coming to and packed at these warehouses, against the needs of `need_region`."""
    rows: dict[tuple[int, int | None], StockRow] = {}
    items = {item.id: item for item in session.scalars(select(ItemType))}
    dapils: dict[int, Dapil] = {}

    def row(item_id: int, dapil_id: int | None) -> StockRow:
        key = (item_id, dapil_id)
        if key not in rows:
            rows[key] = StockRow(items[item_id], None if dapil_id is None else dapils.setdefault(dapil_id, None))
        return rows[key]

    if need_region is not None:
        for (item_id, dapil_id), quantity in needs_by_dapil(session, need_region).items():
            row(item_id, dapil_id).need = quantity

    used = select(Packet.carton_id, func.sum(Packet.quantity).label("used")).group_by(Packet.carton_id).subquery()
    coming = or_(
        Box.transit_site_id.in_(warehouse_ids),
        and_(Box.transit_site_id.is_(None), Box.destination_id.in_(warehouse_ids)),  # with a courier
    )
    cartons = session.execute(
        select(
            ManifestLine.item_type_id,
            ManifestLine.dapil_id,
            Box.status,
            func.sum(ManifestLine.quantity),
            func.coalesce(func.sum(used.c.used), 0),
        )
        .join(Box, Box.id == ManifestLine.box_id)
        .outerjoin(used, used.c.carton_id == Box.id)
        .where(Box.kind == BoxKind.VENDOR_CARTON)
        .where(
            or_(
                and_(Box.status.in_(HERE), Box.current_site_id.in_(warehouse_ids)),
                and_(Box.status == BoxStatus.IN_TRANSIT, coming),
                and_(Box.status == BoxStatus.COMMISSIONED, Box.destination_id.in_(warehouse_ids)),
            )
        )
        .group_by(ManifestLine.item_type_id, ManifestLine.dapil_id, Box.status)
    ).all()
    for item_id, dapil_id, status, quantity, used_up in cartons:
        entry = row(item_id, dapil_id)
        if status == BoxStatus.COMMISSIONED:
            entry.ordered += quantity
        elif status == BoxStatus.IN_TRANSIT:
            entry.on_the_way += quantity
        else:
            entry.received += quantity
            if status in WRITTEN_OFF:
                entry.damaged += quantity - used_up
    packed = session.execute(
        select(Packet.item_type_id, Packet.dapil_id, func.sum(Packet.quantity))
        .join(CustodyEvent, CustodyEvent.id == Packet.packed_event_id)
        .where(CustodyEvent.site_id.in_(warehouse_ids))
        .group_by(Packet.item_type_id, Packet.dapil_id)
    ).all()
    for item_id, dapil_id, quantity in packed:
        row(item_id, dapil_id).packed += quantity

    wanted = [dapil_id for dapil_id in dapils if dapil_id is not None]
    if wanted:
        for dapil in session.scalars(select(Dapil).where(Dapil.id.in_(wanted))):
            dapils[dapil.id] = dapil
    for (_item_id, dapil_id), entry in rows.items():
        entry.dapil = dapils.get(dapil_id) if dapil_id is not None else None
    return sorted(rows.values(), key=lambda r: (r.item.id, r.dapil.code if r.dapil else ""))
