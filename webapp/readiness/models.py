"""Readiness counters: how many TPS boxes of each desa are at each stage, kept by the database itself.

Triggers on `box` (migration 0011) move a box from one counter to the next whenever its status,
holder, phase or destination changes, in the same transaction as the change: every writer (the scan
service, planning, the demo, a console) keeps them right, and the dashboard reads a few hundred rows
for a kab/kota instead of its 40,000 boxes. `webapp.readiness.report.stage_expression` is the same rule in
SQLAlchemy; `flask readiness check` compares the counters with a recount of the boxes.
"""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class ReadinessCount(db.Model):
    """So many boxes bound for TPS of one desa (`region_code`) are at one stage."""

    __tablename__ = "readiness_count"

    region_code: Mapped[str] = mapped_column(String(13), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    boxes: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ReadinessCount {self.region_code} {self.stage} {self.boxes}>"


class ReadinessRollup(db.Model):
    """So many boxes bound for TPS of one kecamatan (`region_code`) are at one stage: the desa counters
    summed, kept by triggers on `readiness_count` (migration 0013), for the country, province and
    kab/kota pages."""

    __tablename__ = "readiness_rollup"

    region_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    boxes: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ReadinessRollup {self.region_code} {self.stage} {self.boxes}>"
