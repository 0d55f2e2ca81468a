"""Corrections of mistaken scans: asked for by the person who made the scan, with a reason; approved (or
rejected, with a note) by a supervisor whose area covers the box, never by the one who asked.

Nothing is deleted. An approval records a new ledger event through the scan pipeline (kind `correct`,
custody/actions.py) whose hashed field `corrects` names the hash of the corrected event, so the correction
sits on the box's chain like any event and the EPCIS export declares the corrected event an error
(exports/epcis.py).

The box's state follows: a correction puts the box back in its state before the corrected event. Only the
box's latest standing event may be corrected (a later one must be corrected first), so that state is the
replay of the events before it (`replay`): each kind's effect on the box, as the rules in actions.py make
it, read back from the ledger. A corrected event and its correction cancel out of the replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.auth.access import box_clause, box_in_scope, site_in_scope
from webapp.auth.models import Role, User
from webapp.boxes.models import Box, BoxKind, BoxPhase, BoxStatus
from webapp.core.exceptions import CodedError
from webapp.custody.event import utc_text
from webapp.custody.holders import SITE, USER, site_holder, user_holder
from webapp.custody.models import (
    Alert,
    AlertState,
    CorrectionRequest,
    CorrectionState,
    CustodyEvent,
    ScanReceipt,
    Verdict,
)
from webapp.geo.models import Site

REASON_MIN, REASON_MAX = 5, 1000
DEVICE = "correction"  # the device id of correction events: no phone scans them
UNCORRECTABLE = ("pack", "correct")  # a packet's place is the packing table's; a correction is not corrected
SEALING = ("seal", "reseal")
STATUS_OF = {
    "pack": BoxStatus.PACKED,
    "damage": BoxStatus.DAMAGED,
    "loss": BoxStatus.LOST,
    "void": BoxStatus.VOIDED,
    "open": BoxStatus.OPENED,
}
STATE = ("status", "phase", "seals", "holder_site_id", "holder_user_id", "current_site_id", "transit_site_id",
         "transit_user_id")  # fmt: skip


def _refusal(code: str, message: str) -> CodedError:
    return CodedError(code, message)


def not_found() -> CodedError:
    """The one answer for a scan or request that does not exist or lies outside the person's area."""
    return _refusal("not_found", _("No such scan or request in your area."))


def not_latest() -> CodedError:
    return _refusal("conflict", _("Only the box's latest scan can be corrected: correct the later scans first."))


# --- the box's state, replayed from its chain ------------------------------------------------------


def standing(events: Sequence[CustodyEvent]) -> list[CustodyEvent]:
    """The box's events in seq order without the corrected ones and their corrections."""
    stack: list[CustodyEvent] = []
    for event in events:
        if event.kind == "correct":
            if stack and stack[-1].hash == event.corrects:
                stack.pop()
        else:
            stack.append(event)
    return stack


def _apply(state: dict, event: CustodyEvent, box_kind: str, ids: dict[str, int]) -> None:
    """One event's effect on the box, as its action's rule made it (custody/actions.py)."""
    kind, to = event.kind, event.to_holder or ""
    if kind == "commission":
        if state["status"] == BoxStatus.PLANNED:
            state["status"] = BoxStatus.COMMISSIONED
        state.update(holder_site_id=event.site_id, current_site_id=event.site_id)
    elif kind in SEALING:
        state.update(seals=list(event.seals or []), status=BoxStatus.SEALED)
    elif kind == "dispatch":
        state["status"] = BoxStatus.IN_TRANSIT
        courier = to.startswith(USER)
        state.update(transit_user_id=ids.get(to) if courier else None, transit_site_id=None if courier else ids.get(to))
    elif kind == "receive":
        state.update(transit_site_id=None, transit_user_id=None, current_site_id=event.site_id)
        if to.startswith(USER):  # a courier in person
            state.update(holder_user_id=event.actor_id, holder_site_id=None)
        else:
            state.update(holder_site_id=event.site_id, holder_user_id=None, status=BoxStatus.HELD)
    elif kind in STATUS_OF:
        state["status"] = STATUS_OF[kind]
        if kind == "open" and box_kind != BoxKind.VENDOR_CARTON:
            state["phase"] = BoxPhase.BACK
    seen, recorded = list(event.seals or []), state["seals"]
    if kind not in SEALING and event.witness and seen and recorded and sorted(seen) != sorted(recorded):
        state["seals"] = seen  # a seal change signed by a witness: the seals seen became the record


def replay(session: Session, box: Box, events: Sequence[CustodyEvent]) -> dict:
    """The box's custody state after `events` (standing ones, in seq order), from a planned box."""
    state = dict.fromkeys(STATE)
    state.update(status=BoxStatus.PLANNED, phase=BoxPhase.OUT, seals=[])
    holders = {e.to_holder for e in events if e.kind == "dispatch" and e.to_holder}
    codes = {h[len(SITE) :] for h in holders if h.startswith(SITE)}
    names = {h[len(USER) :] for h in holders if h.startswith(USER)}
    ids = {site_holder(code): i for i, code in session.execute(select(Site.id, Site.code).where(Site.code.in_(codes)))}
    ids |= {
        user_holder(n): i for i, n in session.execute(select(User.id, User.username).where(User.username.in_(names)))
    }
    for event in events:
        _apply(state, event, box.kind, ids)
    return state


def holder_of(session: Session, state: dict) -> str | None:
    """The holder a state names, as the ledger spells it."""
    if state["holder_user_id"] is not None:
        return user_holder(session.get(User, state["holder_user_id"]).username)
    if state["holder_site_id"] is not None:
        return site_holder(session.get(Site, state["holder_site_id"]).code)
    return None


def box_events(session: Session, box: Box) -> list[CustodyEvent]:
    return list(
        session.scalars(select(CustodyEvent).where(CustodyEvent.box_id == box.id).order_by(CustodyEvent.box_seq))
    )


def restoring(session: Session, box: Box, scan, actor: User) -> tuple[str | None, dict, str | None]:
    """The `correct` rule's reading: (refusal, the box's state before the corrected event, its holder then).
    A correction is accepted only as the scan an approval makes (its scan id), for that request's event,
    while that event is still the box's latest standing one."""
    request = session.scalar(
        select(CorrectionRequest).where(
            CorrectionRequest.correction_client_id == scan.client_id,
            CorrectionRequest.state == CorrectionState.PENDING,
        )
    )
    if request is None or request.box_id != box.id or request.requested_by_id == actor.id:
        return "forbidden", {}, None
    stack = standing(box_events(session, box))
    if not stack or stack[-1].id != request.event_id or stack[-1].hash != scan.corrects:
        return "not_latest", {}, None
    state = replay(session, box, stack[:-1])
    return None, state, holder_of(session, state)


# --- asking, listing, deciding ---------------------------------------------------------------------


def correctable(session: Session, box: Box, events: Sequence[CustodyEvent] | None = None) -> CustodyEvent | None:
    """The event of the box a correction may be asked for now: its latest standing one (not a packing)."""
    stack = standing(events if events is not None else box_events(session, box))
    return stack[-1] if stack and stack[-1].kind not in UNCORRECTABLE else None


def _pending_for(session: Session, event_id: int) -> CorrectionRequest | None:
    return session.scalar(
        select(CorrectionRequest).where(
            CorrectionRequest.event_id == event_id, CorrectionRequest.state == CorrectionState.PENDING
        )
    )


def clean_reason(text: str | None) -> str:
    """The reason as kept; a clear refusal when it is missing, too short or too long."""
    reason = " ".join((text or "").split())
    if len(reason) < REASON_MIN:
        raise _refusal("invalid_request", _("Write why the scan must be corrected (at least 5 characters)."))
    if len(reason) > REASON_MAX:
        raise _refusal("invalid_request", _("The reason is too long (at most 1000 characters)."))
    return reason


def request_correction(session: Session, *, actor: User, client_id: str, reason: str | None, now=None):
    """Ask to correct one's own accepted scan (by its scan id); returns the pending request."""
    receipt = session.get(ScanReceipt, client_id)
    event = session.get(CustodyEvent, receipt.event_id) if receipt and receipt.event_id else None
    box = session.get(Box, receipt.box_id) if receipt and receipt.box_id else event.box if event else None
    mine = receipt is not None and receipt.actor_id == actor.id
    if receipt is None or (box is not None and not box_in_scope(actor, box)) or (box is None and not mine):
        raise not_found()  # nothing about a box outside the person's area, or another's refused scan
    if not mine:
        raise _refusal("forbidden", _("Only the person who made a scan may ask to correct it."))
    if event is None or receipt.verdict != Verdict.ACCEPTED:
        raise _refusal("invalid_request", _("This scan was not accepted: there is nothing in the ledger to correct."))
    if event.kind in UNCORRECTABLE:
        raise _refusal("invalid_request", _("A packing or a correction cannot be corrected here."))
    reason = clean_reason(reason)
    if correctable(session, event.box) is not event:
        raise not_latest()
    if _pending_for(session, event.id) is not None:
        raise _refusal("conflict", _("A correction of this scan is already waiting for a supervisor."))
    request = CorrectionRequest(
        event_id=event.id, box_id=event.box_id, reason=reason, requested_by_id=actor.id,
        requested_at=now or datetime.now(UTC), state=CorrectionState.PENDING,
    )  # fmt: skip
    session.add(request)
    session.flush()
    return request


def may_decide(user: User) -> bool:
    return user.role == Role.SUPERVISOR and user.active


def pending_query(user: User):
    """The pending requests a supervisor may decide: their box in the supervisor's area, oldest first."""
    return (
        select(CorrectionRequest)
        .join(Box, Box.id == CorrectionRequest.box_id)
        .where(CorrectionRequest.state == CorrectionState.PENDING, box_clause(user))
        .order_by(CorrectionRequest.id)
    )


def _recording_site(actor: User, event: CustodyEvent, box: Box) -> Site | None:
    """Where the correction is recorded: the corrected scan's site, else the box's place, in the actor's area."""
    for site in (event.site, box.current_site, box.holder_site, box.destination):
        if site is not None and site_in_scope(actor, site):
            return site
    return None


def decide(session: Session, *, actor: User, request_id: int, approve: bool, note: str | None, now=None):
    """Approve (the ledger gets the correction) or reject (a note is required) a pending request."""
    request = session.get(CorrectionRequest, request_id)
    if request is None or not may_decide(actor) or not box_in_scope(actor, request.box):
        raise not_found()
    if request.requested_by_id == actor.id:
        raise _refusal("forbidden", _("You cannot decide on your own request: another supervisor must."))
    if request.state != CorrectionState.PENDING:
        raise _refusal("conflict", _("This request was already decided."))
    note = " ".join((note or "").split())[:REASON_MAX] or None
    if not approve and not note:
        raise _refusal("invalid_request", _("Write why the request is rejected."))
    now = now or datetime.now(UTC)
    if approve:
        request.correction_event_id = _record(session, actor, request, now)
        _resolve_alerts_of(session, actor, request)
    request.state = CorrectionState.APPROVED if approve else CorrectionState.REJECTED
    request.decided_by_id, request.decided_at, request.decision_note = actor.id, now, note
    session.flush()
    return request


def _resolve_alerts_of(session: Session, actor: User, request: CorrectionRequest) -> None:
    """The alerts the corrected scan raised (a damage report on the wrong box, say) are resolved with the
    correction as what was done: nothing is left open about a scan that no longer stands."""
    from webapp.alerts.services import AlertError, act  # alerts read the custody models; import when used

    with force_locale("id"):  # kept in the alert's history, in the language of the other notes
        note = _("Corrected: %(reason)s", reason=request.reason)
    open_alerts = session.scalars(
        select(Alert).where(Alert.event_id == request.event_id, Alert.state != AlertState.RESOLVED)
    ).all()
    for alert in open_alerts:
        try:
            act(session, alert, actor=actor, action="resolve", note=note)
        except AlertError:  # not the approver's to resolve: it stays for its own supervisors
            continue


def _record(session: Session, actor: User, request: CorrectionRequest, now: datetime) -> int:
    """The correction event, through the scan pipeline like any event; its id."""
    from webapp.custody.pipeline import ScanInput, record_scans  # the pipeline's rule table reads this module

    event, box = request.event, request.box
    site = _recording_site(actor, event, box)
    if site is None:
        raise not_found()
    request.correction_client_id = str(uuid.uuid4())
    session.flush()
    scan = ScanInput(
        client_id=request.correction_client_id, code=box.sscc, action="correct", site=site.code, scanned_at=now,
        device_id=DEVICE, device_seq=request.id, note=request.reason, corrects=event.hash,
    )  # fmt: skip
    outcome = record_scans(session, actor=actor, scans=[scan], now=now)[0]
    if outcome.verdict != Verdict.ACCEPTED:
        raise not_latest() if outcome.reason == "not_latest" else not_found()
    return outcome.event["id"]


def request_json(request: CorrectionRequest) -> dict:
    """A request as the API gives it."""
    event = request.event
    return {
        "id": request.id,
        "state": request.state,
        "box": request.box.sscc,
        "event": {"id": event.id, "seq": event.box_seq, "kind": event.kind, "hash": event.hash},
        "client_id": event.client_id,  # the scan's id: the phone finds its own scan by it
        "reason": request.reason,
        "requested_by": request.requested_by.username,
        "requested_at": utc_text(request.requested_at),
        "decided_by": request.decided_by.username if request.decided_by else None,
        "decided_at": utc_text(request.decided_at) if request.decided_at else None,
        "decision_note": request.decision_note,
        "correction_event_id": request.correction_event_id,
    }
