"""The ledger: custody events (append-only, hash-chained per box), scan receipts, alerts, checkpoints."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.extensions import db
from webapp.geo.models import Site

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_cls)


class CustodyEvent(db.Model):
    """One accepted scan: an immutable line of the ledger. Database triggers refuse UPDATE and DELETE."""

    __tablename__ = "custody_event"
    __table_args__ = (
        UniqueConstraint("box_id", "box_seq", name="uq_custody_event_box_seq"),
        Index("ix_custody_event_device", "device_id", "device_seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("box.id"), index=True)
    box_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    from_holder: Mapped[str | None] = mapped_column(String(80))
    to_holder: Mapped[str | None] = mapped_column(String(80))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    device_seq: Mapped[int] = mapped_column(BigInteger)
    scanned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lon: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    accuracy: Mapped[int | None] = mapped_column(Integer)
    seals: Mapped[list[str]] = mapped_column(JSON, default=list)
    condition: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    witness: Mapped[str | None] = mapped_column(String(120))
    handover: Mapped[str | None] = mapped_column(String(36), index=True)
    # The hash chain: hash = SHA-256(prev_hash || canonical JSON); see docs/ledger.md.
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    box: Mapped[Box] = relationship()
    site: Mapped[Site | None] = relationship()
    actor: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CustodyEvent {self.id} box={self.box_id}#{self.box_seq} {self.kind}>"


class Verdict(enum.StrEnum):
    """The answer to a scan."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


class ScanReceipt(db.Model):
    """The first answer to each client scan id, accepted or refused; a replay gets it back unchanged."""

    __tablename__ = "scan_receipt"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    box_id: Mapped[int | None] = mapped_column(ForeignKey("box.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("custody_event.id"))
    verdict: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(32))
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<ScanReceipt {self.client_id} {self.verdict}>"


class AlertState(enum.StrEnum):
    """Where a supervisor is with an alert."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(db.Model):
    """Something a supervisor must look at; a refused scan is kept here as evidence."""

    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(f"state IN ({_values(AlertState)})", name="state_valid"),
        Index("ix_alert_kind_state", "kind", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(14), default=AlertState.OPEN)
    box_id: Mapped[int | None] = mapped_column(ForeignKey("box.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("custody_event.id"))
    client_id: Mapped[str | None] = mapped_column(String(36))
    code: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(Text)

    box: Mapped[Box | None] = relationship()
    site: Mapped[Site | None] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    def __repr__(self) -> str:
        return f"<Alert {self.id} {self.kind} {self.state}>"


class LedgerCheckpoint(db.Model):
    """A signed Merkle root over every event hash up to `upto_event_id` (RFC 6962 tree)."""

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    upto_event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_count: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str] = mapped_column(String(64))
    # Roots of the complete subtrees ([size, hash] pairs), so the next checkpoint only adds new leaves.
    peaks: Mapped[list] = mapped_column(JSON)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<LedgerCheckpoint upto={self.upto_event_id} n={self.event_count}>"


class SignerRole(enum.StrEnum):
    """Who signs a BAST: the two parties, and witnesses (Panwas, police...)."""

    SENDER = "sender"
    RECEIVER = "receiver"
    WITNESS = "witness"


class Handover(db.Model):
    """A digital BAST (Berita Acara Serah Terima): one sender, one receiver, the boxes between them.

    Its boxes are not stored here: they are the ledger's dispatch and receive events that carry the
    handover's token (a hashed field), so what the BAST says can always be checked against the ledger.
    Closing numbers it and freezes what it lists (`summary`) and the PDF's SHA-256.
    """

    __tablename__ = "handover"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(36), unique=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    sender_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    receiver_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    receiver_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[dict | None] = mapped_column(JSON)
    # The PDF as closed, kept byte for byte: a later ReportLab draws other bytes for the same BAST.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    sender_site: Mapped[Site] = relationship(foreign_keys=[sender_site_id])
    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    receiver_site: Mapped[Site | None] = relationship(foreign_keys=[receiver_site_id])
    receiver_user: Mapped[User | None] = relationship(foreign_keys=[receiver_user_id])
    signatures: Mapped[list[HandoverSignature]] = relationship(
        back_populates="handover", cascade="all, delete-orphan", order_by="HandoverSignature.id"
    )

    def __repr__(self) -> str:
        return f"<Handover {self.number or self.token} {self.status}>"


class HandoverSignature(db.Model):
    """A signature drawn on the phone's screen (PNG) with the signer's printed name."""

    __tablename__ = "handover_signature"
    __table_args__ = (CheckConstraint("role IN ('sender', 'receiver', 'witness')", name="role_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    organisation: Mapped[str | None] = mapped_column(String(120))
    image: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    handover: Mapped[Handover] = relationship(back_populates="signatures")

    def __repr__(self) -> str:
        return f"<HandoverSignature {self.role} {self.name}>"


class IncidentPhoto(db.Model):
    """A photo of a damaged or lost box, taken and compressed on the phone. The incident's ledger event
    names it by its SHA-256 in the note (a hashed field), so the photo cannot be swapped later."""

    __tablename__ = "incident_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<IncidentPhoto {self.sha256[:12]}>"


class AlertAction(db.Model):
    """A supervisor's step on an alert (acknowledged, resolved), with its note: the alert's history."""

    __tablename__ = "alert_action"
    __table_args__ = (CheckConstraint("action IN ('acknowledge', 'resolve')", name="action_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    actor: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<AlertAction {self.alert_id} {self.action}>"
