"""What a person may do to a box, as a table: one declaration and one rule per action.

A rule reads one scan's loaded context (`Scan`) and returns a `Ruling`: refused with a reason, or accepted
with the box's new state and its new holder. Rules change nothing themselves; the scan pipeline
(custody/pipeline.py) applies an accepted ruling and the writer (custody/writer.py) records it. Checks that
hold for every action (who and where, the box's area, a voided box, a seal seen changed) are the pipeline's.

Adding an action: a member of EventKind, a rule function and a line in ACTIONS (with the roles allowed, its
EPCIS mapping and its name on screen), all in this module; tests/custody/test_actions.py shows one added.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from webapp.auth.access import box_in_scope, may_hold
from webapp.auth.models import Role, User
from webapp.boxes.models import Box, BoxKind, BoxPhase, BoxStatus, Packet
from webapp.custody.holders import receiver_username, site_holder, user_holder
from webapp.geo.models import WAREHOUSES, Site, SiteKind

if TYPE_CHECKING:
    from webapp.custody.context import BatchContext
    from webapp.custody.pipeline import ScanInput


class EventKind(enum.StrEnum):
    """What happened to a box: the `kind` of a ledger event."""

    COMMISSION = "commission"
    PACK = "pack"
    SEAL = "seal"
    DISPATCH = "dispatch"
    RECEIVE = "receive"
    INSPECT = "inspect"
    OPEN = "open"
    RESEAL = "reseal"
    DAMAGE = "damage"
    LOSS = "loss"
    VOID = "void"
    CORRECT = "correct"


@dataclass
class Scan:
    """One scan's loaded context: everything a rule reads."""

    ctx: BatchContext  # the batch's loaded state: routes, couriers, packets
    box: Box
    input: ScanInput
    site: Site
    actor: User
    holder: str | None  # who holds the box now, as the ledger spells it

    def holds(self) -> bool:
        """Whether the actor holds the box: a courier in person, anyone else through their site."""
        box = self.box
        if box.holder_user_id is not None:
            return box.holder_user_id == self.actor.id
        return box.holder_site_id == self.site.id and self.actor.role != Role.COURIER


@dataclass
class Ruling:
    """A rule's answer: `refusal` with `details`, or the box's `changes` and its holder afterwards (`to`), or
    `already`: the box is already where the scan would put it, so there is nothing to record."""

    refusal: str | None = None
    details: dict = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    to: str | None = None
    already: bool = False  # nothing to record: the box is already where this scan would put it


def refuse(reason: str, **details) -> Ruling:
    return Ruling(refusal=reason, details=details)


def accept(scan: Scan, *, to: str | None = None, **changes) -> Ruling:
    """Accepted: the box takes `changes`; its holder becomes `to` (default: unchanged)."""
    return Ruling(changes=changes, to=scan.holder if to is None else to)


def not_held(scan: Scan) -> Ruling:
    return refuse("not_held_by_you", holder=scan.holder)


# --- the rules, one per action ---------------------------------------------------------------------

LABEL_SITES = {SiteKind.PRINTER, SiteKind.WAREHOUSE_PROV, SiteKind.WAREHOUSE_KAB}


def commission(scan: Scan) -> Ruling:
    """A label printed: the box comes into being at a printer or warehouse (a reprint where it is held)."""
    box, site = scan.box, scan.site
    if SiteKind(site.kind) not in LABEL_SITES:
        return refuse("forbidden", why="site")
    if box.status != BoxStatus.PLANNED and box.holder_site_id != site.id:
        return not_held(scan)
    status = BoxStatus.COMMISSIONED if box.status == BoxStatus.PLANNED else box.status
    return accept(scan, to=site_holder(site.code), status=status, holder_site_id=site.id, current_site_id=site.id)


def at_the_table(box: Box, site: Site) -> bool:
    """Whether the box is on a table of the site: held there, labelled, neither sent on nor lost."""
    return box.holder_site_id == site.id and box.status not in (
        BoxStatus.PLANNED,
        BoxStatus.IN_TRANSIT,
        BoxStatus.LOST,
    )


def _at_the_table(scan: Scan) -> bool:
    return at_the_table(scan.box, scan.site)


def pack(scan: Scan) -> Ruling:
    """A packet put into the box at the warehouse holding it; never into a box closed by its seals."""
    if not _at_the_table(scan):
        return not_held(scan)
    if sealed_shut(scan.box):
        return refuse("box_sealed", seals=list(scan.box.seals), why="a sealed box is opened, with a reason, first")
    return accept(scan, status=BoxStatus.PACKED)


def seal(scan: Scan) -> Ruling:
    """Sealed with every planned packet in it, or with the shortage's reason noted (in the ledger)."""
    if not _at_the_table(scan):
        return not_held(scan)
    missing = scan.ctx.missing_packets(scan.box)
    if missing and not (scan.input.note or "").strip():
        return refuse("incomplete", missing=missing[:50], why="every packet must be in the box, or a shortage noted")
    return accept(scan, seals=list(scan.input.seals or []), status=BoxStatus.SEALED)


def reseal(scan: Scan) -> Ruling:
    """New seals on a box opened or checked where it is held."""
    if not _at_the_table(scan):
        return not_held(scan)
    return accept(scan, seals=list(scan.input.seals or []), status=BoxStatus.SEALED)


def unsealed(box: Box) -> bool:
    """A ballot box that may not travel: it carries no seals, or it was opened (for the count) and not
    resealed. A printer's carton travels closed by its printer, without Jejak's seals."""
    return box.kind != BoxKind.VENDOR_CARTON and (not box.seals or box.status == BoxStatus.OPENED)


def sealed_shut(box: Box) -> bool:
    """A ballot box closed by its seals (sealed, or resealed after the count): nothing may go into it until it
    is opened, with the reason recorded."""
    return box.kind != BoxKind.VENDOR_CARTON and not unsealed(box)


def dispatch(scan: Scan) -> Ruling:
    """Handed over to the next site of the box's route, or to a courier whose area covers it; a ballot box
    only once sealed (at the packing table, or resealed after the count)."""
    box = scan.box
    if not scan.holds() or box.status in (BoxStatus.PLANNED, BoxStatus.LOST):
        return not_held(scan)
    if unsealed(box):
        return refuse("not_sealed", status=box.status, why="a ballot box is sealed before it is handed over")
    receiver = (scan.input.to or "").strip()
    username = receiver_username(receiver)
    if username is not None:
        courier = scan.ctx.couriers.get(username)
        if courier is None or courier.role != Role.COURIER or not courier.active:
            return refuse("wrong_destination", receiver=receiver, why="no active courier with that username")
        if not may_hold(courier, scan.ctx.destination(box)):  # a courier carries only boxes of their own area
            return refuse("forbidden", why="receiver")
        return accept(
            scan,
            to=user_holder(courier.username),
            status=BoxStatus.IN_TRANSIT,
            transit_user_id=courier.id,
            transit_site_id=None,
        )
    target = scan.ctx.by_code.get(receiver.upper())
    if target is None or target.id not in {s.id for s in scan.ctx.route(box)}:
        return refuse("wrong_destination", receiver=receiver, **scan.ctx.destination_details(box))
    return accept(
        scan, to=site_holder(target.code), status=BoxStatus.IN_TRANSIT, transit_site_id=target.id, transit_user_id=None
    )


def receive(scan: Scan) -> Ruling:
    """Taken over from the sender: by a courier in person, or at a site of the box's route."""
    box, site, actor = scan.box, scan.site, scan.actor
    if box.holder_user_id == actor.id or (
        actor.role != Role.COURIER and box.holder_site_id == site.id and box.status != BoxStatus.IN_TRANSIT
    ):  # a second look at a box one already holds: said calmly, nothing recorded, nothing raised
        return Ruling(already=True, details={"holder": scan.holder})
    arrived = {"transit_site_id": None, "transit_user_id": None, "current_site_id": site.id}
    if actor.role == Role.COURIER:
        if box.status != BoxStatus.IN_TRANSIT or box.transit_user_id != actor.id:
            return refuse("not_in_transit_to_you", holder=scan.holder)
        return accept(scan, to=user_holder(actor.username), holder_user_id=actor.id, holder_site_id=None, **arrived)
    if site.id not in {s.id for s in scan.ctx.route(box)}:
        return refuse("wrong_destination", **scan.ctx.destination_details(box))
    destination = scan.ctx.destination(box)
    if box.contest and box.dapil_id is not None and destination.kind == SiteKind.TPS:
        expected = destination.dapil_for(box.contest)
        if expected is not None and expected.id != box.dapil_id:
            return refuse(
                "wrong_dapil", box_dapil=box.dapil.name, tps_dapil=expected.name, **scan.ctx.destination_details(box)
            )
    if box.status != BoxStatus.IN_TRANSIT or box.transit_site_id != site.id:
        return refuse("not_in_transit_to_you", holder=scan.holder)
    return accept(
        scan, to=site_holder(site.code), holder_site_id=site.id, holder_user_id=None, status=BoxStatus.HELD, **arrived
    )


def inspect(scan: Scan) -> Ruling:
    """Looked at (seals checked) where the box is, by whoever is there or holds it."""
    if scan.box.current_site_id != scan.site.id and not scan.holds():
        return not_held(scan)
    return accept(scan)


def open_carton(scan: Scan) -> Ruling:
    """A printer's carton opened at the warehouse's packing table, where its contents are counted into
    packets (each packet then names the carton: boxes/packing.py)."""
    box, site = scan.box, scan.site
    if scan.actor.role != Role.WAREHOUSE or SiteKind(site.kind) not in WAREHOUSES:
        return refuse("forbidden", why="role")
    if box.holder_site_id != site.id or box.status != BoxStatus.HELD:
        return not_held(scan)
    return accept(scan, status=BoxStatus.OPENED)


def open_box(scan: Scan) -> Ruling:
    """A ballot box opened for the count by the KPPS of its own TPS: from then on it is on its way back."""
    box, site = scan.box, scan.site
    if box.kind == BoxKind.VENDOR_CARTON:
        return open_carton(scan)
    if scan.actor.role != Role.OFFICER:
        return refuse("forbidden", why="role")
    if site.id != box.destination_id or site.kind != SiteKind.TPS:
        return refuse("wrong_destination", **scan.ctx.destination_details(box))
    if box.holder_site_id != site.id or box.status != BoxStatus.HELD:
        return not_held(scan)
    return accept(scan, status=BoxStatus.OPENED, phase=BoxPhase.BACK)


def damage(scan: Scan) -> Ruling:
    """Reported damaged by whoever holds it (or a supervisor)."""
    if not scan.holds() and scan.actor.role != Role.SUPERVISOR:
        return not_held(scan)
    return accept(scan, status=BoxStatus.DAMAGED)


def loss(scan: Scan) -> Ruling:
    """Reported lost by whoever held it (or a supervisor)."""
    if not scan.holds() and scan.actor.role != Role.SUPERVISOR:
        return not_held(scan)
    return accept(scan, status=BoxStatus.LOST)


def void(scan: Scan) -> Ruling:
    """A label withdrawn by a supervisor: nothing more may happen to the box."""
    return accept(scan, status=BoxStatus.VOIDED)


def correct(scan: Scan) -> Ruling:
    """A mistaken scan corrected, on a request by its author that a supervisor of the box's area approved:
    the box goes back to its state before the corrected event (custody/corrections.py)."""
    from webapp.custody.corrections import restoring  # it records through the pipeline, which reads this table

    refusal, changes, holder = restoring(scan.ctx.session, scan.box, scan.input, scan.actor)
    if refusal:
        return refuse(refusal, why="correction")
    return Ruling(changes=changes, to=holder)


def packet_into_box(actor: User, packet: Packet, box: Box) -> Ruling:
    """The pre-check of `pack` at the packing table (boxes/packing.py): the packet belongs in this box. The
    `pack` rule above then checks the box itself, as for any scan."""
    if packet.box_id is not None:
        # which box holds it, only when that box is the actor's to see
        return refuse("already_packed", **({"in_box": packet.box.sscc} if box_in_scope(actor, packet.box) else {}))
    if packet.contest != box.contest or packet.dapil_id not in (None, box.dapil_id):  # forms carry no dapil
        return refuse(
            "wrong_dapil",
            packet_contest=packet.contest,
            box_contest=box.contest,
            packet_dapil=packet.dapil.name if packet.dapil else None,
            box_dapil=box.dapil.name if box.dapil else None,
        )
    if packet.tps_id != box.destination_id:
        return refuse("wrong_tps", packet_tps=packet.tps.code, packet_tps_name=packet.tps.name)
    return Ruling()


# --- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One action: who may do it, its rule, its CBV 2.0 business step and disposition (EPCIS export), its
    EPCIS action (ADD, OBSERVE, DELETE) and its name on screen. `seals`: the scan must carry seal numbers
    (and sets them); `receiver`: the scan must name whom the box goes to."""

    kind: EventKind
    roles: frozenset[str]
    rule: Callable[[Scan], Ruling]
    epcis: tuple[str, str]
    label: Any
    epcis_action: str = "OBSERVE"
    seals: bool = False
    receiver: bool = False


WAREHOUSE, COURIER, OFFICER, SUPERVISOR, ADMIN = Role.WAREHOUSE, Role.COURIER, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN
HANDLERS = frozenset({WAREHOUSE, COURIER, OFFICER})  # the people who carry and keep boxes
ACTIONS: dict[EventKind, Action] = {
    action.kind: action
    for action in (
        Action(EventKind.COMMISSION, frozenset({WAREHOUSE, ADMIN}), commission, ("commissioning", "active"),
               _l("Label printed"), epcis_action="ADD"),
        # a packet put in a box that is not complete yet: packing in progress, closed only by the seal
        Action(EventKind.PACK, frozenset({WAREHOUSE}), pack, ("packing", "in_progress"), _l("Packed"),
               epcis_action="ADD"),
        Action(EventKind.SEAL, frozenset({WAREHOUSE, OFFICER}), seal, ("packing", "container_closed"), _l("Sealed"),
               seals=True),
        Action(EventKind.DISPATCH, HANDLERS, dispatch, ("shipping", "in_transit"), _l("Handed over"), receiver=True),
        Action(EventKind.RECEIVE, HANDLERS, receive, ("receiving", "in_progress"), _l("Received")),
        Action(EventKind.INSPECT, HANDLERS | {SUPERVISOR}, inspect, ("inspecting", "in_progress"), _l("Inspected")),
        # a TPS box by its KPPS; a vendor carton at the warehouse
        Action(EventKind.OPEN, frozenset({OFFICER, WAREHOUSE}), open_box, ("unpacking", "container_open"),
               _l("Opened")),
        Action(EventKind.RESEAL, frozenset({OFFICER, WAREHOUSE}), reseal, ("packing", "container_closed"),
               _l("Resealed"),
               seals=True),
        Action(EventKind.DAMAGE, HANDLERS, damage, ("inspecting", "damaged"), _l("Reported damaged")),
        Action(EventKind.LOSS, HANDLERS | {SUPERVISOR}, loss, ("inspecting", "unknown"), _l("Reported lost")),
        Action(EventKind.VOID, frozenset({SUPERVISOR, ADMIN}), void, ("decommissioning", "inactive"),
               _l("Label voided"), epcis_action="DELETE"),
        # recorded on a supervisor's approval of a correction request, never scanned (custody/corrections.py)
        Action(EventKind.CORRECT, frozenset({SUPERVISOR}), correct, ("inspecting", "in_progress"), _l("Correction")),
    )
}  # fmt: skip
SEALING = frozenset(kind for kind, action in ACTIONS.items() if action.seals)
