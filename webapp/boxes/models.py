"""Boxes (the unit of custody), their manifests, and the SSCC serial counter."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    FetchedValue,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.geo.models import Dapil, Site
from webapp.planning.models import ItemType

if TYPE_CHECKING:
    from webapp.auth.models import User


class BoxKind(enum.StrEnum):
    """What a box is: a TPS ballot box of one contest, a supplies carton, or a vendor carton."""

    BALLOT_BOX = "ballot_box"
    SUPPLIES = "supplies"
    VENDOR_CARTON = "vendor_carton"


class BoxStatus(enum.StrEnum):
    """Where a box is in its life; the ledger (custody) is the only writer after planning."""

    PLANNED = "planned"
    COMMISSIONED = "commissioned"
    PACKED = "packed"
    SEALED = "sealed"
    IN_TRANSIT = "in_transit"
    HELD = "held"
    OPENED = "opened"
    DAMAGED = "damaged"
    LOST = "lost"
    VOIDED = "voided"


class BoxPhase(enum.StrEnum):
    """Which way a TPS box is going: out to its TPS, or back to the warehouse once opened for the count."""

    OUT = "out"
    BACK = "back"


def _values(enum_cls: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_cls)


class Box(db.Model):
    """A box identified by its SSCC, bound for one destination site."""

    __tablename__ = "box"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(BoxKind)})", name="kind_valid"),
        CheckConstraint(f"status IN ({_values(BoxStatus)})", name="status_valid"),
        CheckConstraint("length(sscc) = 18", name="sscc_length"),
        CheckConstraint("set_index >= 1 AND set_index <= set_size", name="set_index_range"),
        CheckConstraint(f"phase IN ({_values(BoxPhase)})", name="phase_valid"),
        UniqueConstraint("destination_id", "kind", "contest", "set_index", name="uq_box_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    contest: Mapped[str | None] = mapped_column(String(12))
    dapil_id: Mapped[int | None] = mapped_column(ForeignKey("dapil.id"), index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    # Box n of N in the set bound for the destination (1/4 ... 4/4 at a DKI TPS).
    set_index: Mapped[int] = mapped_column(SmallInteger, default=1)
    set_size: Mapped[int] = mapped_column(SmallInteger, default=1)
    seals: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A vendor carton's purchase order (the printer's delivery it belongs to); None for other boxes.
    order_ref: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16), default=BoxStatus.PLANNED, index=True)
    phase: Mapped[str] = mapped_column(String(4), default=BoxPhase.OUT, server_default=BoxPhase.OUT.value)
    holder_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    holder_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    current_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    # While in transit: the receiver the sender named (a site, or a courier).
    transit_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    transit_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The head of the box's hash chain in the ledger (custody writes these under the box's row lock).
    chain_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_head: Mapped[str | None] = mapped_column(String(64))
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by a database trigger on every insert and update of the row (migration 0021): the offline list's
    # cursor (pwa/cache.py). Never written by the application.
    change_stamp: Mapped[int] = mapped_column(
        BigInteger, index=True, server_default="0", server_onupdate=FetchedValue()
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    destination: Mapped[Site] = relationship(foreign_keys=[destination_id])
    holder_site: Mapped[Site | None] = relationship(foreign_keys=[holder_site_id])
    current_site: Mapped[Site | None] = relationship(foreign_keys=[current_site_id])
    transit_site: Mapped[Site | None] = relationship(foreign_keys=[transit_site_id])
    holder_user: Mapped[User | None] = relationship("User", foreign_keys=[holder_user_id])
    dapil: Mapped[Dapil | None] = relationship()
    lines: Mapped[list[ManifestLine]] = relationship(
        back_populates="box", cascade="all, delete-orphan", order_by="ManifestLine.id"
    )

    def __repr__(self) -> str:
        return f"<Box {self.sscc} {self.kind} {self.contest}>"


class ManifestLine(db.Model):
    """One line of a box's manifest: so many items of one type (and dapil)."""

    __tablename__ = "manifest_line"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
        UniqueConstraint("box_id", "item_type_id", name="uq_manifest_line_box_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("box.id", ondelete="CASCADE"), index=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_type.id"), index=True)
    dapil_id: Mapped[int | None] = mapped_column(ForeignKey("dapil.id"))
    quantity: Mapped[int] = mapped_column(Integer)

    box: Mapped[Box] = relationship(back_populates="lines")
    item_type: Mapped[ItemType] = relationship()
    dapil: Mapped[Dapil | None] = relationship()

    def __repr__(self) -> str:
        return f"<ManifestLine box={self.box_id} {self.item_type_id} x{self.quantity}>"


class SsccCounter(db.Model):
    """The next serial per (extension digit, company prefix); serials are never reused."""

    __tablename__ = "sscc_counter"

    prefix: Mapped[str] = mapped_column(String(12), primary_key=True)
    next_serial: Mapped[int] = mapped_column(BigInteger, default=1)

    def __repr__(self) -> str:
        return f"<SsccCounter {self.prefix} next={self.next_serial}>"


class Packet(db.Model):
    """A labelled packet of one item (ballots of one contest and dapil, forms, envelopes...) for one TPS.

    Packing puts it into that TPS's box of its contest (EPCIS AggregationEvent: the packet becomes a
    child of the box); a packet for another TPS, contest or dapil cannot go in.
    """

    __tablename__ = "packet"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("tps_id", "item_type_id", name="uq_packet_tps_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_type.id"), index=True)
    contest: Mapped[str] = mapped_column(String(12))
    dapil_id: Mapped[int | None] = mapped_column(ForeignKey("dapil.id"), index=True)
    tps_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    box_id: Mapped[int | None] = mapped_column(ForeignKey("box.id"), index=True)
    # The vendor carton the packet was counted from at the packing table: the TPS box's history then
    # reaches back through the carton's own chain to the printer.
    carton_id: Mapped[int | None] = mapped_column(ForeignKey("box.id"), index=True)
    packed_event_id: Mapped[int | None] = mapped_column(ForeignKey("custody_event.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    item_type: Mapped[ItemType] = relationship()
    dapil: Mapped[Dapil | None] = relationship()
    tps: Mapped[Site] = relationship()
    box: Mapped[Box | None] = relationship(foreign_keys=[box_id])
    carton: Mapped[Box | None] = relationship(foreign_keys=[carton_id])
