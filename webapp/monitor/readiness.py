"""Readiness: how far every box bound for a region's TPS has come, per part of the region.

Read from the boxes' current state, which the ledger's scans keep up to date on every write (status,
holder, site): one grouped query over the region's boxes, never a scan of the ledger. A box is at one
stage of the way out: not yet labelled, at a warehouse (labelled, packed, sealed), on the road, at the
PPK, at the PPS, at its TPS; or damaged or lost. Milestones (the PPK by H-3, the TPS by H-1, with the
election day from configuration) say what share must have reached a level by when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from webapp.boxes.models import Box, BoxKind, BoxStatus
from webapp.geo.models import Region, Site, SiteKind
from webapp.planning.needs import CHILD_LENGTH

STAGES = ("planned", "warehouse", "in_transit", "ppk", "pps", "tps", "problem")
REACHED = {"ppk": ("ppk", "pps", "tps"), "pps": ("pps", "tps"), "tps": ("tps",)}


def stage_of(status: str, holder_kind: str | None) -> str:
    """Where a box is on its way out, from its state."""
    if status == BoxStatus.PLANNED:
        return "planned"
    if status in (BoxStatus.DAMAGED, BoxStatus.LOST):
        return "problem"
    if status == BoxStatus.IN_TRANSIT:
        return "in_transit"
    if status == BoxStatus.OPENED or holder_kind == SiteKind.TPS:
        return "tps"
    if holder_kind in (SiteKind.PPK, SiteKind.PPS):
        return str(holder_kind)
    return "warehouse"


@dataclass
class ReadinessRow:
    code: str
    name: str
    stages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    @property
    def total(self) -> int:
        return sum(self.stages.values())

    def reached(self, level: str) -> int:
        return sum(self.stages[s] for s in REACHED[level])

    def percent(self, level: str) -> int:
        return round(100 * self.reached(level) / self.total) if self.total else 0


@dataclass
class Milestone:
    level: str
    deadline: date
    percent: int
    overdue: bool


def readiness(session: Session, region_code: str) -> tuple[ReadinessRow, list[ReadinessRow]]:
    """The region's total and its parts (kab/kota of a province, ..., TPS of a desa)."""
    dest = aliased(Site)
    holder = aliased(Site)
    child_length = CHILD_LENGTH.get(len(region_code))
    child = func.substr(dest.region_code, 1, child_length) if child_length else dest.code
    query = (
        select(child.label("child"), Box.status, holder.kind, func.count())
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(holder, holder.id == Box.holder_site_id)
        .where(dest.kind == SiteKind.TPS, Box.kind != BoxKind.VENDOR_CARTON, Box.status != BoxStatus.VOIDED)
        .group_by(child, Box.status, holder.kind)
    )
    if region_code:
        query = query.where((dest.region_code == region_code) | dest.region_code.startswith(region_code + "."))
    rows: dict[str, ReadinessRow] = {}
    for code, status, holder_kind, count in session.execute(query):
        rows.setdefault(code, ReadinessRow(code, code)).stages[stage_of(status, holder_kind)] += count
    if child_length:
        names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(list(rows)))).all())
    else:
        names = dict(session.execute(select(Site.code, Site.name).where(Site.code.in_(list(rows)))).all())
    for row in rows.values():
        row.name = names.get(row.code, row.code)
    region = session.get(Region, region_code) if region_code else None
    total = ReadinessRow(region_code or "ID", region.name if region else "Indonesia")
    for row in rows.values():
        for stage, count in row.stages.items():
            total.stages[stage] += count
    return total, sorted(rows.values(), key=lambda r: r.code)


def milestones(
    total: ReadinessRow, election_day: date | None, days_before: dict[str, int], today: date
) -> list[Milestone]:
    """Each level's deadline (H-n) and whether the region is behind it."""
    if election_day is None:
        return []
    out = []
    for level, days in days_before.items():
        deadline = election_day - timedelta(days=days)
        percent = total.percent(level)
        out.append(Milestone(level, deadline, percent, today > deadline and percent < 100))
    return out


def election_day(config) -> tuple[date | None, bool]:
    """The configured voting day (ELECTION_DAY, YYYY-MM-DD), and whether that setting is valid."""
    text = config.get("ELECTION_DAY")
    if not text:
        return None, True
    try:
        return date.fromisoformat(text), True
    except ValueError:
        return None, False


def readiness_report(session: Session, code: str, config, today: date) -> dict:
    """The dashboard's figures: the region, its parts, and its milestones (also GET /api/v1/readiness)."""
    total, parts = readiness(session, code)
    day, valid = election_day(config)

    def row(r: ReadinessRow) -> dict:
        return {
            "code": r.code,
            "name": r.name,
            "boxes": r.total,
            "stages": r.stages,
            "percent": {level: r.percent(level) for level in REACHED},
        }

    return {
        "region": code or "ID",
        "election_day": day.isoformat() if day else None,
        "election_day_valid": valid,
        "total": row(total),
        "parts": [row(p) for p in parts],
        "milestones": [
            {"level": m.level, "deadline": m.deadline.isoformat(), "percent": m.percent, "overdue": m.overdue}
            for m in milestones(total, day, config["READINESS_MILESTONES"], today)
        ],
    }
