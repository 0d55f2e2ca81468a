"""Readiness: how far every box bound for a region's TPS has come, per part of the region.

Read from the boxes' current state, which the ledger's scans keep up to date on every write (status,
holder, site): one grouped query over the region's boxes, never a scan of the ledger. A box is at one
stage of the way out: not yet labelled, at a warehouse (labelled, packed, sealed), on the road, at the
PPK, at the PPS, at its TPS; or damaged or lost. Milestones (the PPK by H-3, the TPS by H-1, with the
election day from configuration) say what share must have reached a level by when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, func, literal_column, null, or_, select
from sqlalchemy.orm import Session, aliased

from webapp.boxes.models import Box, BoxKind, BoxPhase, BoxStatus
from webapp.geo.models import Region, Site, SiteKind
from webapp.planning.needs import CHILD_LENGTH
from webapp.readiness.models import ReadinessCount, ReadinessRollup

STAGES = ("planned", "warehouse", "in_transit", "ppk", "pps", "tps", "problem")
# After the count the box goes back: TPS > PPS > PPK > the kab/kota warehouse (issue 6's "return").
BACK_STAGES = ("back_tps", "back_transit", "back_pps", "back_ppk", "back_warehouse")
ALL_STAGES = STAGES + BACK_STAGES
REACHED = {
    "ppk": ("ppk", "pps", "tps", *BACK_STAGES),
    "pps": ("pps", "tps", *BACK_STAGES),
    "tps": ("tps", *BACK_STAGES),
}
RETURNED = {"ppk": ("back_ppk", "back_warehouse"), "warehouse": ("back_warehouse",)}


def _named(stage: str):
    assert stage in ALL_STAGES
    return literal_column(f"'{stage}'")  # a constant in the SQL text: the same in SELECT and GROUP BY


def stage_expression(status, phase, holder_site_id, holder_kind):
    """Where a box is on its way out or back, as a SQL expression over its columns (NULL: voided, not
    counted), so that a region's boxes are grouped by stage in the database.

    The same rule as the database's triggers (migration 0011), which keep `readiness_count`:
    planned; damaged or lost is a "problem"; on the way back (phase "back") every stage has a "back_"
    twin; in transit, or held by a courier (no holder site), is on the road; opened, or held at a TPS,
    is at the TPS; held at a PPK or PPS is there; anywhere else (printer, warehouses) is a warehouse."""
    back = phase == BoxPhase.BACK
    return case(
        (status == BoxStatus.VOIDED, null()),
        (status == BoxStatus.PLANNED, _named("planned")),
        (status.in_([BoxStatus.DAMAGED, BoxStatus.LOST]), _named("problem")),
        (and_(back, or_(status == BoxStatus.IN_TRANSIT, holder_site_id.is_(None))), _named("back_transit")),
        (or_(status == BoxStatus.IN_TRANSIT, holder_site_id.is_(None)), _named("in_transit")),
        (and_(back, or_(status == BoxStatus.OPENED, holder_kind == SiteKind.TPS)), _named("back_tps")),
        (or_(status == BoxStatus.OPENED, holder_kind == SiteKind.TPS), _named("tps")),
        (and_(back, holder_kind == SiteKind.PPK), _named("back_ppk")),
        (and_(back, holder_kind == SiteKind.PPS), _named("back_pps")),
        (holder_kind == SiteKind.PPK, _named("ppk")),
        (holder_kind == SiteKind.PPS, _named("pps")),
        (back, _named("back_warehouse")),
        else_=_named("warehouse"),
    )


def tps_boxes(columns):
    """A SELECT over every counted box bound for a TPS (vendor cartons and voided boxes left out):
    `columns(dest, stage)` picks what to read, from the TPS site and the box's stage_expression.
    Returns the query, the TPS site alias and the stage, for WHERE and GROUP BY."""
    dest, holder = aliased(Site), aliased(Site)
    stage = stage_expression(Box.status, Box.phase, Box.holder_site_id, holder.kind)
    query = (
        select(*columns(dest, stage))
        .select_from(Box)
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(holder, holder.id == Box.holder_site_id)
        .where(dest.kind == SiteKind.TPS, Box.kind != BoxKind.VENDOR_CARTON, stage.is_not(None))
    )
    return query, dest, stage


@dataclass
class ReadinessRow:
    code: str
    name: str
    stages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALL_STAGES, 0))

    @property
    def total(self) -> int:
        return sum(self.stages.values())

    def reached(self, level: str) -> int:
        return sum(self.stages[s] for s in REACHED[level])

    def returned(self, level: str) -> int:
        return sum(self.stages[s] for s in RETURNED[level])

    def percent(self, level: str) -> int:
        return round(100 * self.reached(level) / self.total) if self.total else 0

    def returned_percent(self, level: str) -> int:
        """Of the boxes opened for the count (all on their way back), the share back at `level`."""
        back = sum(self.stages[s] for s in BACK_STAGES)
        return round(100 * self.returned(level) / back) if back else 0


@dataclass
class Milestone:
    level: str
    deadline: date
    percent: int
    overdue: bool
    direction: str = "out"


def readiness(session: Session, region_code: str) -> tuple[ReadinessRow, list[ReadinessRow]]:
    """The region's total and its parts (kab/kota of a province, ..., TPS of a desa)."""
    child_length = CHILD_LENGTH.get(len(region_code))
    rows: dict[str, ReadinessRow] = {}
    if child_length:
        # Above the desa: the counters the database keeps on every box change, a row per desa and stage
        # for a kecamatan's desas; for larger regions, their sums per kecamatan (about 7,300 in all).
        table = ReadinessRollup if child_length <= len("31.75.04") else ReadinessCount
        child = func.substr(table.region_code, 1, child_length)
        query = select(child, table.stage, func.sum(table.boxes)).group_by(child, table.stage)
        if region_code:
            query = query.where(table.region_code.startswith(region_code + "."))
        for code, stage, count in session.execute(query):
            if count:
                rows.setdefault(code, ReadinessRow(code, code)).stages[stage] += count
        names = dict(session.execute(select(Region.code, Region.name).where(Region.code.in_(list(rows)))).all())
    else:
        # A desa's TPS: its few hundred boxes, grouped by TPS and stage.
        query, dest, stage = tps_boxes(lambda dest, stage: (dest.code, stage, func.count()))
        query = query.where(dest.region_code == region_code).group_by(dest.code, stage)
        for code, stage_name, count in session.execute(query):
            rows.setdefault(code, ReadinessRow(code, code)).stages[stage_name] += count
        names = dict(session.execute(select(Site.code, Site.name).where(Site.code.in_(list(rows)))).all())
    for row in rows.values():
        row.name = names.get(row.code, row.code)
    region = session.get(Region, region_code) if region_code else None
    total = ReadinessRow(region_code or "ID", region.name if region else "Indonesia")
    for row in rows.values():
        for stage, count in row.stages.items():
            total.stages[stage] += count
    return total, sorted(rows.values(), key=lambda r: r.code)


def recount(session: Session) -> dict[tuple[str, str], int]:
    """Every desa's boxes per stage counted from the boxes themselves (what the counters must hold)."""
    query, dest, stage = tps_boxes(lambda dest, stage: (dest.region_code, stage, func.count()))
    return {
        (code, stage_name): count
        for code, stage_name, count in session.execute(query.group_by(dest.region_code, stage))
    }


def counters(session: Session, table=ReadinessCount) -> dict[tuple[str, str], int]:
    """What the database's counters hold (zero rows left out): per desa, or per kecamatan (the rollup)."""
    return {
        (code, stage): boxes
        for code, stage, boxes in session.execute(select(table.region_code, table.stage, table.boxes))
        if boxes
    }


def counter_differences(session: Session) -> list[tuple[str, str, str, int, int]]:
    """Where the database's counters differ from a recount of the boxes: (level, region, stage,
    counter, boxes), level "desa" (readiness_count) or "kecamatan" (readiness_rollup). Empty: all agree."""
    counted = recount(session)
    out = []
    for level, kept, expected in (
        ("desa", counters(session), counted),
        ("kecamatan", counters(session, ReadinessRollup), per_kecamatan(counted)),
    ):
        for key in sorted(kept.keys() | expected.keys()):
            if kept.get(key, 0) != expected.get(key, 0):
                out.append((level, *key, kept.get(key, 0), expected.get(key, 0)))
    return out


def per_kecamatan(desa_counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Desa figures summed per kecamatan: what the rollup must hold."""
    sums: dict[tuple[str, str], int] = {}
    for (code, stage), boxes in desa_counts.items():
        key = (code[: len("31.75.04")], stage)
        sums[key] = sums.get(key, 0) + boxes
    return {key: boxes for key, boxes in sums.items() if boxes}


def milestones(total: ReadinessRow, election_day: date | None, config, today: date) -> list[Milestone]:
    """Each level's deadline, out (H-n) and back (H+n), and whether the region is behind it."""
    if election_day is None:
        return []
    out = []
    for level, days in config["READINESS_MILESTONES"].items():
        deadline = election_day - timedelta(days=days)
        percent = total.percent(level)
        out.append(Milestone(level, deadline, percent, today > deadline and percent < 100))
    if today < election_day and not any(total.stages[s] for s in BACK_STAGES):
        return out  # the way back starts at the count: its milestones show from voting day on
    for level, days in config["RETURN_MILESTONES"].items():
        deadline = election_day + timedelta(days=days)
        percent = total.returned_percent(level)
        out.append(Milestone(level, deadline, percent, today > deadline and percent < 100, "back"))
    return out


def local_today(config, now: datetime | None = None) -> date:
    """Today in the election's time zone (BABEL_DEFAULT_TIMEZONE, WIB): milestones are calendar days."""
    now = now or datetime.now(UTC)
    try:
        zone = ZoneInfo(config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Jakarta")
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone(timedelta(hours=7))  # WIB has no daylight saving
    return now.astimezone(zone).date()


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
            "returned_percent": {level: r.returned_percent(level) for level in RETURNED},
        }

    return {
        "region": code or "ID",
        "election_day": day.isoformat() if day else None,
        "election_day_valid": valid,
        "total": row(total),
        "parts": [row(p) for p in parts],
        "milestones": [
            {
                "level": m.level,
                "direction": m.direction,
                "deadline": m.deadline.isoformat(),
                "percent": m.percent,
                "overdue": m.overdue,
            }
            for m in milestones(total, day, config, today)
        ],
    }
