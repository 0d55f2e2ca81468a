"""Which labels to print for a region, read from the boxes and their destinations in a few queries."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from webapp.auth.models import User
from webapp.boxes.models import Box, BoxStatus, Packet
from webapp.core.batching import chunks
from webapp.core.database import in_transaction
from webapp.custody.actions import EventKind
from webapp.custody.models import CustodyEvent, Verdict
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.geo.models import CONTEST_COLOURS, Dapil, Region, Site, SiteKind
from webapp.labels.models import JobState, LabelJob
from webapp.labels.render import LabelSpec, render_pdf
from webapp.planning.models import ItemType
from webapp.planning.services import CONTEST_LABELS

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
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


def packet_label_specs(session: Session, region_code: str, base_url: str) -> list[LabelSpec]:
    """Labels for the packets of every TPS in the region (or one TPS), in TPS and item order. Packets
    are not ledger objects: printing them records nothing; packing them does (a `pack` event)."""
    desa = aliased(Region)
    kecamatan = aliased(Region)
    query = (
        select(Packet, ItemType.name, ItemType.unit, Site.code, Site.name, desa.name, kecamatan.name, Dapil.name)
        .join(ItemType, Packet.item_type_id == ItemType.id)
        .join(Site, Packet.tps_id == Site.id)
        .outerjoin(desa, desa.code == Site.region_code)
        .outerjoin(kecamatan, kecamatan.code == desa.parent_code)
        .outerjoin(Dapil, Dapil.id == Packet.dapil_id)
        .order_by(Site.code, Packet.id)
    )
    if region_code.upper().startswith("TPS-"):
        query = query.where(Site.code == region_code.upper())
    else:
        query = query.where((Site.region_code == region_code) | Site.region_code.startswith(region_code + "."))
    return [
        LabelSpec(
            sscc=packet.sscc,
            uri=digital_link(base_url, packet.sscc),
            tps_code=tps_code,
            tps_name=tps_name,
            desa=desa_name or "",
            kecamatan=kecamatan_name or "",
            contest=packet.contest,
            contest_label=item_name,
            colour=CONTEST_COLOURS.get(packet.contest, NEUTRAL),
            dapil=dapil_name,
            box_index=0,
            box_count=0,
            quantity=f"{packet.quantity:,} {unit}".replace(",", "."),
        )
        for packet, item_name, unit, tps_code, tps_name, desa_name, kecamatan_name, dapil_name in session.execute(query)
    ]


def carton_label_specs(cartons: list[Box], base_url: str, printer: Site) -> list[LabelSpec]:
    """Labels for vendor cartons printed at `printer` (boxes/cartons.py): warehouse, order, printer,
    item, dapil, quantity, carton n of N."""
    specs = []
    for carton in cartons:
        line = carton.lines[0]
        item = line.item_type
        specs.append(
            LabelSpec(
                sscc=carton.sscc,
                uri=digital_link(base_url, carton.sscc),
                tps_code=carton.destination.code,
                tps_name=carton.destination.name,
                desa="",
                kecamatan="",
                contest=item.contest or "",
                contest_label=item.name,
                colour=CONTEST_COLOURS.get(item.contest, NEUTRAL),
                dapil=carton.dapil.name if carton.dapil else None,
                box_index=carton.set_index,
                box_count=carton.set_size,
                quantity=f"{line.quantity:,} {item.unit}".replace(",", "."),
                order_ref=carton.order_ref,
                sender=printer.name,
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
        results = in_transaction(lambda scans=scans: record_scans(session, actor=actor, scans=scans), session=session)
        for spec, result in zip(batch, results, strict=True):
            if result.verdict == Verdict.ACCEPTED:
                run.printed.append(replace(spec, reprint=printed_before.get(spec.sscc, 0)))
            else:
                run.refused.append((spec.sscc, result.reason or result.verdict))
    return run


PROGRESS_EVERY = 400  # labels between two progress updates of a background job


def job_pdf_path(jobs_dir: str | Path, job_id: int) -> Path:
    """Where a job's PDF goes (LABEL_JOBS_DIR)."""
    return Path(jobs_dir) / f"labels-{job_id}.pdf"


def run_job(session: Session, job_id: int, *, base_url: str, jobs_dir: str | Path) -> LabelJob:
    """Run a queued label job to the end (in its own process): commission, draw, and record progress."""
    job = session.get(LabelJob, job_id)
    if job is None or job.state != JobState.QUEUED:
        raise ValueError(f"label job {job_id} is not waiting to run")

    def save(**values) -> None:  # each step of the job commits on its own, as the rule says
        in_transaction(lambda: [setattr(job, name, value) for name, value in values.items()], session=session)

    save(state=JobState.RUNNING)
    try:
        specs = label_specs(session, job.region, base_url)
        save(total=len(specs))
        run = commission_print(session, specs, actor=job.requested_by, site=job.site_code)
        save(refused=len(run.refused))
        path = job_pdf_path(jobs_dir, job.id)
        path.parent.mkdir(parents=True, exist_ok=True)

        def progress(done: int, _total: int) -> None:
            if done - job.done >= PROGRESS_EVERY or done == len(run.printed):
                save(done=done)

        if run.printed:
            render_pdf(run.printed, path, job.format, progress=progress)
        outcome = {"state": JobState.DONE, "error": None}
        if not run.printed:
            outcome = {"state": JobState.FAILED, "error": "no box could be commissioned at this site"}
    except Exception as exc:
        log.exception("label job %s failed", job_id)
        session.rollback()
        outcome = {"state": JobState.FAILED, "error": f"{type(exc).__name__}: {exc}"[:500]}
    save(**outcome, finished_at=datetime.now(UTC))
    return job


def launch_job(job: LabelJob, *, inline: bool, base_url: str, jobs_dir: str | Path, session: Session) -> None:
    """Start a queued job in a process of its own (`flask labels run-job ID`), so the app keeps
    answering; with `inline` (tests), run it here and now."""
    if inline:
        run_job(session, job.id, base_url=base_url, jobs_dir=jobs_dir)
        return
    log_path = job_pdf_path(jobs_dir, job.id).with_suffix(".log")
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "labels", "run-job", str(job.id)],
                cwd=PROJECT_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not a child the web worker must wait for
            )
    except OSError as exc:  # no disk, no process: the job fails visibly instead of waiting forever
        log.exception("label job %s could not start", job.id)
        failed = {"state": JobState.FAILED, "error": f"could not start: {exc}"[:500], "finished_at": datetime.now(UTC)}
        in_transaction(lambda: [setattr(job, name, value) for name, value in failed.items()], session=session)
