"""The ledger: custody events (append-only, hash-chained per box), scan receipts, alerts, checkpoints."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.boxes.models import Box
from webapp.core.jobs import JobState
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
    # A correction (kind `correct`) names the hash of the event it corrects (a hashed field, docs/ledger.md).
    corrects: Mapped[str | None] = mapped_column(String(64), index=True)
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
    # The handover token the scan carried: a refusal at a handover has no event, and the BAST lists it.
    handover: Mapped[str | None] = mapped_column(String(36), index=True)

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
    """A signed root of the ledger's Merkle tree (RFC 6962/9162) over the first `event_count` events, the
    events up to `upto_event_id` in id order.

    `note` is the checkpoint as a C2SP signed note (tlog-checkpoint text: origin, size, base64 root; a blank
    line; the log's Ed25519 note signature line), as published at GET /api/v1/ledger/checkpoint.
    `signature` is the older signature over the JSON of checkpoint_message(), still written so that
    verifiers of that form keep working. A checkpoint made before migration 0019 has no note ("legacy");
    the first checkpoint after the upgrade signs the same tree again as a note (see that migration).
    """

    __tablename__ = "ledger_checkpoint"
    __table_args__ = (
        # One signed note per tree size (and per last event); legacy rows may share theirs with the note
        # that re-signed their tree.
        Index(
            "uq_ledger_checkpoint_signed_size",
            "event_count",
            unique=True,
            sqlite_where=text("note IS NOT NULL"),
            postgresql_where=text("note IS NOT NULL"),
        ),
        Index(
            "uq_ledger_checkpoint_signed_upto",
            "upto_event_id",
            unique=True,
            sqlite_where=text("note IS NOT NULL"),
            postgresql_where=text("note IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    upto_event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    event_count: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[str] = mapped_column(String(64))
    # Roots of the complete subtrees ([size, hash] pairs) at this size (the stored tree has them too).
    peaks: Mapped[list] = mapped_column(JSON)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def size(self) -> int:
        """The tree size: how many events (leaves) the checkpoint covers."""
        return self.event_count

    @property
    def legacy(self) -> bool:
        """Made before signed notes (migration 0019): only the JSON signature."""
        return self.note is None

    def __repr__(self) -> str:
        return f"<LedgerCheckpoint upto={self.upto_event_id} n={self.event_count}>"


class LedgerTreeLeaf(db.Model):
    """A leaf of the ledger's Merkle tree: the event at position `leaf_index` in ascending id order, with its
    leaf hash SHA-256(0x00 || event hash). Written by make_checkpoint, in the transaction that signs the
    tree, for every event it covers; never changed. Derived data: no foreign key, so the ledger's own
    tamper checks (which remove events) are not hindered, and a rewritten row only makes proofs fail."""

    __tablename__ = "ledger_tree_leaf"

    leaf_index: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    def __repr__(self) -> str:
        return f"<LedgerTreeLeaf {self.leaf_index} event={self.event_id}>"


class LedgerTreeNode(db.Model):
    """The hash of a complete subtree of the Merkle tree: 2**level leaves from leaf idx * 2**level on
    (level >= 1; level 0 is LedgerTreeLeaf). Written as the leaves that complete it are added."""

    __tablename__ = "ledger_tree_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    def __repr__(self) -> str:
        return f"<LedgerTreeNode {self.level}/{self.idx}>"


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

    def sent(self):
        """SQL: the ledger events that are its sender's dispatches (the token, at the sender's site): the
        boxes its BAST expects. Only the parties' own scans count: a token seen elsewhere adds nothing."""
        return (
            (CustodyEvent.handover == self.token)
            & (CustodyEvent.kind == "dispatch")
            & (CustodyEvent.site_id == self.sender_site_id)
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


class CorrectionState(enum.StrEnum):
    """Where a request to correct a mistaken scan stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CorrectionRequest(db.Model):
    """A request, by the person who made an accepted scan, to correct it (custody/corrections.py). A
    supervisor whose area covers the box approves it (the ledger then gets a `correct` event naming the
    corrected event's hash) or rejects it; either way the request and its decision stay."""

    __tablename__ = "correction_request"
    __table_args__ = (CheckConstraint(f"state IN ({_values(CorrectionState)})", name="state_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("custody_event.id"), index=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("box.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=CorrectionState.PENDING, index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    # The scan id of the correction event, set when approved; the `correct` rule accepts no other.
    correction_client_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    correction_event_id: Mapped[int | None] = mapped_column(ForeignKey("custody_event.id"))

    event: Mapped[CustodyEvent] = relationship(foreign_keys=[event_id])
    correction_event: Mapped[CustodyEvent | None] = relationship(foreign_keys=[correction_event_id])
    box: Mapped[Box] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    def __repr__(self) -> str:
        return f"<CorrectionRequest {self.id} event={self.event_id} {self.state}>"


class LedgerWitness(db.Model):
    """An observer organisation's witness key, registered by an admin (`flask ledger witnesses add`): the
    server keeps and serves only the cosignatures of registered, active witnesses (custody/witnesses.py).
    A name always means one key: a witness that changes its key registers a new name and retires the old."""

    __tablename__ = "ledger_witness"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The signed-note verifier key, NAME+KEYID+base64(0x04 || Ed25519 public key)
    vkey: Mapped[str] = mapped_column(String(300), unique=True)
    key_id: Mapped[str] = mapped_column(String(8))  # hex, the signature lines' key ID
    organisation: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<LedgerWitness {self.name} {'active' if self.active else 'retired'}>"


class LedgerCosignature(db.Model):
    """A witness's tlog-cosignature/v1 of one checkpoint: its signature line exactly as served after the
    checkpoint's note, and its time. One per witness per checkpoint (the first one posted)."""

    __tablename__ = "ledger_cosignature"
    __table_args__ = (UniqueConstraint("witness_id", "checkpoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    witness_id: Mapped[int] = mapped_column(ForeignKey("ledger_witness.id"))
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoint.id"), index=True)
    timestamp: Mapped[int] = mapped_column(BigInteger)  # the cosignature's time, POSIX seconds (signed)
    line: Mapped[str] = mapped_column(Text)  # "— NAME base64(key ID || timestamp || signature)\n"
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    witness: Mapped[LedgerWitness] = relationship()
    checkpoint: Mapped[LedgerCheckpoint] = relationship()

    def __repr__(self) -> str:
        return f"<LedgerCosignature {self.witness_id} checkpoint={self.checkpoint_id} at {self.timestamp}>"


class CaptureJob(db.Model):
    """An EPCIS 2.0 document sent to `POST /api/v1/epcis/capture`, recorded as its sender's scans by a task of
    the job queue (custody/capture_jobs.py), a part at a time.

    `capture_id` is the job's name in URLs (random, so one sender cannot guess another's). The document is
    kept until it is captured, then dropped (its SHA-256 stays): its events are in the ledger. `done` counts
    the events taken so far; `counts` the boxes by verdict; `errors` each box's refusal or an event's reason
    it could not be read, as in the capture's results."""

    __tablename__ = "epcis_capture"
    __table_args__ = (CheckConstraint(f"state IN ({_values(JobState)})", name="state_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[str] = mapped_column(String(32), unique=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(8), default=JobState.QUEUED)
    document: Mapped[str | None] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))  # the sender's language: its refusals are written in it
    events: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)  # why the job itself failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    submitted_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CaptureJob {self.capture_id} {self.state} {self.done}/{self.events}>"
