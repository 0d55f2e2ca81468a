"""The demo's day of scans: the boxes of the first kecamatan of the demo kab/kota on their way out, at
every stage, so that the readiness dashboard, the alerts and the trace pages have something to show.

Every step is a real scan through the scan service, by the demo's warehouse and PPK people: the
ledger, the counters and the alerts are exactly what the same scans from phones would make. Done once:
a region whose TPS boxes have been scanned already is left alone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.auth.models import User
from webapp.boxes.models import Box, BoxKind, BoxStatus
from webapp.custody.models import Verdict
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.geo.models import Site, SiteKind
from webapp.geo.services import route_codes_for

# Of the kecamatan's boxes, in order (every n-th box stops at a stage): how far each one gets.
SHARE = ("tps", "tps", "pps", "pps", "ppk", "ppk", "ppk", "road", "warehouse", "warehouse")
DEMO_SHORTAGE = "demo: packets not counted into the box in the demo (shortage noted)"


def seals_of(box: Box) -> list[str]:
    """The demo's seal numbers of a box: two, its own (as a warehouse's numbered seals would be)."""
    return [f"SG{box.id:07d}A", f"SG{box.id:07d}B"]


def seed_demo_day(session: Session, kecamatan_code: str, warehouse: str, now: datetime | None = None) -> int:
    """Move the kecamatan's TPS boxes as a day of work would; returns the scans recorded (0 if done before)."""
    now = now or datetime.now(UTC)
    people = {u.username: u for u in session.scalars(select(User).where(User.username.in_(("gudang", "petugas"))))}
    if len(people) != 2:
        return 0
    rows = session.execute(
        select(Box, Site.code, Site.region_code)
        .join(Site, Site.id == Box.destination_id)
        .where(Site.kind == SiteKind.TPS, Site.region_code.startswith(kecamatan_code + "."))
        .where(Box.kind != BoxKind.VENDOR_CARTON)
        .order_by(Box.id)
    ).all()
    if not rows or any(box.status != BoxStatus.PLANNED for box, _, _ in rows):
        return 0
    seq = iter(range(1, 10**7))
    recorded = 0

    def scans(actor: str, action: str, items: list[tuple[Box, str, str]], site, to=None, at=now, **extra) -> None:
        nonlocal recorded
        batch = [
            ScanInput(
                str(uuid.uuid4()),
                box.sscc,
                action,
                site(tps, region),
                at,
                f"demo-{actor}",
                next(seq),
                to=to(tps, region) if to else None,
                **{name: value(box) if callable(value) else value for name, value in extra.items()},
            )
            for box, tps, region in items
        ]
        for start in range(0, len(batch), 1000):
            for result in record_scans(session, actor=people[actor], scans=batch[start : start + 1000], now=at):
                if result.verdict != Verdict.ACCEPTED:
                    raise RuntimeError(f"demo day: {action} refused ({result.reason})")
        recorded += len(batch)

    def ppk(_tps: str, region: str) -> str:
        return next(code for code in route_codes_for(region) if code.startswith("PPK-"))

    def pps(_tps: str, region: str) -> str:
        return next(code for code in route_codes_for(region) if code.startswith("PPS-"))

    def kab(_tps: str, _region: str) -> str:
        return warehouse

    def tps_site(tps: str, _region: str) -> str:
        return tps

    goal = {box.id: SHARE[i % len(SHARE)] for i, (box, _, _) in enumerate(rows)}
    goal[rows[0][0].id] = "road"
    beyond = {
        "road": ("road", "ppk", "pps", "tps"),
        "ppk": ("ppk", "pps", "tps"),
        "pps": ("pps", "tps"),
        "tps": ("tps",),
    }

    def reaching(stage: str) -> list:
        return [row for row in rows if goal[row[0].id] in beyond[stage]]

    scans("gudang", "commission", rows, kab, at=now - timedelta(days=3), note="label printed")
    # Sealed at the packing table before anything leaves (a ballot box is not handed over unsealed), each
    # box with its own two seals. The demo counts no packets into its boxes: the seal says so, as a
    # shortage noted, which is what the rule asks of a box sealed without all its packets.
    scans("gudang", "seal", rows, kab, at=now - timedelta(days=3), seals=seals_of, note=DEMO_SHORTAGE)
    leaving = reaching("road")
    # The first truck left three days ago and has not been seen since: `flask alerts scan` calls it stalled.
    scans("gudang", "dispatch", leaving[:1], kab, to=ppk, at=now - timedelta(days=3))
    scans("gudang", "dispatch", leaving[1:], kab, to=ppk, at=now - timedelta(hours=36))
    scans("petugas", "receive", reaching("ppk"), ppk, at=now - timedelta(hours=30), seals=seals_of)
    scans("petugas", "dispatch", reaching("pps"), ppk, to=pps, at=now - timedelta(hours=20))
    scans("petugas", "receive", reaching("pps"), pps, at=now - timedelta(hours=12))
    scans("petugas", "dispatch", reaching("tps"), pps, to=tps_site, at=now - timedelta(hours=6))
    scans("petugas", "receive", reaching("tps"), tps_site, at=now - timedelta(hours=2))
    # One box got wet at the PPK.
    wet = [row for row in rows if goal[row[0].id] == "ppk"][-1:]  # held at the PPK itself
    scans("petugas", "damage", wet, ppk, note="demo: terkena hujan")
    session.flush()
    return recorded
