"""The scan pipeline: every custody event enters the ledger through `record_scans`.

A batch is the same scans one by one, in device order, idempotent by client scan id:

1. load: the batch's boxes are locked (SELECT ... FOR UPDATE on PostgreSQL, in id order so two batches
   never deadlock; the request's transaction opened BEGIN IMMEDIATE on SQLite) with what the rules read
   (custody/context.py);
2. judge: who and where (auth/access.py), the code, the box's area, then the action's rule
   (custody/actions.py) on the locked state;
3. append: an accepted scan becomes the box's next event, hashed onto its chain (custody/event.py,
   custody/ledger.py); refusals and warnings become alerts; a GPS fix is checked for a cloned label
   (custody/clones.py);
4. write: events, receipts and alerts in bulk (custody/writer.py). The pipeline flushes; the request's
   transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.auth.access import Forbidden, authorize_write, box_writable
from webapp.auth.models import User
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box, BoxStatus
from webapp.custody import event as ledger_event
from webapp.custody.actions import ACTIONS, SEALING, EventKind, Scan, refuse
from webapp.custody.clones import Sighting, clone_check, clone_limits
from webapp.custody.context import BatchContext
from webapp.custody.holders import site_holder, user_holder
from webapp.custody.ledger import GENESIS, canonical_event, chain_hash
from webapp.custody.models import CustodyEvent, ScanReceipt, Verdict
from webapp.custody.outcome import Outcome
from webapp.custody.writer import alert_row, log_verdicts, receipt_row, write_scans
from webapp.geo.models import Site

LATE_SYNC_AFTER = timedelta(hours=1)
CLOCK_SKEW_AHEAD = timedelta(minutes=5)
to_millis = ledger_event.to_millis


@dataclass
class ScanInput:
    """One scan as a phone or scanner sends it (already checked for shape and types)."""

    client_id: str
    code: str
    action: str
    site: str
    scanned_at: datetime
    device_id: str
    device_seq: int
    to: str | None = None
    seals: list[str] | None = None
    condition: str | None = None
    note: str | None = None
    witness: str | None = None
    lat: Decimal | None = None
    lon: Decimal | None = None
    accuracy: int | None = None
    handover: str | None = None
    corrects: str | None = None  # a correction's: the hash of the event it corrects


@dataclass
class _Batch:
    """What a batch will write, gathered scan by scan."""

    events: list[dict] = field(default_factory=list)
    accepted: list[tuple[Outcome, Box]] = field(default_factory=list)
    receipts: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def record_scans(
    session: Session, *, actor: User, scans: list[ScanInput], now: datetime | None = None
) -> list[Outcome]:
    """Record a batch of scans, in device order, one outcome per scan (in the order given)."""
    now = to_millis(now or datetime.now(UTC))
    for scan in scans:
        scan.scanned_at = to_millis(scan.scanned_at)
    parsed: dict[str, str | CodeError] = {}
    for scan in scans:
        try:
            parsed[scan.client_id] = parse_code(scan.code)
        except CodeError as exc:
            parsed[scan.client_id] = exc
    ctx = BatchContext(session, actor, scans, {v for v in parsed.values() if isinstance(v, str)})
    # The lock query also says whether any of these scan ids was seen before (the rare case of a
    # replay): only then are the receipts read, so a new scan costs no query of its own for this.
    replays = _replayed(session, actor, scans) if ctx.seen_before else {}
    batch, first_in_batch = _Batch(), {}
    answers: list[Outcome | None] = [None] * len(scans)
    for index, scan in sorted(enumerate(scans), key=lambda pair: (pair[1].device_id, pair[1].device_seq)):
        if scan.client_id in replays:
            answers[index] = replays[scan.client_id]
        elif scan.client_id in first_in_batch:
            first = first_in_batch[scan.client_id]
            answers[index] = Outcome(
                Verdict.DUPLICATE, first.reason, dict(first.details), list(first.warnings), scan.client_id,
                first.event, first.verdict,
            )  # fmt: skip
        else:
            outcome, box = _judge(ctx, scan, parsed[scan.client_id], now, batch)
            answers[index] = first_in_batch[scan.client_id] = outcome
            if outcome.reason != "forbidden":  # a write the actor may not make writes nothing at all
                _keep(ctx, scan, outcome, box, now, batch)
    ids = write_scans(
        session,
        boxes=list({id(box): box for _outcome, box in batch.accepted}.values()),
        events=batch.events,
        receipts=batch.receipts,
        alerts=batch.alerts,
    )
    for outcome, _box in batch.accepted:
        outcome.event["id"] = ids[outcome.client_id]
    log_verdicts(actor.username, batch.outcomes)
    return answers


def _replayed(session: Session, actor: User, scans: list[ScanInput]) -> dict[str, Outcome]:
    """The first answers to scan ids seen before (another user's scan id is refused, telling nothing)."""
    receipts = {
        r.client_id: r
        for r in session.scalars(select(ScanReceipt).where(ScanReceipt.client_id.in_({s.client_id for s in scans})))
    }
    events = {}
    ids = [r.event_id for r in receipts.values() if r.event_id]
    if ids:
        for row, sscc, code in session.execute(
            select(CustodyEvent, Box.sscc, Site.code)
            .join(Box, CustodyEvent.box_id == Box.id)
            .outerjoin(Site, CustodyEvent.site_id == Site.id)
            .where(CustodyEvent.id.in_(ids))
        ):
            events[row.id] = event_summary(row, sscc, code)
    return {
        client_id: Outcome(
            Verdict.DUPLICATE, r.reason, dict(r.details), list(r.warnings), client_id, events.get(r.event_id), r.verdict
        )
        if r.actor_id == actor.id
        else Outcome(Verdict.REFUSED, "forbidden", {"why": "this scan id belongs to another user"}, client_id=client_id)
        for client_id, r in receipts.items()
    }


def _keep(ctx: BatchContext, scan: ScanInput, outcome: Outcome, box: Box | None, now: datetime, batch: _Batch) -> None:
    """What a judged scan leaves: its receipt, its alerts (a refusal, a seal seen changed, damage or loss, a
    cloned label) and, for a fix at the actor's own site, where the label was seen."""
    box_id = box.id if box and not outcome.outsider else None  # read now: the writer expires the boxes it updates
    batch.outcomes.append(outcome)
    batch.receipts.append(receipt_row(scan.client_id, ctx.actor.id, box_id, outcome, now, scan.handover))
    site_id = ctx.by_code[scan.site.upper()].id if scan.site.upper() in ctx.by_code else None

    def alert(kind: str, details: dict) -> None:
        batch.alerts.append(
            alert_row(kind, now=now, details={"action": scan.action, "verdict": outcome.verdict, **details},
                      box_id=box_id, site_id=site_id, actor_id=ctx.actor.id, client_id=scan.client_id, code=scan.code)
        )  # fmt: skip

    if outcome.verdict == Verdict.REFUSED or "seal_mismatch" in outcome.warnings or scan.action in ("damage", "loss"):
        kind = outcome.reason or (
            "damaged" if scan.action == "damage" else "lost" if scan.action == "loss" else "seal_mismatch"
        )
        alert(kind, outcome.details)
    if _sighted(box, scan, outcome, now):
        # Accepted or refused, a scan by someone at their own site with a fix says where this label
        # is now: a copy of it elsewhere shows as a journey no vehicle could make.
        sighting = Sighting(float(scan.lat), float(scan.lon), scan.scanned_at, scan.site.upper())
        max_kmh, min_km = clone_limits()
        min_km += (scan.accuracy or 0) / 1000  # the fix's own uncertainty, in metres
        clone = clone_check(ctx.last_sighting(box), sighting, max_kmh, min_km)
        if clone and not ctx.clone_alert_open(box):
            alert("cloned_label", clone)
            ctx.clone_alerted.add(box.id)
        if outcome.verdict == Verdict.ACCEPTED:
            ctx.seen(box, sighting)


def _sighted(box: Box | None, scan: ScanInput, outcome: Outcome, now: datetime) -> bool:
    """Whether a scan tells where a box's label was seen: it has a GPS fix, the box is ours, the scan was
    made by someone allowed at a site of theirs (not refused as forbidden), with a believable clock."""
    return (
        box is not None
        and scan.lat is not None
        and scan.lon is not None
        and outcome.reason != "forbidden"
        and not outcome.outsider
        and scan.scanned_at - now <= CLOCK_SKEW_AHEAD
    )


def _judge(
    ctx: BatchContext, scan: ScanInput, parsed: str | CodeError, now: datetime, batch: _Batch
) -> tuple[Outcome, Box | None]:
    """Judge one scan against the locked state; an accepted one is appended to its box's chain."""
    actor, kind = ctx.actor, str(scan.action)
    site = ctx.by_code.get(scan.site.upper())
    try:  # who and where first: a person's refused scan may raise alerts only at their own site
        if kind not in ACTIONS:  # the API refuses it first; a caller inside the app may not invent one
            raise Forbidden("role")
        authorize_write(actor, roles=ACTIONS[kind].roles, sites=(site,))
    except Forbidden as refused:
        return _forbidden(scan, None, refused.why), None
    if isinstance(parsed, CodeError):
        return _refused(scan, "malformed_code", why=str(parsed), kind=parsed.kind), None
    box = ctx.boxes.get(parsed)
    if box is None:
        return _refused(scan, "unknown_code", sscc=parsed), None
    if not box_writable(actor, box):
        if kind != EventKind.RECEIVE:
            return _forbidden(scan, box, "box"), box
        # A box of another area has arrived at the actor's own site: refused as DESIGN.md section 5 says, and
        # the phone says where it belongs, in the words of its label and public page; nothing more of it.
        outcome = _refused(scan, "wrong_destination", sscc=box.sscc, **ctx.destination_details(box))
        outcome.outsider = True
        return outcome, box
    holder = _holder(box, ctx)
    ruling, warnings = _rule(Scan(ctx, box, scan, site, actor, holder), kind)
    if ruling.already:
        return Outcome(
            Verdict.DUPLICATE, "already_held", {"sscc": box.sscc, **ruling.details}, client_id=scan.client_id
        ), box
    if ruling.refusal == "forbidden":
        return _forbidden(scan, box, ruling.details.get("why", "role")), box
    if ruling.refusal:
        details = {"sscc": box.sscc, **ruling.details}
        if (
            ruling.refusal in ("wrong_destination", "wrong_dapil", "not_in_transit_to_you")
            and "destination" not in details
        ):
            details.update(ctx.destination_details(box))
        return _refused(scan, ruling.refusal, **details), box
    for name, value in ruling.changes.items():
        setattr(box, name, value)
    if "seal_mismatch" in warnings:  # witnessed: the seals seen are the record from now on
        box.seals = list(scan.seals or [])
    if kind == EventKind.RECEIVE and scan.handover and ctx.unexpected_at_handover(scan.handover, box, site, actor):
        warnings.append("not_on_handover")  # the BAST lists it as unexpected: the receiver is told so now
    outcome = Outcome(Verdict.ACCEPTED, None, {}, warnings + _time_warnings(scan.scanned_at, now), scan.client_id)
    _append(box, scan, kind, site, actor, holder, ruling.to, now, outcome, batch)
    return outcome, box


def _rule(scan: Scan, kind: str):
    """The checks every action shares (a voided box; a seal seen changed needs a witness), then its own rule;
    returns the ruling and the warnings of an accepted scan."""
    box, seen = scan.box, scan.input.seals
    if box.status == BoxStatus.VOIDED and kind != EventKind.CORRECT:  # a mistaken void may be corrected
        return refuse("voided"), []
    seal_change = kind not in SEALING and seen is not None and bool(box.seals) and sorted(seen) != sorted(box.seals)
    if seal_change and not (scan.input.witness or "").strip():
        return refuse("seal_mismatch", recorded=box.seals, seen=seen, why="a witness must sign a seal change"), []
    return ACTIONS[kind].rule(scan), ["seal_mismatch"] if seal_change else []


def _holder(box: Box, ctx: BatchContext) -> str | None:
    if box.holder_user_id is not None:
        return user_holder(ctx.users[box.holder_user_id].username)
    if box.holder_site_id is not None:
        return site_holder(ctx.sites[box.holder_site_id].code)
    return None


def _append(box, scan, kind, site, actor, holder, to, now, outcome: Outcome, batch: _Batch) -> None:
    """Hash the accepted scan onto the box's chain as its next event, for the writer."""
    values = {
        "box": box.sscc, "seq": box.chain_length + 1, "kind": kind, "from": holder, "to": to,
        "site": site.code, "actor": actor.username, "device": scan.device_id, "device_seq": scan.device_seq,
        "client_id": scan.client_id, "scanned_at": scan.scanned_at, "recorded_at": now, "lat": scan.lat,
        "lon": scan.lon, "accuracy": scan.accuracy, "seals": scan.seals, "condition": scan.condition,
        "note": scan.note, "witness": scan.witness, "handover": scan.handover, "corrects": scan.corrects,
    }  # fmt: skip
    values["prev_hash"] = box.chain_head or GENESIS
    values["hash"] = chain_hash(values["prev_hash"], canonical_event(ledger_event.hashed_view(values)))
    box.chain_length, box.chain_head, box.last_event_at = values["seq"], values["hash"], now
    batch.events.append(ledger_event.stored_row(values, {"sscc": box.id, "site": site.id, "actor": actor.id}))
    outcome.details = {"sscc": box.sscc, "status": box.status}
    outcome.event = event_summary(values | {"id": None}, box.sscc, site.code)
    batch.accepted.append((outcome, box))


def _time_warnings(scanned_at: datetime, now: datetime) -> list[str]:
    warnings = []
    if scanned_at - now > CLOCK_SKEW_AHEAD:
        warnings.append("clock_skew")
    if now - scanned_at > LATE_SYNC_AFTER:
        warnings.append("late_sync")
    return warnings


def event_summary(event: CustodyEvent | dict, sscc: str, site_code: str | None) -> dict:
    """The event as a scan's answer and the API show it."""
    if isinstance(event, dict):
        get = event.get
    else:  # a stored event: its columns by field name
        get = lambda name: getattr(event, ledger_event.BY_NAME[name].column if name in ledger_event.BY_NAME else name)  # noqa: E731
    return {
        "id": get("id"),
        "box": sscc,
        "seq": get("seq"),
        "kind": get("kind"),
        "site": site_code,
        "from": get("from"),
        "to": get("to"),
        "hash": get("hash"),
        "recorded_at": ledger_event.utc_text(get("recorded_at")),
    }


def _refused(scan: ScanInput, reason: str, **details) -> Outcome:
    return Outcome(Verdict.REFUSED, reason, details, client_id=scan.client_id)


def _forbidden(scan: ScanInput, box: Box | None, why: str) -> Outcome:
    """A write the actor may not make (auth/access.py): it names only what the actor sent."""
    details = {"sscc": box.sscc, "why": why} if box is not None else {"why": why}
    return _refused(scan, "forbidden", **details)
