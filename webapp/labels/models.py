"""A label print job run in the background: who asked, for what, and how far it has got."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.extensions import db


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LabelJob(db.Model):
    """Labels for a region, printed to a PDF by a separate process (`flask labels run-job ID`)."""

    __tablename__ = "label_job"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state_valid"),
        CheckConstraint("format IN ('a4', 'thermal')", name="format_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(24))  # region code or TPS site code
    format: Mapped[str] = mapped_column(String(8))
    site_code: Mapped[str] = mapped_column(String(24))  # where the labels are printed (commissioned)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(8), default=JobState.QUEUED)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    requested_by: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        return 100 if self.state == JobState.DONE else int(100 * self.done / self.total) if self.total else 0
