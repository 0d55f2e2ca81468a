"""Which labels to print for a region, read from the boxes and their destinations in a few queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from webapp.auth.models import User
from webapp.boxes.models import Box, BoxStatus
from webapp.core.batching import chunks
from webapp.core.database import begin_write
from webapp.custody.models import CustodyEvent, EventKind, Verdict
from webapp.custody.services import ScanInput, record_scans
from webapp.geo.models import CONTEST_COLOURS, Dapil, Region, Site, SiteKind
from webapp.labels.render import LabelSpec
from webapp.planning.services import CONTEST_LABELS

NEUTRAL = "#455a64"  # the band of a box without a contest (logistics only)


def digital_link(base_url: str, sscc: str) -> str:
    """The GS1 Digital Link URI a label's QR code carries: <base>/00/<SSCC>."""
    return f"{base_url.rstrip('/')}/00/{sscc}"


def label_specs(session: Session, region_code: str, base_url: str) -> list[LabelSpec]:
    """Labels for every box bound for a TPS in the region (a province, kab/kota, kecamatan or desa code,
    or one TPS's site code), in TPS order and box order within a TPS. Voided boxes get none."""
    desa = aliased(Region)
    kecamatan = aliased(Region)
    query = (
        select(Box, Site.code, Site.name, desa.name, kecamatan.name, Dapil.name)
        .join(Site, Box.destination_id == Site.id)
        .outerjoin(desa, desa.code == Site.region_code)
        .outerjoin(kecamatan, kecamatan.code == desa.parent_code)
        .outerjoin(Dapil, Dapil.id == Box.dapil_id)
        .where(Site.kind == SiteKind.TPS, Box.status != BoxStatus.VOIDED)
        .order_by(Site.code, Box.set_index)
    )
    if region_code.upper().startswith("TPS-"):
        query = query.where(Site.code == region_code.upper())
    else:
        query = query.where((Site.region_code == region_code) | Site.region_code.startswith(region_code + "."))
    specs = []
    for box, tps_code, tps_name, desa_name, kecamatan_name, dapil_name in session.execute(query):
        specs.append(
            LabelSpec(
                sscc=box.sscc,
                uri=digital_link(base_url, box.sscc),
                tps_code=tps_code,
                tps_name=tps_name,
                desa=desa_name or "",
                kecamatan=kecamatan_name or "",
                contest=box.contest or "",
                contest_label=CONTEST_LABELS.get(box.contest, box.contest or "Logistik"),
                colour=CONTEST_COLOURS.get(box.contest, NEUTRAL),
                dapil=dapil_name,
                box_index=box.set_index,
                box_count=box.set_size,
            )
        )
    return specs


@dataclass
class PrintRun:
    """The outcome of commissioning a print run in the ledger: the labels to print and the boxes refused."""

    printed: list[LabelSpec] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (sscc, reason)


def commission_print(session: Session, specs: list[LabelSpec], *, actor: User, site: str) -> PrintRun:
    """Record the printing of these labels as commission events at `site` by `actor`, in write
    transactions of 1,000 (committed here). A label printed before says REPRINT n, on the label and in
    the event's note; a box the rules refuse (held elsewhere, voided...) gets no label."""
    ssccs = [spec.sscc for spec in specs]
    printed_before: dict[str, int] = {}
    for chunk in chunks(ssccs, 5000):
        printed_before.update(
            session.execute(
                select(Box.sscc, func.count(CustodyEvent.id))
                .join(CustodyEvent, CustodyEvent.box_id == Box.id)
                .where(Box.sscc.in_(chunk), CustodyEvent.kind == EventKind.COMMISSION)
                .group_by(Box.sscc)
            ).all()
        )
    device = f"print-{uuid.uuid4().hex[:12]}"  # one print run is one device, its labels in order
    run = PrintRun()
    for start in range(0, len(specs), 1000):
        batch = specs[start : start + 1000]
        now = datetime.now(UTC)
        scans = [
            ScanInput(
                client_id=str(uuid.uuid4()),
                code=spec.sscc,
                action=EventKind.COMMISSION,
                site=site,
                scanned_at=now,
                device_id=device,
                device_seq=start + n,
                note=f"REPRINT {printed_before[spec.sscc]}" if printed_before.get(spec.sscc) else "label printed",
            )
            for n, spec in enumerate(batch)
        ]
        begin_write(session)
        results = record_scans(session, actor=actor, scans=scans)
        session.commit()
        for spec, result in zip(batch, results, strict=True):
            if result.verdict == Verdict.ACCEPTED:
                run.printed.append(replace(spec, reprint=printed_before.get(spec.sscc, 0)))
            else:
                run.refused.append((spec.sscc, result.reason or result.verdict))
    return run
