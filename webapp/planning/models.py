"""Item catalogue with per-TPS norms."""

from __future__ import annotations

import enum
import math
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, Numeric, String, false, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.models import User
from webapp.extensions import db


class NormBasis(enum.StrEnum):
    """How a norm scales: per TPS, per ballot box of the TPS, or per voter plus a reserve."""

    PER_TPS = "per_tps"
    PER_BOX = "per_box"
    PER_VOTER = "per_voter"


class ItemType(db.Model):
    """One kind of logistics item (kotak suara, bilik, tinta, surat suara DPR...) and its norm."""

    __tablename__ = "item_type"
    __table_args__ = (
        CheckConstraint("basis IN ('per_tps', 'per_box', 'per_voter')", name="basis_valid"),
        CheckConstraint(
            "contest IS NULL OR contest IN ('PRESIDEN', 'DPR', 'DPD', 'DPRD_PROV', 'DPRD_KAB')",
            name="contest_valid",
        ),
        CheckConstraint("quantity >= 0", name="quantity_nonnegative"),
        CheckConstraint("reserve_pct >= 0", name="reserve_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(20))
    # The contest whose box carries this item; NULL for items common to the TPS.
    contest: Mapped[str | None] = mapped_column(String(12), index=True)
    basis: Mapped[str] = mapped_column(String(10))
    # per_tps: items per TPS; per_box: per ballot box; per_voter: per voter (1 ballot each).
    quantity: Mapped[int] = mapped_column(Integer)
    reserve_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    # Whether the item travels inside the TPS's box of its contest (ballots, forms, envelopes).
    packed_in_box: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Whether this item varies by dapil (ballots of DPR, DPD, DPRD).
    per_dapil: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def __repr__(self) -> str:
        return f"<ItemType {self.code}>"

    def need_for(self, dpt: int, boxes: int = 1) -> int:
        """Items one TPS with `dpt` voters and `boxes` ballot boxes needs (reserve rounded up)."""
        if self.basis == NormBasis.PER_TPS:
            return self.quantity
        if self.basis == NormBasis.PER_BOX:
            return self.quantity * boxes
        base = dpt * self.quantity
        # Decimal arithmetic, so 300 voters at 2% is exactly 306, never 307 from float error.
        return math.ceil(base * (Decimal(100) + Decimal(self.reserve_pct)) / 100)


class NormChange(db.Model):
    """One change to an item's norm: who changed which field from what to what, when, and why."""

    __tablename__ = "norm_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_type.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str] = mapped_column(String(40))
    new_value: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(300))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    item_type: Mapped[ItemType] = relationship()
    changed_by: Mapped[User] = relationship()
