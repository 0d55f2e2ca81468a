"""Vendor cartons: what a printer delivers, followed from the printer to the warehouse's packing table.

A carton is a box of kind `vendor_carton` with one manifest line (item type, dapil, quantity), an order
reference, and the warehouse it is delivered to as its destination. Its label is printed at the printer,
which commissions it in the ledger there; it then travels printer > courier > warehouse through the
ordinary dispatch and receive scans. At the warehouse it is opened (an `open` event) at the packing
table, and every packet counted from it names it (`Packet.carton_id`), so a TPS box's history reaches
back through its packets' cartons to the printer.

A carton's contest stays NULL on the box row: the item type carries it, and a box's contest marks a TPS
ballot box (its slot `destination, kind, contest, n` is unique; cartons are numbered n of N per order).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from webapp.auth.access import Forbidden, authorize_write
from webapp.auth.models import Role, User
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box, BoxKind, BoxStatus, ManifestLine
from webapp.boxes.packing import packed_from
from webapp.boxes.services import allocate_ssccs
from webapp.core.exceptions import JejakError
from webapp.custody.models import Verdict
from webapp.custody.outcome import Outcome
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.geo.models import WAREHOUSES, Dapil, Site, SiteKind, TpsDapil
from webapp.planning.models import ItemType

ORDER_REF = re.compile(r"^[A-Z0-9][A-Z0-9./_-]{0,39}$")
MAX_CARTONS_PER_ORDER = 1000  # one label run drawn while the person waits (about 3 s)
MAX_PER_CARTON = 100_000


class OrderProblem(JejakError):
    """An order that cannot be commissioned: `field` is the form field, `code` says why."""

    def __init__(self, field_name: str, code: str):
        super().__init__(f"{field_name}: {code}", details={"field": field_name, "problem": code})
        self.field = field_name
        self.code = code  # the problem, as the forms and the CLI name it (always caught by them)


@dataclass
class CartonOrder:
    """What a printer delivers in one go: `count` cartons of `per_carton` items of one type (and dapil)."""

    printer: str
    warehouse: str
    item: str
    dapil: str | None
    per_carton: int
    count: int
    order_ref: str


def normalise_order_ref(text: str) -> str:
    return (text or "").strip().upper()


def order_cartons(
    session: Session, order: CartonOrder, *, actor: User, extension: int, company_prefix: str
) -> list[Box]:
    """Create the order's cartons (planned, with their manifest line); printing their labels commissions
    them at the printer (labels/services.py `commission_print`). Raises OrderProblem for a bad order."""
    printer = session.scalar(select(Site).where(Site.code == order.printer.strip().upper()))
    if printer is None or printer.kind != SiteKind.PRINTER:
        raise OrderProblem("printer", "not_a_printer")
    try:  # the printer's own staff (or an admin over it) order; the warehouse is the order's receiver
        authorize_write(actor, roles=(Role.WAREHOUSE, Role.ADMIN), sites=(printer,))
    except Forbidden:
        raise OrderProblem("printer", "forbidden") from None
    warehouse = session.scalar(select(Site).where(Site.code == order.warehouse.strip().upper()))
    if warehouse is None or SiteKind(warehouse.kind) not in WAREHOUSES:
        raise OrderProblem("warehouse", "not_a_warehouse")
    item = session.scalar(select(ItemType).where(ItemType.code == order.item))
    if item is None:
        raise OrderProblem("item", "unknown_item")
    dapil = None
    if item.per_dapil:
        if not order.dapil:
            raise OrderProblem("dapil", "dapil_required")
        dapil = session.scalar(select(Dapil).where(Dapil.code == order.dapil.strip().upper()))
        if dapil is None or dapil.contest != item.contest:
            raise OrderProblem("dapil", "dapil_not_of_item")
        served = exists().where(
            TpsDapil.dapil_id == dapil.id,
            TpsDapil.site_id == Site.id,
            (Site.region_code == warehouse.region_code) | Site.region_code.startswith(f"{warehouse.region_code}."),
        )
        if warehouse.region_code and not session.scalar(select(served)):
            raise OrderProblem("dapil", "dapil_not_served")
    elif order.dapil:
        raise OrderProblem("dapil", "dapil_not_wanted")
    if not 1 <= order.per_carton <= MAX_PER_CARTON:
        raise OrderProblem("per_carton", "out_of_range")
    if not 1 <= order.count <= MAX_CARTONS_PER_ORDER:
        raise OrderProblem("count", "out_of_range")
    ref = normalise_order_ref(order.order_ref)
    if not ORDER_REF.match(ref):
        raise OrderProblem("order_ref", "bad_order_ref")

    ssccs = allocate_ssccs(session, order.count, extension=extension, company_prefix=company_prefix)
    cartons = []
    for n, sscc in enumerate(ssccs, start=1):
        carton = Box(
            sscc=sscc,
            kind=BoxKind.VENDOR_CARTON,
            contest=None,
            dapil_id=dapil.id if dapil else None,
            destination_id=warehouse.id,
            set_index=n,
            set_size=order.count,
            order_ref=ref,
            current_site_id=printer.id,  # where it is being filled: its printer sees it before its label
            seals=[],
            status=BoxStatus.PLANNED,
        )
        carton.lines.append(ManifestLine(item_type_id=item.id, dapil_id=carton.dapil_id, quantity=order.per_carton))
        cartons.append(carton)
    session.add_all(cartons)
    session.flush()
    return cartons


def order_cartons_of(session: Session, order_ref: str) -> list[Box]:
    """The cartons of one order reference, in the order they were created."""
    return list(
        session.scalars(
            select(Box)
            .where(Box.kind == BoxKind.VENDOR_CARTON, Box.order_ref == normalise_order_ref(order_ref))
            .order_by(Box.id)
        )
    )


def carton_json(session: Session, carton: Box) -> dict:
    line = carton.lines[0]
    return {
        "sscc": carton.sscc,
        "item": line.item_type.code,
        "name": line.item_type.name,
        "unit": line.item_type.unit,
        "dapil": carton.dapil.name if carton.dapil else None,
        "quantity": line.quantity,
        "remaining": line.quantity - packed_from(session, carton),
        "order_ref": carton.order_ref,
        "status": carton.status,
    }


def find_carton(session: Session, code: str) -> Box | None:
    """The vendor carton a scanned code names, or None (not a code, unknown, or another kind of box)."""
    try:
        sscc = parse_code(code)
    except CodeError:
        return None
    return session.scalar(select(Box).where(Box.sscc == sscc, Box.kind == BoxKind.VENDOR_CARTON))


def open_carton(
    session: Session,
    *,
    actor: User,
    site_code: str,
    carton_code: str,
    device_id: str,
    device_seq: int,
    now: datetime | None = None,
) -> Outcome:
    """Open a carton received at this warehouse (an `open` event), or find it already open here.

    It runs in the caller's write transaction (core/database.py: in_transaction), which commits."""
    try:
        sscc = parse_code(carton_code)
    except CodeError as exc:
        return Outcome(Verdict.REFUSED, "malformed_code", {"why": str(exc), "kind": exc.kind})
    carton = session.scalar(select(Box).where(Box.sscc == sscc))
    if carton is None:
        return Outcome(Verdict.REFUSED, "unknown_code", {"sscc": sscc})
    if carton.kind != BoxKind.VENDOR_CARTON:
        return Outcome(Verdict.REFUSED, "not_a_carton", {"sscc": sscc})
    site = session.scalar(select(Site).where(Site.code == site_code.strip().upper()))
    if carton.status == BoxStatus.OPENED and site is not None and carton.holder_site_id == site.id:
        return Outcome(Verdict.DUPLICATE, None, carton_json(session, carton))
    scan = ScanInput(
        client_id=str(uuid.uuid4()),
        code=carton.sscc,
        action="open",
        site=site_code,
        scanned_at=now or datetime.now(UTC),
        device_id=device_id,
        device_seq=device_seq,
        note="opened at the packing table",
    )
    result = record_scans(session, actor=actor, scans=[scan], now=now)[0]
    if result.verdict != Verdict.ACCEPTED:
        return Outcome(Verdict.REFUSED, result.reason, {**carton_json(session, carton), **result.details})
    return Outcome(Verdict.ACCEPTED, None, carton_json(session, carton), event=result.event)


# --- the demo: a delivery half-way through ------------------------------------------------------

DEMO_ORDERS = (
    # (order reference, item code, dapil code, per carton, cartons, how many reach the warehouse)
    ("SPK-DEMO-01", "SURAT_SUARA_DPR", "DPR-31-01", 500, 12, 8),
    ("SPK-DEMO-02", "SURAT_SUARA_PRESIDEN", None, 500, 6, 0),
)


def seed_demo_deliveries(session: Session, config: dict, *, warehouse: str, printer: str = "PRN-1") -> int:
    """Cartons for the demo (find-or-create by order reference): DPR ballots of dapil DKI Jakarta I from
    the printer, most of them received at the warehouse and one opened; Presiden ballots still at the
    printer. Every step is a scan through the ledger, by the demo's printer, carrier and warehouse people.
    Returns the cartons created."""
    people = {u.username: u for u in session.scalars(select(User).where(User.username.in_(DEMO_PEOPLE)))}
    if set(people) != set(DEMO_PEOPLE):
        return 0
    created = 0
    seq = iter(range(1, 10**6))
    now = datetime.now(UTC)

    def scans(actor: str, action: str, site: str, boxes: list[Box], **extra) -> None:
        device = f"demo-{actor}"
        batch = [ScanInput(str(uuid.uuid4()), box.sscc, action, site, now, device, next(seq), **extra) for box in boxes]
        for result in record_scans(session, actor=people[actor], scans=batch, now=now):
            if result.verdict != Verdict.ACCEPTED:
                raise RuntimeError(f"demo delivery: {action} at {site} refused ({result.reason})")

    for ref, item, dapil, per_carton, count, arrived in DEMO_ORDERS:
        if order_cartons_of(session, ref):
            continue
        order = CartonOrder(printer, warehouse, item, dapil, per_carton, count, ref)
        cartons = order_cartons(
            session,
            order,
            actor=people["percetakan"],
            extension=config["GS1_EXTENSION_DIGIT"],
            company_prefix=config["GS1_COMPANY_PREFIX"],
        )
        created += len(cartons)
        scans("percetakan", "commission", printer, cartons, note="label printed")
        if arrived:
            scans("percetakan", "dispatch", printer, cartons, to="courier:ekspedisi")
            scans("ekspedisi", "receive", printer, cartons)
            scans("ekspedisi", "dispatch", warehouse, cartons[:arrived], to=warehouse)
            scans("gudang", "receive", warehouse, cartons[:arrived])
            scans("gudang", "open", warehouse, cartons[:1], note="opened at the packing table")
    session.flush()
    return created


DEMO_PEOPLE = ("percetakan", "ekspedisi", "gudang")
