"""The default item catalogue and the needs of one TPS computed from it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from webapp.auth.access import authorize_write
from webapp.auth.models import Role
from webapp.geo.models import Contest
from webapp.planning.models import ItemType, NormBasis, NormChange

CONTEST_LABELS = {
    Contest.PRESIDEN: "Presiden dan Wakil Presiden",
    Contest.DPR: "DPR",
    Contest.DPD: "DPD",
    Contest.DPRD_PROV: "DPRD Provinsi",
    Contest.DPRD_KAB: "DPRD Kabupaten/Kota",
}
# Ballots per TPS: DPT plus this reserve, by election type (ELECTION_TYPE): UU 7/2017 Pasal 344 for a
# Pemilu, 2.5% for a Pilkada (PKPU on Pilkada logistics).
BALLOT_RESERVE_PCT = {"pemilu": Decimal("2.0"), "pilkada": Decimal("2.5")}


def default_catalogue(election: str = "pemilu") -> list[dict]:
    """KPU's per-TPS logistics, with norms (items common to a TPS travel in its Presiden box)."""
    if election not in BALLOT_RESERVE_PCT:
        raise ValueError(f"ELECTION_TYPE must be one of {', '.join(BALLOT_RESERVE_PCT)}, not {election!r}")
    items = [
        dict(
            code="KOTAK_SUARA",
            name="Kotak suara",
            unit="buah",
            contest=None,
            basis=NormBasis.PER_BOX,
            quantity=1,
            packed_in_box=False,
        ),
        dict(
            code="BILIK_SUARA",
            name="Bilik suara",
            unit="buah",
            contest=None,
            basis=NormBasis.PER_TPS,
            quantity=4,
            packed_in_box=False,
        ),
        dict(
            code="TINTA",
            name="Tinta sidik jari",
            unit="botol",
            contest=Contest.PRESIDEN,
            basis=NormBasis.PER_TPS,
            quantity=2,
        ),
        dict(
            code="SEGEL",
            name="Segel kotak suara",
            unit="lembar",
            contest=Contest.PRESIDEN,
            basis=NormBasis.PER_TPS,
            quantity=40,
        ),
    ]
    for contest, label in CONTEST_LABELS.items():
        items += [
            dict(
                code=f"SURAT_SUARA_{contest}",
                name=f"Surat suara {label}",
                unit="lembar",
                contest=contest,
                basis=NormBasis.PER_VOTER,
                quantity=1,
                reserve_pct=BALLOT_RESERVE_PCT[election],
                per_dapil=contest != Contest.PRESIDEN,
            ),
            dict(
                code=f"FORMULIR_{contest}",
                name=f"Formulir C {label}",
                unit="set",
                contest=contest,
                basis=NormBasis.PER_TPS,
                quantity=1,
            ),
            dict(
                code=f"SAMPUL_{contest}",
                name=f"Sampul kertas {label}",
                unit="lembar",
                contest=contest,
                basis=NormBasis.PER_TPS,
                quantity=8,
            ),
        ]
    defaults = {"reserve_pct": Decimal("0"), "packed_in_box": True, "per_dapil": False}
    return [
        {
            **defaults,
            **item,
            "contest": item["contest"].value if item["contest"] else None,
            "basis": item["basis"].value,
        }
        for item in items
    ]


def ensure_catalogue(session: Session, election: str = "pemilu") -> int:
    """Add the default item types that are missing; existing ones (maybe edited) are kept."""
    have = set(session.scalars(select(ItemType.code)))
    rows = [item for item in default_catalogue(election) if item["code"] not in have]
    if rows:
        session.execute(insert(ItemType), rows)
        session.flush()
    return len(rows)


@dataclass(frozen=True)
class Need:
    """How many of one item a box (or a TPS) needs."""

    item: ItemType
    quantity: int


def box_contents(items: list[ItemType], contest: str, dpt: int, boxes: int) -> list[Need]:
    """What goes into a TPS's box of one contest: that contest's packed items at the norm."""
    return [Need(item, item.need_for(dpt, boxes)) for item in items if item.packed_in_box and item.contest == contest]


NORM_FIELDS = ("quantity", "reserve_pct")


def change_norm(session: Session, item: ItemType, *, actor, reason: str, **values) -> list[NormChange]:
    """Change an item's norm (quantity, reserve_pct); each changed field is kept as a NormChange.
    Norms are national: only an admin with the whole country in scope changes them (Forbidden otherwise)."""
    authorize_write(actor, roles=(Role.ADMIN,), national=True)
    changes = []
    for name, value in values.items():
        if name not in NORM_FIELDS:
            raise ValueError(f"{name} is not a norm field")
        if name == "reserve_pct":  # stored with two decimals: the history shows what is stored
            value = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        old = getattr(item, name)
        if Decimal(str(old)) == Decimal(str(value)):
            continue
        setattr(item, name, value)
        changes.append(
            NormChange(
                item_type=item, field=name, old_value=str(old), new_value=str(value), reason=reason, changed_by=actor
            )
        )
    session.add_all(changes)
    session.flush()
    return changes
