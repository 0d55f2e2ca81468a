"""The one writer of the ledger's tables: custody events, scan receipts and alerts.

Nothing else inserts into them (tests/custody/test_structure.py reads the package tree to keep it so).
A batch of scans is written as one statement on PostgreSQL (core/bulk.py): the boxes' new state, the
events (ids back), the receipts and the alerts, each receipt and alert linked to its scan's event. Alerts
that no scan raises (packing, the periodic sweep) come through `write_alerts`. The writer flushes; the
request's transaction (core/database.py: `in_transaction`) commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from webapp.boxes.models import Box
from webapp.core.bulk import Insert, Link, Update, write
from webapp.custody.models import Alert, AlertState, CustodyEvent, ScanReceipt, Verdict
from webapp.custody.outcome import Outcome

log = logging.getLogger(__name__)

# The columns of a box that a custody event changes.
BOX_STATE = (
    "status",
    "phase",
    "seals",
    "holder_site_id",
    "holder_user_id",
    "current_site_id",
    "transit_site_id",
    "transit_user_id",
    "chain_length",
    "chain_head",
    "last_event_at",
)


def alert_row(
    kind: str,
    *,
    now: datetime,
    details: dict,
    box_id: int | None = None,
    site_id: int | None = None,
    actor_id: int | None = None,
    client_id: str | None = None,
    code: str | None = None,
) -> dict:
    """One alert as the writer inserts it; `code` is what was scanned, if anything (kept to 200 characters;
    PostgreSQL text holds no NUL)."""
    return {
        "kind": kind,
        "state": AlertState.OPEN.value,
        "box_id": box_id,
        "site_id": site_id,
        "actor_id": actor_id,
        "event_id": None,
        "client_id": client_id,
        "code": None if code is None else code[:200].replace("\x00", "\ufffd"),
        "details": details,
        "created_at": now,
    }


def receipt_row(
    client_id: str, actor_id: int, box_id: int | None, outcome: Outcome, now: datetime, handover: str | None = None
) -> dict:
    """The first answer to a scan id, kept so that a replay gets it back (with the handover it was made under)."""
    return {
        "client_id": client_id,
        "actor_id": actor_id,
        "box_id": box_id,
        "event_id": None,
        "verdict": outcome.verdict,
        "reason": outcome.reason,
        "warnings": outcome.warnings,
        "details": outcome.details,
        "recorded_at": now,
        "handover": handover,
    }


def write_scans(
    session: Session, *, boxes: list[Box], events: list[dict], receipts: list[dict], alerts: list[dict]
) -> dict[str, int]:
    """Write a batch: the boxes' new state, its events, receipts and alerts (receipts and alerts get the
    event of the scan with their client id); returns the new event ids by client id."""
    box_rows = [{"id": box.id, **{name: getattr(box, name) for name in BOX_STATE}} for box in boxes]
    for box in boxes:  # the rows will hold this state: the ORM must not write it again
        session.expire(box)
    event_id = Link("event_id", "events", match="client_id", value="id")
    with session.no_autoflush:
        returned = write(
            session,
            Update("boxes", Box.__table__, "id", box_rows),
            Insert("events", CustodyEvent.__table__, events, returning=("client_id", "id")),
            Insert("receipts", ScanReceipt.__table__, receipts, links=(event_id,)),
            Insert("alerts", Alert.__table__, alerts, links=(event_id,)),
        )
    return dict(returned.get("events", []))


def write_alerts(session: Session, alerts: list[dict]) -> None:
    """Alerts no scan raised (packing refusals, the sweep's), as `alert_row` made them."""
    if alerts:
        write(session, Insert("alerts", Alert.__table__, alerts))


def log_verdicts(actor: str, outcomes: list[Outcome]) -> None:
    verdicts: dict[str, int] = {}
    for outcome in outcomes:
        key = outcome.verdict if outcome.verdict != Verdict.REFUSED else f"refused:{outcome.reason}"
        verdicts[key] = verdicts.get(key, 0) + 1
    log.info("scans by %s: %s", actor, verdicts)
