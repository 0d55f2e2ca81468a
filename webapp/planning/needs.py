"""Needs (kebutuhan): what every TPS needs by the norms, summed per desa, kecamatan, kab/kota and province.

Each TPS's need is computed by its own norm and rounded up per TPS (DPT + 2% of ballots, say: 300
voters need 306), then summed, so a region's total is exactly the sum of its TPS. It runs as one SQL
aggregate over TPS x item types, so a province or the whole country costs one query, not a loop.
A TPS has a box per contest: Presiden, and each contest its dapil links name (DPR, DPD, DPRD).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import BigInteger, Integer, and_, case, cast, exists, func, literal, or_, select, true
from sqlalchemy.orm import Session

from webapp.geo.models import Contest, Dapil, Region, Site, SiteKind, TpsDapil
from webapp.planning.models import ItemType, NormBasis

PSU_BALLOTS_PER_DAPIL = 1000  # reserve for repeat voting (PSU), per dapil and ballot type
CHILD_LENGTH = {0: 2, 2: 5, 5: 8, 8: 13}  # a region code's length -> its children's code length


@dataclass
class NeedRow:
    """One region (or TPS) and what its TPS need, by item code."""

    code: str
    name: str
    tps: int = 0
    dpt: int = 0
    items: dict[str, int] = field(default_factory=dict)


@dataclass
class Needs:
    """A region's needs: its total, its children's (kecamatan of a kab/kota, TPS of a desa...) and PSU reserve."""

    region: str
    name: str
    items: list[ItemType]
    total: NeedRow
    children: list[NeedRow]
    psu: dict[str, int]


def _in_region(region_code: str):
    if not region_code:  # the whole country
        return true()
    return or_(Site.region_code == region_code, Site.region_code.startswith(region_code + "."))


def _need_expression(tps, item):
    """One TPS's need of one item, in SQL, with the same integer rounding as ItemType.need_for."""
    reserve = cast(func.round(item.c.reserve_pct * 100), Integer)  # hundredths of a percent
    voters = cast(func.coalesce(tps.c.dpt, 0), BigInteger)  # 1,000 voters x 100,000 x 20,000 > 2^31
    per_voter = (voters * item.c.quantity * (10000 + reserve) + 9999) // 10000  # ceil
    return case(
        (item.c.basis == NormBasis.PER_TPS, item.c.quantity),
        (item.c.basis == NormBasis.PER_BOX, item.c.quantity * tps.c.boxes),
        else_=per_voter,
    )


def _tps_items(region_code: str):
    """The region's TPS (with their box count), the item table, and the condition that an item applies
    to a TPS (no contest, Presiden, or a contest the TPS has a dapil for)."""
    links = select(func.count(TpsDapil.contest)).where(TpsDapil.site_id == Site.id).scalar_subquery()
    tps = (
        select(
            Site.id, Site.code, Site.name, Site.region_code, Site.dpt, (literal(1) + links).label("boxes")
        )  # Presiden + one per dapil contest
        .where(Site.kind == SiteKind.TPS, _in_region(region_code))
        .subquery("tps")
    )
    item = ItemType.__table__.alias("item")
    applies = or_(
        item.c.contest.is_(None),
        item.c.contest == Contest.PRESIDEN,
        exists().where(and_(TpsDapil.site_id == tps.c.id, TpsDapil.contest == item.c.contest)),
    )
    return tps, item, applies


def compute_needs(session: Session, region_code: str) -> Needs:
    """The needs of every TPS in a region (a province, kab/kota, kecamatan or desa code), summed."""
    region = session.get(Region, region_code) if region_code else None
    items = session.scalars(select(ItemType).order_by(ItemType.id)).all()
    tps, item, applies = _tps_items(region_code)
    child_length = CHILD_LENGTH.get(len(region_code))
    child = func.substr(tps.c.region_code, 1, child_length) if child_length else tps.c.code
    need = _need_expression(tps, item)
    rows = session.execute(
        select(child.label("child"), item.c.code, func.sum(need))
        .select_from(tps.join(item, applies))
        .group_by(child, item.c.code)
    ).all()
    counts = session.execute(
        select(child.label("child"), func.count(), func.coalesce(func.sum(tps.c.dpt), 0)).group_by(child)
    ).all()
    if child_length:
        parent = Region.parent_code == region_code if region_code else Region.parent_code.is_(None)
        names = dict(session.execute(select(Region.code, Region.name).where(parent)).all())
    else:
        names = dict(session.execute(select(tps.c.code, tps.c.name)).all())
    children = {code: NeedRow(code, names.get(code, code), tps=n, dpt=int(dpt)) for code, n, dpt in counts}
    total = NeedRow(region_code or "ID", region.name if region else "Indonesia")
    for code, item_code, quantity in rows:
        children[code].items[item_code] = int(quantity)
        total.items[item_code] = total.items.get(item_code, 0) + int(quantity)
    total.tps = sum(c.tps for c in children.values())
    total.dpt = sum(c.dpt for c in children.values())
    return Needs(
        region=region_code,
        name=total.name,
        items=list(items),
        total=total,
        children=sorted(children.values(), key=lambda c: c.code),
        psu=psu_reserve(session, region_code, items),
    )


def psu_reserve(session: Session, region_code: str, items: list[ItemType]) -> dict[str, int]:
    """1,000 ballots per dapil and ballot type for every dapil with a TPS in the region."""
    dapils = dict(
        session.execute(
            select(TpsDapil.contest, func.count(func.distinct(TpsDapil.dapil_id)))
            .join(Site, Site.id == TpsDapil.site_id)
            .join(Dapil, Dapil.id == TpsDapil.dapil_id)
            .where(_in_region(region_code))
            .group_by(TpsDapil.contest)
        ).all()
    )
    return {
        item.code: PSU_BALLOTS_PER_DAPIL * dapils.get(item.contest, 0)
        for item in items
        if item.per_dapil and item.basis == NormBasis.PER_VOTER and dapils.get(item.contest)
    }


def needs_by_dapil(session: Session, region_code: str) -> dict[tuple[int, int | None], int]:
    """What the TPS of a region need, by (item type id, dapil id): ballots by their dapil, everything else
    with dapil None; plus the PSU reserve of every ballot item and dapil. A warehouse's stock is held
    against these (planning/stock.py)."""
    tps, item, applies = _tps_items(region_code)
    link = TpsDapil.__table__.alias("link")
    dapil_of = and_(link.c.site_id == tps.c.id, link.c.contest == item.c.contest, item.c.per_dapil)
    rows = session.execute(
        select(item.c.id, link.c.dapil_id, func.sum(_need_expression(tps, item)))
        .select_from(tps.join(item, applies).outerjoin(link, dapil_of))
        .group_by(item.c.id, link.c.dapil_id)
    ).all()
    needs = {(item_id, dapil_id): int(quantity) for item_id, dapil_id, quantity in rows}
    ballots = session.execute(
        select(ItemType.id, TpsDapil.dapil_id)
        .join(TpsDapil, TpsDapil.contest == ItemType.contest)
        .join(Site, Site.id == TpsDapil.site_id)
        .where(ItemType.per_dapil, ItemType.basis == NormBasis.PER_VOTER, _in_region(region_code))
        .distinct()
    ).all()
    for item_id, dapil_id in ballots:
        needs[(item_id, dapil_id)] = needs.get((item_id, dapil_id), 0) + PSU_BALLOTS_PER_DAPIL
    return needs
