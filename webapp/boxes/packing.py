"""Packing: packets (ballots of one contest and dapil, forms, envelopes...) go into their TPS's box.

Each TPS box's manifest lines are the plan; `plan_packets` makes one labelled packet per line. At the
packing station a person scans a box, then packets into it. A packet for another contest or dapil
(`wrong_dapil`) or another TPS (`wrong_tps`) is refused and kept as an alert. An accepted packet
becomes a child of the box (EPCIS AggregationEvent semantics) and the box gets a `pack` event in the
ledger naming the packet. Sealing then needs every planned packet in the box, or a shortage reason
(the scan rules check it: see `_Context.missing_packets` in custody/services.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.auth.access import Forbidden, authorize_write, box_writable
from webapp.auth.models import Role, User
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box, BoxKind, BoxStatus, ManifestLine, Packet
from webapp.boxes.services import allocate_ssccs
from webapp.core.batching import chunks
from webapp.core.bulk import insert_rows
from webapp.custody.actions import at_the_table, packet_into_box, sealed_shut
from webapp.custody.models import Verdict
from webapp.custody.outcome import Outcome
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.custody.writer import alert_row, write_alerts
from webapp.geo.models import Site, SiteKind


def plan_packets(session: Session, region_code: str, *, extension: int, company_prefix: str) -> int:
    """One packet per manifest line of every box bound for a TPS in the region, where none exists yet."""
    in_region = (Site.region_code == region_code) | Site.region_code.startswith(region_code + ".")
    lines = session.execute(
        select(ManifestLine.item_type_id, ManifestLine.dapil_id, ManifestLine.quantity, Box.contest, Box.destination_id)
        .join(Box, ManifestLine.box_id == Box.id)
        .join(Site, Box.destination_id == Site.id)
        .where(Site.kind == SiteKind.TPS, in_region, ManifestLine.quantity > 0, Box.contest.is_not(None))
        .order_by(Box.destination_id, Box.set_index, ManifestLine.id)
    ).all()
    have = set()
    tps_ids = sorted({row.destination_id for row in lines})
    for chunk in chunks(tps_ids):
        have |= set(session.execute(select(Packet.tps_id, Packet.item_type_id).where(Packet.tps_id.in_(chunk))).all())
    todo = [row for row in lines if (row.destination_id, row.item_type_id) not in have]
    ssccs = allocate_ssccs(session, len(todo), extension=extension, company_prefix=company_prefix)
    rows = [
        {
            "sscc": sscc,
            "item_type_id": line.item_type_id,
            "contest": line.contest,
            "dapil_id": line.dapil_id,
            "tps_id": line.destination_id,
            "quantity": line.quantity,
        }
        for line, sscc in zip(todo, ssccs, strict=True)
    ]
    insert_rows(session, Packet.__table__, rows)  # a kab/kota has about 100,000 packets
    return len(rows)


def packet_json(packet: Packet) -> dict:
    return {
        "sscc": packet.sscc,
        "item": packet.item_type.code,
        "name": packet.item_type.name,
        "quantity": packet.quantity,
        "dapil": packet.dapil.name if packet.dapil else None,
    }


def missing_packets(session: Session, box: Box) -> list[Packet]:
    """The packets planned for this box (its TPS and contest) that are not in it yet."""
    return list(
        session.scalars(
            select(Packet)
            .where(Packet.tps_id == box.destination_id, Packet.contest == box.contest)
            .where((Packet.box_id.is_(None)) | (Packet.box_id != box.id))
            .order_by(Packet.id)
        )
    )


def _locked(session: Session, model, sscc: str):
    stmt = select(model).where(model.sscc == sscc).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def pack_packet(
    session: Session,
    *,
    actor: User,
    site_code: str,
    box_code: str,
    packet_code: str,
    device_id: str,
    device_seq: int,
    carton_code: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Put one packet into one box at a site, or refuse it (and keep the refusal as an alert).

    With `carton_code`, the packet was counted from that vendor carton (opened here): it must hold the
    packet's item and dapil, and enough of it. The caller opened the write transaction and commits.
    """
    now = now or datetime.now(UTC)
    site = session.scalar(select(Site).where(Site.code == site_code.strip().upper()))
    try:  # packing is done by warehouse staff at their own site
        authorize_write(actor, roles=(Role.WAREHOUSE,), sites=(site,))
    except Forbidden as refused:
        return Outcome(Verdict.REFUSED, "forbidden", {"why": refused.why})
    try:
        box_sscc, packet_sscc = parse_code(box_code), parse_code(packet_code)
    except CodeError as exc:
        return Outcome(Verdict.REFUSED, "malformed_code", {"why": str(exc), "kind": exc.kind})
    box, packet = _locked(session, Box, box_sscc), _locked(session, Packet, packet_sscc)
    if box is None or packet is None:
        return Outcome(Verdict.REFUSED, "unknown_code", {"sscc": box_sscc if box is None else packet_sscc})
    if not box_writable(actor, box):  # nothing of another area's box is told, or alerted on
        return Outcome(Verdict.REFUSED, "forbidden", {"box": box.sscc, "why": "box"})
    if box.kind == BoxKind.VENDOR_CARTON:
        return Outcome(Verdict.REFUSED, "is_carton", {"box": box.sscc})
    details = {
        "box": box.sscc,
        "packet": packet.sscc,
        "item": packet.item_type.name,
        "quantity": packet.quantity,
        "destination": box.destination.code,
        "destination_name": box.destination.name,
    }
    if packet.box_id == box.id:
        return Outcome(Verdict.DUPLICATE, None, details, missing=_missing(session, box))
    ruling = packet_into_box(actor, packet, box)
    reason = ruling.refusal
    details.update(ruling.details)
    carton = None
    if reason is None and carton_code:
        carton, refusal = _carton_for(session, actor, carton_code, packet, site, details)
        if refusal in QUIET_REFUSALS:  # the person scanned the wrong thing: nothing to alert about
            return Outcome(Verdict.REFUSED, refusal, details, missing=_missing(session, box))
        reason = refusal
    if reason is None and at_the_table(box, site) and sealed_shut(box):  # nothing goes into a sealed box:
        details["seals"] = list(box.seals)  # the person is told it must be opened, with a reason, first
        return Outcome(Verdict.REFUSED, "box_sealed", details, missing=_missing(session, box))
    if reason:
        details_kept = {"action": "pack", "verdict": Verdict.REFUSED, **details}
        write_alerts(
            session,
            [alert_row(reason, now=now, details=details_kept, box_id=box.id, site_id=site.id, actor_id=actor.id,
                       client_id=str(uuid.uuid4()), code=packet_code)],
        )  # fmt: skip
        return Outcome(Verdict.REFUSED, reason, details, missing=_missing(session, box))
    # The ledger has the last word: it checks the box is held here, not sealed or sent on, and appends
    # the `pack` event naming the packet (hashed with the rest of the event).
    scan = ScanInput(
        client_id=str(uuid.uuid4()),
        code=box.sscc,
        action="pack",
        site=site.code,
        scanned_at=now,
        device_id=device_id,
        device_seq=device_seq,
        note=f"packet {packet.sscc}: {packet.item_type.code} x{packet.quantity}"
        + (f" from carton {carton.sscc}" if carton is not None else ""),
    )
    result = record_scans(session, actor=actor, scans=[scan], now=now)[0]
    if result.verdict != Verdict.ACCEPTED:
        return Outcome(Verdict.REFUSED, result.reason, {**details, **result.details})
    packet = _locked(session, Packet, packet_sscc)
    packet.box_id, packet.packed_event_id = box.id, result.event["id"]
    packet.carton_id = carton.id if carton is not None else None
    session.flush()
    return Outcome(Verdict.ACCEPTED, None, details, missing=_missing(session, box), event=result.event)


def packed_from(session: Session, carton: Box) -> int:
    """How many items were counted out of a vendor carton into packets."""
    return session.scalar(select(func.coalesce(func.sum(Packet.quantity), 0)).where(Packet.carton_id == carton.id))


QUIET_REFUSALS = {"malformed_code", "unknown_code", "not_a_carton", "carton_not_open", "forbidden"}


def _carton_for(
    session: Session, actor: User, carton_code: str, packet: Packet, site: Site, details: dict
) -> tuple[Box | None, str | None]:
    """The opened carton a packet is counted from, or the reason it cannot be (details gets the facts)."""
    try:
        sscc = parse_code(carton_code)
    except CodeError as exc:
        details.update(why=str(exc), kind=exc.kind)
        return None, "malformed_code"
    carton = _locked(session, Box, sscc)  # two tables counting from one carton take turns
    if carton is None:
        details["sscc"] = sscc
        return None, "unknown_code"
    if not box_writable(actor, carton):  # another area's carton: nothing about it is told
        details.update(carton=carton.sscc, why="box")
        return None, "forbidden"
    details["carton"] = carton.sscc
    if carton.kind != BoxKind.VENDOR_CARTON:
        return None, "not_a_carton"
    if carton.status != BoxStatus.OPENED or carton.holder_site_id != site.id:
        details["carton_status"] = carton.status
        return None, "carton_not_open"
    line = carton.lines[0]
    if line.item_type_id != packet.item_type_id:
        details.update(carton_item=line.item_type.name)
        return None, "wrong_item"
    if packet.dapil_id is not None and line.dapil_id != packet.dapil_id:
        details.update(
            packet_contest=packet.contest,
            packet_dapil=packet.dapil.name,
            carton_dapil=line.dapil.name if line.dapil else None,
        )
        return None, "wrong_dapil"
    remaining = line.quantity - packed_from(session, carton)
    if remaining < packet.quantity:
        details["carton_remaining"] = remaining
        return None, "carton_short"
    return carton, None


def _missing(session: Session, box: Box) -> list[dict]:
    return [packet_json(packet) for packet in missing_packets(session, box)]


def parse_seals(text: str) -> list[str] | None:
    """Seal numbers as typed or scanned into one field (commas, semicolons or spaces between them), in
    the order given and without repeats; None when one is not a seal number (api/schemas.py `Seal`)."""
    seals = list(dict.fromkeys(part for part in SEAL_SEPARATORS.split(text or "") if part))
    if len(seals) > MAX_SEALS or not all(SEAL_NUMBER.fullmatch(seal) for seal in seals):
        return None
    return seals


SEAL_SEPARATORS = re.compile(r"[\s,;]+")
SEAL_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/.]{0,39}")
MAX_SEALS = 20


def seal_box(
    session: Session,
    *,
    actor: User,
    site_code: str,
    box: Box,
    seals: list[str],
    note: str | None,
    device_id: str,
    device_seq: int,
    now: datetime | None = None,
) -> Outcome:
    """Seal a box at the packing table: a `seal` event with its seal numbers, through the scan pipeline
    (which checks the box is held here and complete, or its shortage noted). The caller commits."""
    scan = ScanInput(
        client_id=str(uuid.uuid4()),
        code=box.sscc,
        action="seal",
        site=site_code.strip().upper(),
        scanned_at=now or datetime.now(UTC),
        device_id=device_id,
        device_seq=device_seq,
        seals=seals,
        note=(note or "").strip() or None,
    )
    return record_scans(session, actor=actor, scans=[scan], now=now)[0]
