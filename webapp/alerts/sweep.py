"""Alerts that no single scan raises, found by a periodic sweep (`flask alerts scan`, every few minutes):

- **stalled**: a box on the road (dispatched, or held by a courier) longer than STALLED_AFTER_HOURS since
  its last scan. One alert per stall: a new one only after the box has been scanned again.
- **overdue**: a TPS whose boxes have not reached a level by its milestone (the PPK by H-3, the TPS by
  H-1; back at the PPK and the warehouse after voting). One alert per TPS and milestone.

A cloned label is caught as it is scanned (custody/clones.py). The sweep only adds
alerts and is safe to run again at any time; the job worker runs it every ALERTS_SWEEP_MINUTES under a lock
(alerts/tasks.py), since two sweeps at the same moment could each raise the same alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from webapp.auth.models import User
from webapp.boxes.models import Box, BoxStatus
from webapp.custody.event import utc_text
from webapp.custody.holders import user_holder
from webapp.custody.models import Alert
from webapp.custody.writer import alert_row, write_alerts
from webapp.geo.models import Site
from webapp.readiness.models import ReadinessCount
from webapp.readiness.report import ALL_STAGES, BACK_STAGES, REACHED, RETURNED, election_day, local_today, tps_boxes

STALLED, OVERDUE = "stalled", "overdue"


@dataclass
class Sweep:
    """What one sweep raised."""

    stalled: int = 0
    overdue: int = 0
    tps_behind: int = 0
    notes: list[str] = field(default_factory=list)


def stalled(session: Session, now: datetime, hours: int) -> int:
    """Raise a `stalled` alert for every box on the road since before now - hours, not yet alerted."""
    cutoff = now - timedelta(hours=hours)
    already = exists().where(Alert.kind == STALLED, Alert.box_id == Box.id, Alert.created_at >= Box.last_event_at)
    target, courier = aliased(Site), aliased(User)
    rows = session.execute(
        select(Box, target.code, courier.username)
        .outerjoin(target, target.id == Box.transit_site_id)
        .outerjoin(courier, courier.id == func.coalesce(Box.transit_user_id, Box.holder_user_id))
        .where(
            or_(
                Box.status == BoxStatus.IN_TRANSIT, and_(Box.status == BoxStatus.HELD, Box.holder_user_id.is_not(None))
            ),
            Box.last_event_at < cutoff,
            ~already,
        )
        .order_by(Box.id)
    ).all()
    alerts = []
    for box, to_site, username in rows:
        last = box.last_event_at if box.last_event_at.tzinfo else box.last_event_at.replace(tzinfo=UTC)
        waited = now - last
        details = {
            "since": utc_text(last),
            "hours": int(waited.total_seconds() // 3600),
            "limit_hours": hours,
            "to": to_site or (user_holder(username) if username else None),
            "with_courier": box.holder_user_id is not None,
        }
        alerts.append(alert_row(STALLED, now=now, box_id=box.id, site_id=box.current_site_id, details=details))
    write_alerts(session, alerts)
    return len(rows)


def _due(config, today: date) -> list[tuple[str, str, date]]:
    """The milestones whose deadline has passed: (direction, level, deadline)."""
    day, _valid = election_day(config)
    if day is None:
        return []
    due = [("out", level, day - timedelta(days=n)) for level, n in config["READINESS_MILESTONES"].items()]
    due += [("back", level, day + timedelta(days=n)) for level, n in config["RETURN_MILESTONES"].items()]
    return [(direction, level, deadline) for direction, level, deadline in due if today > deadline]


def _behind(direction: str, level: str) -> list[str]:
    """The stages of a box that has not reached `level` by that milestone. Out: every stage short of it
    (a damaged or lost box has its own alert). Back: the boxes opened for the count and not yet back."""
    if direction == "out":
        return [stage for stage in ALL_STAGES if stage not in REACHED[level] and stage != "problem"]
    return [stage for stage in BACK_STAGES if stage not in RETURNED[level]]


DESA_CHUNK = 500  # desas grouped at a time: a few thousand TPS rows, whatever the region's size


def milestone_code(direction: str, level: str) -> str:
    """An overdue alert's `code`: which milestone it is about ("out:ppk", "back:warehouse")."""
    return f"{direction}:{level}"


def overdue(session: Session, config, now: datetime, today: date) -> tuple[int, int]:
    """Raise an `overdue` alert for each TPS with boxes behind a milestone already passed; returns
    (alerts raised, TPS newly behind a milestone: those not alerted for it before).

    The counters point at the desas that are behind; the database groups their boxes by TPS, leaving
    out TPS already alerted for that milestone, a chunk of desas at a time: a sweep reads a row per TPS
    newly behind, never the boxes themselves, and memory stays bounded at national scale."""
    raised = 0
    behind_tps: set[int] = set()
    for direction, level, deadline in _due(config, today):
        behind, code = _behind(direction, level), milestone_code(direction, level)
        desas = list(
            session.scalars(
                select(ReadinessCount.region_code)
                .where(ReadinessCount.stage.in_(behind), ReadinessCount.boxes > 0)
                .distinct()
                .order_by(ReadinessCount.region_code)
            )
        )
        for start in range(0, len(desas), DESA_CHUNK):
            query, dest, stage = tps_boxes(lambda dest, stage: (dest.id, func.count()))
            alerted = exists().where(Alert.kind == OVERDUE, Alert.site_id == dest.id, Alert.code == code)
            late = session.execute(
                query.where(dest.region_code.in_(desas[start : start + DESA_CHUNK]), stage.in_(behind), ~alerted)
                .group_by(dest.id)
                .order_by(dest.id)
            ).all()
            behind_tps |= {tps_id for tps_id, _boxes in late}
            details = {"direction": direction, "level": level, "deadline": deadline.isoformat()}
            write_alerts(
                session,
                [
                    alert_row(OVERDUE, now=now, site_id=tps_id, code=code, details={**details, "boxes": boxes})
                    for tps_id, boxes in late
                ],
            )
            raised += len(late)
    return raised, len(behind_tps)


def sweep(session: Session, config, now: datetime | None = None, today: date | None = None) -> Sweep:
    """Run every periodic check once; the caller commits."""
    now = now or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)  # SQLite hands back naive UTC times
    today = today or local_today(config, now)
    result = Sweep()
    result.stalled = stalled(session, now, int(config["STALLED_AFTER_HOURS"]))
    result.overdue, result.tps_behind = overdue(session, config, now, today)
    if election_day(config)[0] is None:
        result.notes.append("ELECTION_DAY is not set (or not a date): no milestone is checked.")
    session.flush()
    return result
