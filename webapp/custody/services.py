"""The scan service: every write to the ledger goes through record_scans (and record_scan for one).

A batch is the same scans one by one, in device order, idempotent by client scan id. The boxes
of a batch are locked first (SELECT ... FOR UPDATE on PostgreSQL, in id order so two batches never
deadlock; the caller opened BEGIN IMMEDIATE on SQLite), the rules run on that locked state, and the
events, receipts and alerts are written in bulk. Services flush; the caller commits.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import current_app, has_app_context
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from webapp.auth.access import Forbidden, authorize_write, box_writable, may_hold
from webapp.auth.models import Role, User
from webapp.boxes.codes import CodeError, parse_code
from webapp.boxes.models import Box, BoxKind, BoxPhase, BoxStatus, Packet
from webapp.core.bulk import Insert, Link, Update, write
from webapp.custody.ledger import GENESIS, canonical_event, chain_hash, event_fields, utc_text
from webapp.custody.models import Alert, AlertState, CustodyEvent, EventKind, ScanReceipt, Verdict
from webapp.geo.models import WAREHOUSES, Site, SiteKind

log = logging.getLogger(__name__)

LATE_SYNC_AFTER = timedelta(hours=1)
CLOCK_SKEW_AHEAD = timedelta(minutes=5)

ACTION_ROLES: dict[EventKind, set[str]] = {
    EventKind.COMMISSION: {Role.WAREHOUSE, Role.ADMIN},
    EventKind.PACK: {Role.WAREHOUSE},
    EventKind.SEAL: {Role.WAREHOUSE, Role.OFFICER},
    EventKind.DISPATCH: {Role.WAREHOUSE, Role.COURIER, Role.OFFICER},
    EventKind.RECEIVE: {Role.WAREHOUSE, Role.COURIER, Role.OFFICER},
    EventKind.INSPECT: {Role.WAREHOUSE, Role.COURIER, Role.OFFICER, Role.SUPERVISOR},
    EventKind.OPEN: {Role.OFFICER, Role.WAREHOUSE},  # a TPS box by its KPPS; a vendor carton at the warehouse
    EventKind.RESEAL: {Role.OFFICER, Role.WAREHOUSE},
    EventKind.DAMAGE: {Role.WAREHOUSE, Role.COURIER, Role.OFFICER},
    EventKind.LOSS: {Role.WAREHOUSE, Role.COURIER, Role.OFFICER, Role.SUPERVISOR},
    EventKind.VOID: {Role.SUPERVISOR, Role.ADMIN},
}
LABEL_SITES = {SiteKind.PRINTER, SiteKind.WAREHOUSE_PROV, SiteKind.WAREHOUSE_KAB}
SEALING = {EventKind.SEAL, EventKind.RESEAL}
COURIER_PREFIX = "courier:"


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


@dataclass
class ScanResult:
    """The answer to one scan: accepted (with warnings), duplicate (the first answer), or refused."""

    client_id: str
    verdict: str
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    event: dict | None = None
    original_verdict: str | None = None
    # The box lies outside the actor's area (a receipt refused as wrong_destination): what is kept of the
    # attempt belongs to the actor's site, not to the box, so the box's own region is not alerted by it.
    outsider: bool = False


@dataclass(frozen=True)
class Sighting:
    """A box seen at a place (a scan's GPS fix) at a time."""

    lat: float
    lon: float
    at: datetime
    site: str


def km_between(a: Sighting, b: Sighting) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    dlat, dlon = math.radians(b.lat - a.lat), math.radians(b.lon - a.lon)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(a.lat)) * math.cos(math.radians(b.lat)) * math.sin(dlon / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def clone_check(before: Sighting | None, now: Sighting, max_kmh: float, min_km: float) -> dict | None:
    """The details of a cloned-label alert when one label was seen at two places farther apart than a
    vehicle could go in the time between the scans (and farther than GPS error); None otherwise."""
    if before is None:
        return None
    km = km_between(before, now)
    hours = abs((now.at - before.at).total_seconds()) / 3600
    if km <= min_km or km <= max_kmh * hours:
        return None
    return {
        "km": round(km, 1),
        "minutes": round(hours * 60, 1),
        "kmh_needed": round(km / hours) if hours else None,
        "max_kmh": max_kmh,
        "seen_before": {"site": before.site, "at": utc_text(before.at), "lat": before.lat, "lon": before.lon},
        "seen_now": {"site": now.site, "at": utc_text(now.at), "lat": now.lat, "lon": now.lon},
    }


def _sighted(box: Box | None, scan: ScanInput, result: ScanResult, now: datetime) -> bool:
    """Whether a scan tells where a box's label was seen: it has a GPS fix, the box is ours, the scan was
    made by someone allowed at a site of theirs (not refused as forbidden), with a believable clock."""
    return (
        box is not None
        and scan.lat is not None
        and scan.lon is not None
        and result.reason != "forbidden"
        and not result.outsider
        and scan.scanned_at - now <= CLOCK_SKEW_AHEAD
    )


def _clone_limits() -> tuple[float, float]:
    config = current_app.config if has_app_context() else {}
    return float(config.get("CLONE_MAX_KMH", 150)), float(config.get("CLONE_MIN_KM", 20))


class Refusal(Exception):
    """A scan the rules refuse; `details` says what the person needs to know."""

    def __init__(self, reason: str, **details):
        super().__init__(reason)
        self.reason = reason
        self.details = details


def route_codes_for(region_code: str | None) -> set[str]:
    """Codes of the warehouse > PPK > PPS sites above a desa (DESIGN.md section 3)."""
    if not region_code:
        return set()
    digits = region_code.replace(".", "")
    prefixes = {2: "KPU-", 4: "KPU-", 6: "PPK-", 10: "PPS-"}
    return {prefix + digits[:n] for n, prefix in prefixes.items() if len(digits) >= n}


def _holder_text(box: Box, sites: dict[int, Site], users: dict[int, User]) -> str | None:
    if box.holder_user_id is not None:
        return f"user:{users[box.holder_user_id].username}"
    if box.holder_site_id is not None:
        return f"site:{sites[box.holder_site_id].code}"
    return None


class _Context:
    """Everything the rules need for one batch, loaded with a handful of queries."""

    def __init__(self, session: Session, actor: User, scans: list[ScanInput], ssccs: set[str]):
        self.session = session
        self.actor = actor
        scan_codes = {scan.site.upper() for scan in scans}
        # Scans of a batch are nearly always made at one site: that site then comes with the boxes.
        one_site = len(scan_codes) == 1
        lock = _lock_statement(session.get_bind().dialect.name, one_site)
        params = {"ssccs": list(ssccs), "ids": [scan.client_id for scan in scans]}
        if one_site:
            params["here"] = next(iter(scan_codes))
        rows = session.execute(lock, params).all() if ssccs else []
        self.boxes = {row[0].sscc: row[0] for row in rows}
        self._destination_regions = {row[1] for row in rows}
        self.seen_before = rows[0][2] if rows else bool(scans)  # without a box, the receipts must be read
        self._routes_loaded = False
        self._packets: dict | None = None
        self._sightings: dict[int, Sighting] | None = None
        self.clone_alerted: set[int] = set()
        self.sites: dict[int, Site] = {}
        self.by_code: dict[str, Site] = {}
        for site in {row[3] for row in rows if one_site and row[3] is not None}:
            self._keep(site)
        wanted_codes = {scan.to.upper() for scan in scans if scan.to and not scan.to.lower().startswith(COURIER_PREFIX)}
        if not (rows and one_site):
            wanted_codes |= scan_codes
        wanted_codes -= set(self.by_code)
        # The sites a box names (its scope check reads them all), loaded in the one query below.
        holder_ids = {
            site_id
            for box in self.boxes.values()
            for site_id in (box.holder_site_id, box.destination_id, box.current_site_id, box.transit_site_id)
            if site_id
        } - set(self.sites)
        if wanted_codes or holder_ids:
            for site in session.scalars(select(Site).where(Site.code.in_(wanted_codes) | Site.id.in_(holder_ids))):
                self._keep(site)
        usernames = {
            scan.to[len(COURIER_PREFIX) :].lower()
            for scan in scans
            if scan.to and scan.to.lower().startswith(COURIER_PREFIX)
        }
        user_ids = {i for box in self.boxes.values() for i in (box.holder_user_id, box.transit_user_id) if i}
        self.users: dict[int, User] = {actor.id: actor}
        self.couriers: dict[str, User] = {}
        if usernames or user_ids:
            for user in session.scalars(select(User).where(User.username.in_(usernames) | User.id.in_(user_ids))):
                self.users[user.id] = user
                self.couriers[user.username] = user

    def _keep(self, site: Site) -> None:
        self.sites[site.id] = site
        self.by_code[site.code] = site

    def _load_routes(self) -> None:
        """The routes of every box in the batch, loaded the first time a rule needs one (dispatch, receipt,
        opening, a refusal's details): an inspection or a sealing never pays for them."""
        if self._routes_loaded:
            return
        self._routes_loaded = True
        # The route above a TPS follows from its region (KPU-31 > KPU-3101 > PPK-310101 > PPS-3101011001),
        # so the whole route loads in this one query; _load_ancestors() catches any site linked otherwise.
        codes = set().union(*(route_codes_for(region) for region in self._destination_regions))
        destinations = {box.destination_id for box in self.boxes.values()}
        for site in self.session.scalars(
            select(Site).where(Site.code.in_(codes) | Site.id.in_(destinations)).options(selectinload(Site.dapils))
        ):
            self._keep(site)
        self._load_ancestors()

    def missing_packets(self, box: Box) -> list[str]:
        """SSCCs of the packets planned for this box (its TPS and contest) not in it; loaded once a batch."""
        if self._packets is None:
            self._packets = {}
            destinations = {b.destination_id for b in self.boxes.values()}
            for sscc, tps_id, contest, box_id in self.session.execute(
                select(Packet.sscc, Packet.tps_id, Packet.contest, Packet.box_id).where(Packet.tps_id.in_(destinations))
            ):
                self._packets.setdefault((tps_id, contest), []).append((sscc, box_id))
        return [sscc for sscc, box_id in self._packets.get((box.destination_id, box.contest), []) if box_id != box.id]

    def last_sighting(self, box: Box) -> Sighting | None:
        """Where and when the box was last seen with a GPS fix (loaded once a batch, the first time a scan
        carries one); a later accepted scan of the batch takes its place."""
        if self._sightings is None:
            last = (
                select(func.max(CustodyEvent.id))
                .where(CustodyEvent.box_id.in_([b.id for b in self.boxes.values()]), CustodyEvent.lat.is_not(None))
                .group_by(CustodyEvent.box_id)
            )
            self._sightings = {
                box_id: Sighting(float(lat), float(lon), to_millis(at), code)
                for box_id, lat, lon, at, code in self.session.execute(
                    select(CustodyEvent.box_id, CustodyEvent.lat, CustodyEvent.lon, CustodyEvent.scanned_at, Site.code)
                    .join(Site, Site.id == CustodyEvent.site_id)
                    .where(CustodyEvent.id.in_(last))
                )
            }
        return self._sightings.get(box.id)

    def clone_alert_open(self, box: Box) -> bool:
        """Whether the box already has a cloned-label alert not yet resolved (one is enough)."""
        if box.id in self.clone_alerted:
            return True
        return (
            self.session.scalar(
                select(Alert.id).where(
                    Alert.box_id == box.id, Alert.kind == "cloned_label", Alert.state != AlertState.RESOLVED
                )
            )
            is not None
        )

    def seen(self, box: Box, sighting: Sighting) -> None:
        self.last_sighting(box)
        self._sightings[box.id] = sighting

    def destination(self, box: Box) -> Site:
        self._load_routes()
        return self.sites[box.destination_id]

    def _load_ancestors(self) -> None:
        missing = {s.parent_id for s in self.sites.values() if s.parent_id and s.parent_id not in self.sites}
        while missing:
            for site in self.session.scalars(select(Site).where(Site.id.in_(missing))):
                self._keep(site)
            missing = {s.parent_id for s in self.sites.values() if s.parent_id and s.parent_id not in self.sites}

    def route(self, box: Box) -> list[Site]:
        """The box's route from the top warehouse down to its destination."""
        chain, site = [], self.destination(box)
        while site is not None:
            chain.insert(0, site)
            site = self.sites.get(site.parent_id) if site.parent_id else None
        return chain

    def destination_details(self, box: Box) -> dict:
        """Where a box belongs, in words a person can act on."""
        from webapp.geo.models import Region

        dest = self.destination(box)
        details = {"destination": dest.code, "destination_name": dest.name, "contest": box.contest}
        if dest.region_code:
            desa = self.session.get(Region, dest.region_code)
            details["desa"] = desa.name if desa else None
            kec = self.session.get(Region, desa.parent_code) if desa and desa.parent_code else None
            details["kecamatan"] = kec.name if kec else None
        if box.dapil_id:
            details["dapil"] = box.dapil.name
        return details


@functools.cache
def _lock_statement(dialect: str, one_site: bool):
    """Lock the batch's boxes (with their destination's region) and say whether any scan id was seen
    before; with `one_site`, also load the site where the scans happen. Built once: building and
    hashing a statement costs more than running it."""
    seen = select(ScanReceipt.client_id).where(ScanReceipt.client_id.in_(bindparam("ids", expanding=True))).exists()
    here = aliased(Site)
    stmt = (
        select(Box, Site.region_code, seen, *([here] if one_site else []))
        .join(Site, Box.destination_id == Site.id)
        .where(Box.sscc.in_(bindparam("ssccs", expanding=True)))
        .order_by(Box.id)
        .execution_options(populate_existing=True)
    )
    if one_site:
        stmt = stmt.outerjoin(here, here.code == bindparam("here"))
    if dialect == "postgresql":
        stmt = stmt.with_for_update(of=Box)
    return stmt


def _compare_seals(box: Box, scan: ScanInput, kind: EventKind) -> bool:
    """True when the scan saw seals that differ from the last recorded ones (no reseal explains it)."""
    if kind in SEALING or scan.seals is None or not box.seals:
        return False
    return sorted(scan.seals) != sorted(box.seals)


def _holds(box: Box, actor: User, site: Site) -> bool:
    if box.holder_user_id is not None:
        return box.holder_user_id == actor.id
    return box.holder_site_id == site.id and actor.role != Role.COURIER


def _apply(
    ctx: _Context, box: Box, scan: ScanInput, kind: EventKind, site: Site
) -> tuple[str | None, str | None, list[str]]:
    """Check the rules for one scan and change the box's state; returns (from, to, warnings) or raises Refusal."""
    actor = ctx.actor
    warnings: list[str] = []
    if box.status == BoxStatus.VOIDED:
        raise Refusal("voided")
    # Every check comes before any change to the box: a refusal leaves its state untouched.
    seal_change = _compare_seals(box, scan, kind)
    if seal_change and not (scan.witness or "").strip():
        raise Refusal("seal_mismatch", recorded=box.seals, seen=scan.seals, why="a witness must sign a seal change")
    before = _holder_text(box, ctx.sites, ctx.users)
    to_text: str | None = before

    if kind == EventKind.COMMISSION:
        if SiteKind(site.kind) not in LABEL_SITES:
            raise Refusal("forbidden", why="site")  # labels are commissioned at a printer or a warehouse
        if box.status != BoxStatus.PLANNED and box.holder_site_id != site.id:
            raise Refusal("not_held_by_you", holder=before)
        if box.status == BoxStatus.PLANNED:
            box.status = BoxStatus.COMMISSIONED
        box.holder_site_id, box.current_site_id = site.id, site.id
        to_text = f"site:{site.code}"
    elif kind in (EventKind.PACK, EventKind.SEAL, EventKind.RESEAL):
        if box.holder_site_id != site.id or box.status in (BoxStatus.PLANNED, BoxStatus.IN_TRANSIT, BoxStatus.LOST):
            raise Refusal("not_held_by_you", holder=before)
        if kind == EventKind.PACK:
            box.status = BoxStatus.PACKED
        else:
            missing = ctx.missing_packets(box) if kind == EventKind.SEAL else []
            if missing and not (scan.note or "").strip():  # the note is the shortage's reason, in the ledger
                raise Refusal(
                    "incomplete", missing=missing[:50], why="every packet must be in the box, or a shortage noted"
                )
            box.seals = list(scan.seals or [])
            box.status = BoxStatus.SEALED
    elif kind == EventKind.DISPATCH:
        if not _holds(box, actor, site) or box.status in (BoxStatus.PLANNED, BoxStatus.LOST):
            raise Refusal("not_held_by_you", holder=before)
        receiver = (scan.to or "").strip()
        if receiver.lower().startswith(COURIER_PREFIX):
            courier = ctx.couriers.get(receiver[len(COURIER_PREFIX) :].lower())
            if courier is None or courier.role != Role.COURIER or not courier.active:
                raise Refusal("wrong_destination", receiver=receiver, why="no active courier with that username")
            if not may_hold(courier, ctx.destination(box)):  # a courier carries only boxes of their own area
                raise Refusal("forbidden", why="receiver")
            box.transit_user_id, box.transit_site_id = courier.id, None
            to_text = f"user:{courier.username}"
        else:
            target = ctx.by_code.get(receiver.upper())
            if target is None or target.id not in {s.id for s in ctx.route(box)}:
                raise Refusal("wrong_destination", receiver=receiver, **ctx.destination_details(box))
            box.transit_site_id, box.transit_user_id = target.id, None
            to_text = f"site:{target.code}"
        box.status = BoxStatus.IN_TRANSIT
    elif kind == EventKind.RECEIVE:
        if actor.role == Role.COURIER:
            if box.status != BoxStatus.IN_TRANSIT or box.transit_user_id != actor.id:
                raise Refusal("not_in_transit_to_you", holder=before)
            box.holder_user_id, box.holder_site_id = actor.id, None
            to_text = f"user:{actor.username}"
        else:
            if site.id not in {s.id for s in ctx.route(box)}:
                raise Refusal("wrong_destination", **ctx.destination_details(box))
            destination = ctx.destination(box)
            if box.contest and box.dapil_id is not None and destination.kind == SiteKind.TPS:
                expected = destination.dapil_for(box.contest)
                if expected is not None and expected.id != box.dapil_id:
                    raise Refusal(
                        "wrong_dapil", box_dapil=box.dapil.name, tps_dapil=expected.name, **ctx.destination_details(box)
                    )
            if box.status != BoxStatus.IN_TRANSIT or box.transit_site_id != site.id:
                raise Refusal("not_in_transit_to_you", holder=before)
            box.holder_site_id, box.holder_user_id = site.id, None
            box.status = BoxStatus.HELD
            to_text = f"site:{site.code}"
        box.transit_site_id = box.transit_user_id = None
        box.current_site_id = site.id
    elif kind == EventKind.INSPECT:
        if box.current_site_id != site.id and not _holds(box, actor, site):
            raise Refusal("not_held_by_you", holder=before)
    elif kind == EventKind.OPEN and box.kind == BoxKind.VENDOR_CARTON:
        # A printer's carton is opened at the warehouse's packing table, where its contents are counted
        # into packets (each packet then names the carton: see boxes/packing.py).
        if actor.role != Role.WAREHOUSE or SiteKind(site.kind) not in WAREHOUSES:
            raise Refusal("forbidden", why="role")  # opened by warehouse staff at a warehouse
        if box.holder_site_id != site.id or box.status != BoxStatus.HELD:
            raise Refusal("not_held_by_you", holder=before)
        box.status = BoxStatus.OPENED
    elif kind == EventKind.OPEN:
        if actor.role != Role.OFFICER:
            raise Refusal("forbidden", why="role")  # a ballot box is opened by the KPPS at its TPS
        if site.id != box.destination_id or site.kind != SiteKind.TPS:
            raise Refusal("wrong_destination", **ctx.destination_details(box))
        if box.holder_site_id != site.id or box.status != BoxStatus.HELD:
            raise Refusal("not_held_by_you", holder=before)
        box.status = BoxStatus.OPENED
        box.phase = BoxPhase.BACK  # opened for the count: from now on it is on its way back
    elif kind in (EventKind.DAMAGE, EventKind.LOSS):
        if not _holds(box, actor, site) and actor.role != Role.SUPERVISOR:
            raise Refusal("not_held_by_you", holder=before)
        box.status = BoxStatus.DAMAGED if kind == EventKind.DAMAGE else BoxStatus.LOST
    elif kind == EventKind.VOID:
        box.status = BoxStatus.VOIDED

    if seal_change:  # witnessed: the seals seen are the record from now on
        warnings.append("seal_mismatch")
        box.seals = list(scan.seals or [])
    return before, to_text, warnings


def to_millis(moment: datetime) -> datetime:
    """UTC, to the millisecond: what the ledger's canonical encoding keeps (docs/ledger.md)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _time_warnings(scanned_at: datetime, now: datetime) -> list[str]:
    warnings = []
    if scanned_at - now > CLOCK_SKEW_AHEAD:
        warnings.append("clock_skew")
    if now - scanned_at > LATE_SYNC_AFTER:
        warnings.append("late_sync")
    return warnings


def _receipt_result(receipt: ScanReceipt, event: dict | None) -> ScanResult:
    return ScanResult(
        client_id=receipt.client_id,
        verdict=Verdict.DUPLICATE,
        reason=receipt.reason,
        warnings=list(receipt.warnings),
        details=dict(receipt.details),
        event=event,
        original_verdict=receipt.verdict,
    )


def event_summary(event: CustodyEvent | dict, sscc: str, site_code: str | None) -> dict:
    """The event as a scan result and the API show it."""
    get = event.get if isinstance(event, dict) else lambda k: getattr(event, k)
    return {
        "id": get("id"),
        "box": sscc,
        "seq": get("box_seq"),
        "kind": get("kind"),
        "site": site_code,
        "from": get("from_holder"),
        "to": get("to_holder"),
        "hash": get("hash"),
        "recorded_at": utc_text(get("recorded_at")),
    }


def record_scans(
    session: Session, *, actor: User, scans: list[ScanInput], now: datetime | None = None
) -> list[ScanResult]:
    """Record a batch of scans, in device order, one result per scan (in the order given)."""
    now = to_millis(now or datetime.now(UTC))
    for scan in scans:
        scan.scanned_at = to_millis(scan.scanned_at)
    parsed: dict[str, str | CodeError] = {}
    for scan in scans:
        try:
            parsed[scan.client_id] = parse_code(scan.code)
        except CodeError as exc:
            parsed[scan.client_id] = exc
    ssccs = {v for v in parsed.values() if isinstance(v, str)}
    ctx = _Context(session, actor, scans, ssccs)
    # The lock query also says whether any of these scan ids was seen before (the rare case of a
    # replay): only then are the receipts read, so a new scan costs no query of its own for this.
    receipts: dict[str, ScanReceipt] = {}
    prior_events = {}
    if ctx.seen_before:
        receipts = {
            r.client_id: r
            for r in session.scalars(select(ScanReceipt).where(ScanReceipt.client_id.in_({s.client_id for s in scans})))
        }
    if receipts:
        ids = [r.event_id for r in receipts.values() if r.event_id]
        for ev, sscc, code in session.execute(
            select(CustodyEvent, Box.sscc, Site.code)
            .join(Box, CustodyEvent.box_id == Box.id)
            .outerjoin(Site, CustodyEvent.site_id == Site.id)
            .where(CustodyEvent.id.in_(ids))
        ):
            prior_events[ev.id] = event_summary(ev, sscc, code)

    events, new_receipts, alerts = [], [], []
    limits = _clone_limits()
    first_in_batch: dict[str, ScanResult] = {}
    answers: list[ScanResult | None] = [None] * len(scans)
    for index, scan in sorted(enumerate(scans), key=lambda pair: (pair[1].device_id, pair[1].device_seq)):
        if scan.client_id in receipts:
            receipt = receipts[scan.client_id]
            if receipt.actor_id != actor.id:
                answers[index] = ScanResult(
                    scan.client_id,
                    Verdict.REFUSED,
                    "forbidden",
                    details={"why": "this scan id belongs to another user"},
                )
            else:
                answers[index] = _receipt_result(receipt, prior_events.get(receipt.event_id))
            continue
        if scan.client_id in first_in_batch:
            first = first_in_batch[scan.client_id]
            answers[index] = ScanResult(
                scan.client_id,
                Verdict.DUPLICATE,
                first.reason,
                list(first.warnings),
                dict(first.details),
                first.event,
                first.verdict,
            )
            continue
        result, event_row, box = _one(ctx, scan, parsed[scan.client_id], now)
        answers[index] = first_in_batch[scan.client_id] = result
        if result.reason == "forbidden":
            continue  # a write the actor may not make writes nothing: no receipt, no alert, no sighting
        if event_row is not None:
            events.append((event_row, result))
        box_id = box.id if box and not result.outsider else None  # read now: _write expires the boxes it updates
        new_receipts.append((scan, result, box_id))
        if result.verdict == Verdict.REFUSED or "seal_mismatch" in result.warnings or scan.action in ("damage", "loss"):
            kind = result.reason or (
                "damaged" if scan.action == "damage" else "lost" if scan.action == "loss" else "seal_mismatch"
            )
            alerts.append((scan, kind, {"action": scan.action, "verdict": result.verdict, **result.details}, box_id))
        if _sighted(box, scan, result, now):
            # Accepted or refused, a scan by someone at their own site with a fix says where this label
            # is now: a copy of it elsewhere shows as a journey no vehicle could make.
            sighting = Sighting(float(scan.lat), float(scan.lon), scan.scanned_at, scan.site.upper())
            max_kmh, min_km = limits
            min_km += (scan.accuracy or 0) / 1000  # the fix's own uncertainty, in metres
            clone = clone_check(ctx.last_sighting(box), sighting, max_kmh, min_km)
            if clone and not ctx.clone_alert_open(box):
                details = {"action": scan.action, "verdict": result.verdict, **clone}
                alerts.append((scan, "cloned_label", details, box_id))
                ctx.clone_alerted.add(box.id)
            if result.verdict == Verdict.ACCEPTED:
                ctx.seen(box, sighting)

    with session.no_autoflush:
        _write(session, ctx, events, new_receipts, alerts, now)
    return answers


def _one(
    ctx: _Context, scan: ScanInput, parsed: str | CodeError, now: datetime
) -> tuple[ScanResult, dict | None, Box | None]:
    """Evaluate one scan against the locked state; returns its result, its event row and its box."""
    actor = ctx.actor
    kind = EventKind(scan.action)
    site = ctx.by_code.get(scan.site.upper())
    try:  # who and where first: a person's refused scan may raise alerts only at their own site
        authorize_write(actor, roles=ACTION_ROLES[kind], sites=(site,))
    except Forbidden as refused:
        return _forbidden(scan, None, refused.why), None, None
    if isinstance(parsed, CodeError):
        reason = "malformed_code"
        return (
            ScanResult(scan.client_id, Verdict.REFUSED, reason, details={"why": str(parsed), "kind": parsed.kind}),
            None,
            None,
        )
    box = ctx.boxes.get(parsed)
    if box is None:
        return ScanResult(scan.client_id, Verdict.REFUSED, "unknown_code", details={"sscc": parsed}), None, None
    if not box_writable(actor, box):
        if kind != EventKind.RECEIVE:
            return _forbidden(scan, box, "box"), None, box
        # A box of another area has arrived at the actor's own site: refused as DESIGN.md section 5 says, and
        # the phone says where it belongs, in the words of its label and public page; nothing more of it.
        result = ScanResult(scan.client_id, Verdict.REFUSED, "wrong_destination", outsider=True)
        result.details = {"sscc": box.sscc, **ctx.destination_details(box)}
        return result, None, box
    try:
        from_text, to_text, warnings = _apply(ctx, box, scan, kind, site)
    except Refusal as refusal:
        if refusal.reason == "forbidden":
            return _forbidden(scan, box, refusal.details.get("why", "role")), None, box
        details = {"sscc": box.sscc, **refusal.details}
        if (
            refusal.reason in ("wrong_destination", "wrong_dapil", "not_in_transit_to_you")
            and "destination" not in details
        ):
            details.update(ctx.destination_details(box))
        return ScanResult(scan.client_id, Verdict.REFUSED, refusal.reason, details=details), None, box
    warnings += _time_warnings(scan.scanned_at, now)
    seq = box.chain_length + 1
    prev = box.chain_head or GENESIS
    fields = event_fields(
        sscc=box.sscc,
        seq=seq,
        kind=kind.value,
        from_holder=from_text,
        to_holder=to_text,
        site_code=site.code,
        actor=actor.username,
        device_id=scan.device_id,
        device_seq=scan.device_seq,
        client_id=scan.client_id,
        scanned_at=scan.scanned_at,
        recorded_at=now,
        lat=scan.lat,
        lon=scan.lon,
        accuracy=scan.accuracy,
        seals=scan.seals,
        condition=scan.condition,
        note=scan.note,
        witness=scan.witness,
        handover=scan.handover,
    )
    digest = chain_hash(prev, canonical_event(fields))
    box.chain_length, box.chain_head, box.last_event_at = seq, digest, now
    row = {
        "client_id": scan.client_id,
        "box_id": box.id,
        "box_seq": seq,
        "kind": kind.value,
        "from_holder": from_text,
        "to_holder": to_text,
        "site_id": site.id,
        "actor_id": actor.id,
        "device_id": scan.device_id,
        "device_seq": scan.device_seq,
        "scanned_at": scan.scanned_at,
        "recorded_at": now,
        "lat": scan.lat,
        "lon": scan.lon,
        "accuracy": scan.accuracy,
        "seals": list(scan.seals or []),
        "condition": scan.condition,
        "note": scan.note,
        "witness": scan.witness,
        "handover": scan.handover,
        "prev_hash": prev,
        "hash": digest,
    }
    result = ScanResult(scan.client_id, Verdict.ACCEPTED, None, warnings, {"sscc": box.sscc, "status": box.status})
    result.event = event_summary(row | {"id": None}, box.sscc, site.code)
    return result, row, box


def _forbidden(scan: ScanInput, box: Box | None, why: str) -> ScanResult:
    """A write the actor may not make (auth/access.py): it names only what the actor sent."""
    details = {"sscc": box.sscc, "why": why} if box is not None else {"why": why}
    return ScanResult(scan.client_id, Verdict.REFUSED, "forbidden", details=details)


def _write(session: Session, ctx: _Context, events: list, receipts: list, alerts: list, now: datetime) -> None:
    """Write the batch: the boxes' new state, events (ids back), receipts and alerts, each in one statement."""
    touched = {id(box): box for _row, _result in events for box in [ctx.boxes[_result.details["sscc"]]]}.values()
    box_rows = [{"id": box.id, **{name: getattr(box, name) for name in BOX_STATE}} for box in touched]
    for box in touched:  # the rows will hold this state: the ORM must not write it again
        session.expire(box)
    event_id = Link("event_id", "events", match="client_id", value="id")
    site_ids = {code: site.id for code, site in ctx.by_code.items()}
    returned = write(
        session,
        Update("boxes", Box.__table__, "id", box_rows),
        Insert("events", CustodyEvent.__table__, [row for row, _ in events], returning=("client_id", "id")),
        Insert(
            "receipts",
            ScanReceipt.__table__,
            [
                {
                    "client_id": scan.client_id,
                    "actor_id": ctx.actor.id,
                    "box_id": box_id,
                    "event_id": None,
                    "verdict": result.verdict,
                    "reason": result.reason,
                    "warnings": result.warnings,
                    "details": result.details,
                    "recorded_at": now,
                }
                for scan, result, box_id in receipts
            ],
            links=(event_id,),
        ),
        Insert(
            "alerts",
            Alert.__table__,
            [
                {
                    "kind": kind,
                    "state": "open",
                    "box_id": box_id,
                    "site_id": site_ids.get(scan.site.upper()),
                    "actor_id": ctx.actor.id,
                    "event_id": None,
                    "client_id": scan.client_id,
                    "code": scan.code[:200].replace("\x00", "\ufffd"),  # PostgreSQL text holds no NUL
                    "details": details,
                    "created_at": now,
                }
                for scan, kind, details, box_id in alerts
            ],
            links=(event_id,),
        ),
    )
    for (_client_id, new_id), (_row, result) in zip(returned.get("events", []), events, strict=True):
        result.event["id"] = new_id
    verdicts: dict[str, int] = {}
    for _scan, result, _box in receipts:
        key = result.verdict if result.verdict != Verdict.REFUSED else f"refused:{result.reason}"
        verdicts[key] = verdicts.get(key, 0) + 1
    log.info("scans by %s: %s", ctx.actor.username, verdicts)


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


def record_scan(session: Session, *, actor: User, scan: ScanInput, now: datetime | None = None) -> ScanResult:
    """Record one scan (a batch of one)."""
    return record_scans(session, actor=actor, scans=[scan], now=now)[0]
