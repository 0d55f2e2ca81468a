"""Alerts a supervisor works through: acknowledge ("seen, on it"), then resolve with what was done.
Each step is kept (`alert_action`) with its author, time and note; nothing is ever deleted."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from webapp.auth.access import Forbidden, authorize_write, box_clause, site_clause
from webapp.auth.models import Role, User
from webapp.boxes.models import Box
from webapp.core.exceptions import CodedError
from webapp.core.names import alert_state_label
from webapp.custody.models import Alert, AlertAction, AlertState
from webapp.geo.models import Site

ACTORS = (Role.SUPERVISOR, Role.ADMIN)
NEXT = {
    "acknowledge": {AlertState.OPEN: AlertState.ACKNOWLEDGED},
    "resolve": {
        AlertState.OPEN: AlertState.RESOLVED,
        AlertState.ACKNOWLEDGED: AlertState.RESOLVED,
    },
}


class AlertError(CodedError):
    """An alert action that cannot be done; `code` says why."""


def alerts_in_scope(user: User):
    """SQL condition: the alert's site or box lies in the user's scope."""
    return or_(
        Alert.site_id.in_(select(Site.id).where(site_clause(user))),
        Alert.box_id.in_(select(Box.id).where(box_clause(user))),
    )


def alerts_in_region(code: str):
    """SQL condition: the alert's site, or its box's destination, lies in the region ("" is the country)."""
    if not code or code.upper() == "ID":
        return true()
    in_region = (Site.region_code == code) | Site.region_code.startswith(code + ".")
    return or_(
        Alert.site_id.in_(select(Site.id).where(in_region)),
        Alert.box_id.in_(select(Box.id).join(Site, Site.id == Box.destination_id).where(in_region)),
    )


STATE_FILTERS = (*(s.value for s in AlertState), "unresolved")  # unresolved: open or acknowledged


def parse_before(text: str | None) -> int | None:
    """?before=ID: an alert id (a positive 64-bit integer), None when absent; ValueError otherwise."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        raise ValueError("before must be an alert id")
    return int(text)


def alert_query(user: User, *, state: str = "", kind: str = "", region: str = "", before: int | None = None):
    """The alerts a user may see, newest first, filtered as the alerts page and the API both offer:
    by state (or "unresolved"), kind, region and, for the next page, ids below `before`."""
    query = select(Alert).where(alerts_in_scope(user))
    if region:
        query = query.where(alerts_in_region(region))
    if state == "unresolved":
        query = query.where(Alert.state != AlertState.RESOLVED)
    elif state:
        query = query.where(Alert.state == state)
    if kind:
        query = query.where(Alert.kind == kind)
    if before is not None:
        query = query.where(Alert.id < before)
    return query.order_by(Alert.id.desc())


def open_by_kind(session: Session, user: User, code: str) -> dict[str, int]:
    """Alerts not yet resolved in the region (and the user's scope), counted by kind."""
    return dict(
        session.execute(
            select(Alert.kind, func.count())
            .where(alerts_in_scope(user), alerts_in_region(code), Alert.state != AlertState.RESOLVED)
            .group_by(Alert.kind)
            .order_by(func.count().desc(), Alert.kind)
        ).all()
    )


def act(session: Session, alert: Alert, *, actor: User, action: str, note: str) -> AlertAction:
    """Acknowledge or resolve an alert (a resolution needs a note saying what was done)."""
    try:  # supervisors, and only on alerts of their own area (its site or its box)
        authorize_write(actor, roles=ACTORS, alerts=(alert,))
    except Forbidden:
        raise AlertError("forbidden", _("Alerts are acknowledged and resolved by supervisors of their area.")) from None
    note = (note or "").strip()
    if action not in NEXT:
        raise AlertError("invalid_request", _("Action must be acknowledge or resolve."))
    if action == "resolve" and len(note) < 3:
        raise AlertError("invalid_request", _("Say what was done to resolve it."))
    target = NEXT[action].get(AlertState(alert.state))
    if target is None:
        raise AlertError("conflict", _("This alert is already %(state)s.", state=alert_state_label(alert.state)))
    now = datetime.now(UTC)
    step = AlertAction(alert_id=alert.id, action=action, note=note[:1000], actor_id=actor.id, at=now)
    session.add(step)
    alert.state = target
    if target == AlertState.RESOLVED:
        alert.resolved_at, alert.resolved_by_id, alert.resolution_note = now, actor.id, note[:1000]
    session.flush()
    return step


def history(session: Session, alert: Alert) -> list[AlertAction]:
    return list(session.scalars(select(AlertAction).where(AlertAction.alert_id == alert.id).order_by(AlertAction.id)))
