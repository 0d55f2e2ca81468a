"""A label print job run in the background: who asked, for what, how far it has got, and its PDF."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.core.jobs import JobState
from webapp.extensions import db


class LabelJob(db.Model):
    """Labels for a region, printed to a PDF by a task of the job queue (webapp/labels/tasks.py).

    `attempts` counts the runs started (a failed run is retried up to LABEL_JOB_RETRIES times); `heartbeat_at`
    is the last sign of life of the run in progress. The PDF is kept in the database (LabelJobPdf), so any app
    server can serve it, whichever worker drew it."""

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
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pdf_size: Mapped[int | None] = mapped_column(Integer)  # bytes, once the PDF is stored

    requested_by: Mapped[User] = relationship()

    @property
    def percent(self) -> int:
        return 100 if self.state == JobState.DONE else int(100 * self.done / self.total) if self.total else 0


class LabelJobPdf(db.Model):
    """One piece of a job's PDF, in order: a whole kab/kota is 18-47 MB, so it is written and sent a piece at a
    time instead of as one value held in memory (webapp/labels/services.py store_pdf, pdf_pieces)."""

    __tablename__ = "label_job_pdf"

    job_id: Mapped[int] = mapped_column(ForeignKey("label_job.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
