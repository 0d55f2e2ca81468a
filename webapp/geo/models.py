"""Regions, electoral districts (dapil) and sites where custody changes hands."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    bindparam,
    event,
    func,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value

from webapp.extensions import db
from webapp.geo.gln import configured_prefix, make_gln


class Contest(enum.StrEnum):
    """The five contests of a Pemilu; each has its own ballot and box."""

    PRESIDEN = "PRESIDEN"
    DPR = "DPR"
    DPD = "DPD"
    DPRD_PROV = "DPRD_PROV"
    DPRD_KAB = "DPRD_KAB"


# Ballot colours fixed by KPU for each contest (used for label bands and badges).
CONTEST_COLOURS = {
    Contest.PRESIDEN: "#8a8d91",
    Contest.DPR: "#f2c200",
    Contest.DPD: "#c62828",
    Contest.DPRD_PROV: "#1565c0",
    Contest.DPRD_KAB: "#2e7d32",
}
# Contests that are elected by dapil; PRESIDEN is one national race.
DAPIL_CONTESTS = (Contest.DPR, Contest.DPD, Contest.DPRD_PROV, Contest.DPRD_KAB)
# DKI Jakarta (province 31) has no DPRD kabupaten/kota.
PROVINCES_WITHOUT_DPRD_KAB = frozenset({"31"})


class RegionLevel(enum.IntEnum):
    """Depth of a Kemendagri code: 31 > 31.75 > 31.75.04 > 31.75.04.1001."""

    PROVINCE = 1
    KABKOTA = 2
    KECAMATAN = 3
    DESA = 4


def region_level(code: str) -> int:
    """Return the level of a dotted region code (number of dot-separated parts)."""
    return code.count(".") + 1


def kpu_code(code: str) -> str:
    """KPU writes Kemendagri codes without dots: 31.75.04.1001 -> 3175041001."""
    return code.replace(".", "")


def dotted_code(code: str) -> str | None:
    """Turn a KPU code (2, 4, 6 or 10 digits) or a dotted code into the dotted form, or None."""
    code = code.strip()
    if "." in code:
        parts = code.split(".")
        widths = (2, 2, 2, 4)
        if len(parts) > 4 or any(len(p) != w or not p.isdigit() for p, w in zip(parts, widths, strict=False)):
            return None
        return code
    if not code.isdigit() or len(code) not in (2, 4, 6, 10):
        return None
    pieces = [code[0:2], code[2:4], code[4:6], code[6:10]]
    return ".".join(p for p in pieces if p)


class Region(db.Model):
    """A Kemendagri region: province, kabupaten/kota, kecamatan or desa/kelurahan."""

    __tablename__ = "region"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),)

    code: Mapped[str] = mapped_column(String(13), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("region.code", ondelete="RESTRICT"), index=True)

    parent: Mapped[Region | None] = relationship(remote_side=[code])

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"

    @property
    def kpu_code(self) -> str:
        """The code as KPU writes it, without dots."""
        return kpu_code(self.code)

    @property
    def province_code(self) -> str:
        """The province this region lies in."""
        return self.code[:2]


class Dapil(db.Model):
    """An electoral district of one contest; DPD has one per province."""

    __tablename__ = "dapil"
    __table_args__ = (CheckConstraint("contest IN ('DPR', 'DPD', 'DPRD_PROV', 'DPRD_KAB')", name="contest_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    contest: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # The region that holds the whole dapil: a province for DPR/DPD/DPRD_PROV, a kab/kota for DPRD_KAB.
    within_code: Mapped[str] = mapped_column(ForeignKey("region.code"), index=True)

    regions: Mapped[list[DapilRegion]] = relationship(back_populates="dapil", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Dapil {self.code}>"


class DapilRegion(db.Model):
    """A region (kab/kota, kecamatan or desa) that a dapil covers."""

    __tablename__ = "dapil_region"
    __table_args__ = (UniqueConstraint("contest", "region_code"),)

    dapil_id: Mapped[int] = mapped_column(ForeignKey("dapil.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), primary_key=True)
    # Copied from the dapil so the database can refuse a region in two dapil of one contest.
    contest: Mapped[str] = mapped_column(String(12))

    dapil: Mapped[Dapil] = relationship(back_populates="regions")
    region: Mapped[Region] = relationship()

    def __repr__(self) -> str:
        return f"<DapilRegion {self.dapil_id} {self.region_code}>"


class SiteKind(enum.StrEnum):
    """Kinds of custody points, from the printer down to the polling station."""

    PRINTER = "printer"
    WAREHOUSE_PROV = "warehouse_prov"
    WAREHOUSE_KAB = "warehouse_kab"
    PPK = "ppk"
    PPS = "pps"
    TPS = "tps"


# Depth of each kind along the route; a site sees the sites below it in its own region.
SITE_RANK = {
    SiteKind.PRINTER: 0,
    SiteKind.WAREHOUSE_PROV: 1,
    SiteKind.WAREHOUSE_KAB: 2,
    SiteKind.PPK: 3,
    SiteKind.PPS: 4,
    SiteKind.TPS: 5,
}
WAREHOUSES = frozenset({SiteKind.WAREHOUSE_PROV, SiteKind.WAREHOUSE_KAB})  # KPU's own warehouses
SITE_KIND_VALUES = ", ".join(f"'{k.value}'" for k in SiteKind)


class Site(db.Model):
    """A place where custody changes hands; TPS carry their voter count and dapil."""

    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint(f"kind IN ({SITE_KIND_VALUES})", name="kind_valid"),
        CheckConstraint("dpt IS NULL OR dpt >= 0", name="dpt_nonnegative"),
        CheckConstraint("(kind = 'tps') = (tps_number IS NOT NULL)", name="tps_number_for_tps"),
        Index("ix_site_kind_region", "kind", "region_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(160), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("region.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(255))
    tps_number: Mapped[int | None] = mapped_column(Integer)
    dpt: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Its GS1 location number (geo/gln.py): imported, or given from the configured prefix and the id when the
    # site is first stored (number_new_sites below). Null only between the insert and that update.
    gln: Mapped[str | None] = mapped_column(String(13), unique=True, index=True)

    region: Mapped[Region | None] = relationship()
    parent: Mapped[Site | None] = relationship(remote_side=[id])
    dapils: Mapped[list[TpsDapil]] = relationship(back_populates="site", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Site {self.code}>"

    @property
    def rank(self) -> int:
        """Depth along the route (printer 0 ... TPS 5)."""
        return SITE_RANK[SiteKind(self.kind)]

    @property
    def route(self) -> list[Site]:
        """This site and the sites above it, top warehouse first (the route a box bound here follows)."""
        chain, node = [], self
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return chain

    def dapil_for(self, contest: str) -> Dapil | None:
        """The dapil of this TPS for a contest, if it has one."""
        return next((link.dapil for link in self.dapils if link.contest == contest), None)


class TpsDapil(db.Model):
    """The dapil a TPS votes in for one contest (KPU's table, or derived from dapil regions)."""

    __tablename__ = "tps_dapil"
    __table_args__ = (CheckConstraint("source IN ('kpu', 'derived')", name="source_valid"),)

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), primary_key=True)
    contest: Mapped[str] = mapped_column(String(12), primary_key=True)
    dapil_id: Mapped[int] = mapped_column(ForeignKey("dapil.id"), index=True)
    # "kpu": given explicitly by KPU's TPS table, never overridden; "derived": from the dapil's regions.
    source: Mapped[str] = mapped_column(String(8), default="derived", server_default="derived")

    site: Mapped[Site] = relationship(back_populates="dapils")
    dapil: Mapped[Dapil] = relationship()

    def __repr__(self) -> str:
        return f"<TpsDapil {self.site_id} {self.contest}>"


def _set_glns(connection, ids) -> dict[int, str]:
    """Write the GLN given from the configured prefix and the id (geo/gln.py) for these sites."""
    prefix = configured_prefix()
    numbers = {site_id: make_gln(prefix, site_id) for site_id in ids}
    if numbers:
        table = Site.__table__
        connection.execute(
            update(table).where(table.c.id == bindparam("site_id")).values(gln=bindparam("number")),
            [{"site_id": site_id, "number": number} for site_id, number in numbers.items()],
        )
    return numbers


def number_sites(session: OrmSession) -> int:
    """Give every site stored without a GLN (rows inserted in bulk, bypassing the ORM) its own; how many."""
    ids = list(session.scalars(select(Site.id).where(Site.gln.is_(None)).order_by(Site.id)))
    return len(_set_glns(session.connection(), ids))


@event.listens_for(OrmSession, "after_flush")
def number_new_sites(session: OrmSession, _context) -> None:
    """Give each site just inserted through the ORM without a GLN its own, in one statement for the flush."""
    new = [obj for obj in session.new if isinstance(obj, Site) and obj.gln is None and obj.id is not None]
    if new:
        numbers = _set_glns(session.connection(), [site.id for site in new])
        for site in new:
            set_committed_value(site, "gln", numbers[site.id])
