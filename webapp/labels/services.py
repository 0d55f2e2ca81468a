"""Which labels to print for a region, read from the boxes and their destinations in a few queries."""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import BinaryIO

from flask import current_app, has_app_context
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, aliased

from webapp.auth.models import User
from webapp.boxes.models import Box, BoxStatus, Packet
from webapp.core.batching import chunks
from webapp.core.database import in_transaction
from webapp.core.jobs import claim
from webapp.custody.actions import EventKind
from webapp.custody.models import CustodyEvent, Verdict
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.geo.models import CONTEST_COLOURS, Dapil, Region, Site, SiteKind
from webapp.labels.models import JobState, LabelJob, LabelJobPdf
from webapp.labels.render import LabelSpec, render_pdf
from webapp.planning.models import ItemType
from webapp.planning.services import CONTEST_LABELS

log = logging.getLogger(__name__)
NEUTRAL = "#455a64"  # the band of a box without a contest (logistics only)


def digital_link(base_url: str, sscc: str) -> str:
    """The GS1 Digital Link URI a label's QR code carries: <base>/00/<SSCC>."""
    return f"{base_url.rstrip('/')}/00/{sscc}"


def _prefix_length(sscc: str) -> int:
    """The length of the GS1 company prefix this SSCC is numbered under, to print it in its parts (0 when
    it is not the configured prefix's, or outside the app: the label then groups only the outer digits)."""
    prefix = (current_app.config.get("GS1_COMPANY_PREFIX") or "") if has_app_context() else ""
    return len(prefix) if prefix and sscc[1:].startswith(prefix) else 0


def label_specs(session: Session, region_code: str, base_url: str) -> list[LabelSpec]:
    """Labels for every box bound for a TPS in the region (a province, kab/kota, kecamatan or desa code,
    or one TPS's site code), in TPS order and box order within a TPS. Voided boxes get none."""
    desa = aliased(Region)
    kecamatan = aliased(Region)
    kabkota = aliased(Region)
    query = (
        select(Box, Site.code, Site.name, desa.name, kecamatan.name, kabkota.name, Dapil.name)
        .join(Site, Box.destination_id == Site.id)
        .outerjoin(desa, desa.code == Site.region_code)
        .outerjoin(kecamatan, kecamatan.code == desa.parent_code)
        .outerjoin(kabkota, kabkota.code == kecamatan.parent_code)
        .outerjoin(Dapil, Dapil.id == Box.dapil_id)
        .where(Site.kind == SiteKind.TPS, Box.status != BoxStatus.VOIDED)
        .order_by(Site.code, Box.set_index)
    )
    if region_code.upper().startswith("TPS-"):
        query = query.where(Site.code == region_code.upper())
    else:
        query = query.where((Site.region_code == region_code) | Site.region_code.startswith(region_code + "."))
    specs = []
    for box, tps_code, tps_name, desa_name, kecamatan_name, kabkota_name, dapil_name in session.execute(query):
        specs.append(
            LabelSpec(
                sscc=box.sscc,
                uri=digital_link(base_url, box.sscc),
                tps_code=tps_code,
                tps_name=tps_name,
                desa=desa_name or "",
                kecamatan=kecamatan_name or "",
                kabkota=kabkota_name or "",
                prefix_length=_prefix_length(box.sscc),
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
    kabkota = aliased(Region)
    query = (
        select(
            Packet,
            ItemType.name,
            ItemType.unit,
            Site.code,
            Site.name,
            desa.name,
            kecamatan.name,
            kabkota.name,
            Dapil.name,
        )
        .join(ItemType, Packet.item_type_id == ItemType.id)
        .join(Site, Packet.tps_id == Site.id)
        .outerjoin(desa, desa.code == Site.region_code)
        .outerjoin(kecamatan, kecamatan.code == desa.parent_code)
        .outerjoin(kabkota, kabkota.code == kecamatan.parent_code)
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
            kabkota=kabkota_name or "",
            prefix_length=_prefix_length(packet.sscc),
            contest=packet.contest,
            contest_label=item_name,
            colour=CONTEST_COLOURS.get(packet.contest, NEUTRAL),
            dapil=dapil_name,
            box_index=0,
            box_count=0,
            quantity=f"{packet.quantity:,} {unit}".replace(",", "."),
        )
        for packet, item_name, unit, tps_code, tps_name, desa_name, kecamatan_name, kabkota_name, dapil_name in (
            session.execute(query)
        )
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
                prefix_length=_prefix_length(carton.sscc),
            )
        )
    return specs


@dataclass
class PrintRun:
    """The outcome of commissioning a print run in the ledger: the labels to print and the boxes refused."""

    printed: list[LabelSpec] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (sscc, reason)


def commission_print(
    session: Session,
    specs: list[LabelSpec],
    *,
    actor: User,
    site: str,
    run_key: str | None = None,
    on_batch: Callable[[], None] | None = None,
) -> PrintRun:
    """Record the printing of these labels as commission events at `site` by `actor`, in write
    transactions of 1,000 (committed here). A label printed before says REPRINT n, on the label and in
    the event's note; a box the rules refuse (held elsewhere, voided...) gets no label.

    With a `run_key` (a label job's), each label's scan id is derived from the key and the SSCC, so running
    the same print again (a retried job) records nothing twice: the ledger answers each label already
    commissioned with its first answer, and such a label keeps the reprint number of that first run (the
    commissions of other runs, not of this one, are counted). `on_batch` is called after each transaction.
    """
    ssccs = [spec.sscc for spec in specs]
    device = f"print-{run_key}" if run_key else f"print-{uuid.uuid4().hex[:12]}"  # one run is one device
    printed_before: dict[str, int] = {}
    for chunk in chunks(ssccs, 5000):
        printed_before.update(
            session.execute(
                select(Box.sscc, func.count(CustodyEvent.id))
                .join(CustodyEvent, CustodyEvent.box_id == Box.id)
                .where(Box.sscc.in_(chunk), CustodyEvent.kind == EventKind.COMMISSION, CustodyEvent.device_id != device)
                .group_by(Box.sscc)
            ).all()
        )

    def scan_id(sscc: str) -> str:
        return (
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"jejak:label-print:{run_key}:{sscc}")) if run_key else str(uuid.uuid4())
        )

    # the labels' from-block: the printer or warehouse printing them (a site the rules refuse prints nothing)
    sender = session.scalar(select(Site.name).where(Site.code == site)) or site
    run = PrintRun()
    for start in range(0, len(specs), 1000):
        batch = specs[start : start + 1000]
        now = datetime.now(UTC)
        scans = [
            ScanInput(
                client_id=scan_id(spec.sscc),
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
            verdict = result.original_verdict if result.verdict == Verdict.DUPLICATE else result.verdict
            if verdict == Verdict.ACCEPTED:
                run.printed.append(
                    replace(spec, reprint=printed_before.get(spec.sscc, 0), sender=spec.sender or sender)
                )
            else:
                run.refused.append((spec.sscc, result.reason or verdict))
        if on_batch:
            on_batch()
    return run


PROGRESS_EVERY = 400  # labels between two progress updates of a background job
PDF_PIECE_BYTES = 1024 * 1024  # a job's PDF is kept and sent in pieces of this size


class JobNotRunnable(ValueError):
    """The job is not waiting to run (unknown, already done or failed, or running elsewhere)."""


def store_pdf(session: Session, job: LabelJob, pdf: BinaryIO) -> int:
    """Keep the PDF read from `pdf` as the job's, in pieces (replacing any earlier one); returns its size.
    The caller's transaction commits it."""
    session.execute(delete(LabelJobPdf).where(LabelJobPdf.job_id == job.id))
    size = seq = 0
    while piece := pdf.read(PDF_PIECE_BYTES):
        # a plain INSERT, no ORM object kept: one piece in memory at a time
        session.execute(insert(LabelJobPdf), {"job_id": job.id, "seq": seq, "data": piece})
        size += len(piece)
        seq += 1
    job.pdf_size = size
    return size


def pdf_pieces(session: Session, job_id: int) -> Iterator[bytes]:
    """A job's PDF, piece by piece in order, each read in a short transaction of its own (a download may
    take minutes on a slow link: no read transaction stays open meanwhile)."""
    seq = 0
    while True:
        piece = session.scalar(select(LabelJobPdf.data).where(LabelJobPdf.job_id == job_id, LabelJobPdf.seq == seq))
        session.rollback()
        if piece is None:
            return
        yield bytes(piece)
        seq += 1


def _set(session: Session, job: LabelJob, **values) -> None:
    """Record a step of a job, committed on its own (as the rule says), with a heartbeat."""

    def work() -> None:
        for name, value in {"heartbeat_at": datetime.now(UTC), **values}.items():
            setattr(job, name, value)

    in_transaction(work, session=session)


def run_job(session: Session, job_id: int, *, base_url: str, last_attempt: bool = True) -> LabelJob:
    """Run a queued label job to the end: commission, draw, keep the PDF in the database, record progress.

    A failure is recorded on the job and raised again, so that the queue runs the job again; on the
    `last_attempt` it is recorded as the job's end (failed, with its error) instead. Running a job again
    commissions nothing twice (commission_print's run_key). JobNotRunnable when the job is not queued.
    """
    if not claim(session, LabelJob, job_id):
        raise JobNotRunnable(f"label job {job_id} is not waiting to run")
    job = session.get(LabelJob, job_id, populate_existing=True)
    try:
        specs = label_specs(session, job.region, base_url)
        _set(session, job, total=len(specs))
        run = commission_print(
            session,
            specs,
            actor=job.requested_by,
            site=job.site_code,
            run_key=f"job-{job.id}",
            on_batch=lambda: _set(session, job),
        )
        _set(session, job, refused=len(run.refused))
        if not run.printed:
            _set(
                session,
                job,
                state=JobState.FAILED,
                error="no box could be commissioned at this site",
                finished_at=datetime.now(UTC),
            )
            return job

        reported = [0]

        def progress(done: int, _total: int) -> None:
            if done - reported[0] >= PROGRESS_EVERY or done == len(run.printed):
                reported[0] = done
                _set(session, job, done=done)

        with tempfile.TemporaryFile(prefix="jejak-labels-") as scratch:  # this machine's, only while drawing
            render_pdf(run.printed, scratch, job.format, progress=progress)
            scratch.seek(0)

            def finish() -> None:
                store_pdf(session, job, scratch)
                job.state, job.error, job.finished_at = JobState.DONE, None, datetime.now(UTC)

            in_transaction(finish, session=session)
    except Exception as exc:
        session.rollback()
        log.exception("label job %s failed (attempt %s)", job_id, job.attempts)
        error = f"{type(exc).__name__}: {exc}"[:500]
        if last_attempt:
            _set(session, job, state=JobState.FAILED, error=error, finished_at=datetime.now(UTC))
            return job
        _set(session, job, state=JobState.QUEUED, error=error)
        raise
    return job
