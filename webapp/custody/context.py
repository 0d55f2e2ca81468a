"""The loaded state of one batch of scans: its boxes (locked), the sites and people they name, and what a
rule may ask for later (routes, planned packets, last sightings), each loaded with one query when first
needed."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from webapp.auth.models import User
from webapp.boxes.models import Box, Packet
from webapp.custody.clones import Sighting
from webapp.custody.event import to_millis
from webapp.custody.holders import receiver_username
from webapp.custody.models import Alert, AlertState, CustodyEvent, Handover, ScanReceipt
from webapp.geo.models import Region, Site
from webapp.geo.services import route_codes_for

if TYPE_CHECKING:
    from webapp.custody.pipeline import ScanInput


class BatchContext:
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
        self._handovers: dict[str, tuple[Handover | None, set[int]]] = {}
        self.clone_alerted: set[int] = set()
        self.sites: dict[int, Site] = {}
        self.by_code: dict[str, Site] = {}
        for site in {row[3] for row in rows if one_site and row[3] is not None}:
            self._keep(site)
        usernames = {receiver_username(scan.to) for scan in scans if scan.to} - {None}
        wanted_codes = {scan.to.upper() for scan in scans if scan.to and receiver_username(scan.to) is None}
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

    def _handover(self, token: str) -> tuple[Handover | None, set[int]]:
        """The open handover of `token` (None if unknown or closed) and the boxes its sender dispatched under
        it at the sender's site, by the BAST's own rule (custody/handovers.py); loaded once a batch (a batch is
        one person's: the sender's dispatches and the receiver's receives never share one)."""
        if token not in self._handovers:
            handover = self.session.scalar(select(Handover).where(Handover.token == token, Handover.status == "open"))
            sent: set[int] = set()
            if handover is not None:
                sent = set(self.session.scalars(select(CustodyEvent.box_id).where(handover.sent())))
            self._handovers[token] = (handover, sent)
        return self._handovers[token]

    def unexpected_at_handover(self, token: str, box: Box, site: Site, actor: User) -> bool:
        """Whether this receive will be listed as unexpected on the BAST of the open handover `token`: it is
        made on the handover's receiver side, and the box was not dispatched under the token at the sender's
        site. An unknown or closed token lists nothing."""
        handover, sent = self._handover(token)
        if handover is None:
            return False
        if handover.receiver_site_id:
            receiver_side = site.id == handover.receiver_site_id
        else:
            receiver_side = actor.id == handover.receiver_user_id
        return receiver_side and box.id not in sent

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
