"""The authorization matrix's world: who acts, which objects lie on which side of their scope, and the
database those objects live in (built once per test module, see tests/auth/test_matrix.py).

Sides of the scope lines:

- A: kecamatan Kepulauan Seribu Utara (31.01.01), under PPK-310101: inside every kecamatan-scoped actor
  (region 31.01.01, or site PPK-310101) and inside the KPU-3101 warehouse.
- B: kecamatan Kepulauan Seribu Selatan (31.01.02), under PPK-310102: outside the kecamatan-scoped actors,
  inside the KPU-3101 warehouse.
- C: a corner of another kab/kota, Jakarta Pusat (31.71.01.1001, five TPS, KPU-3171): outside everyone.
- W: printers' cartons delivered to KPU-3101 (received there): the KPU-3101 warehouse only.
- P: cartons at the printer PRN-1: the printer's staff (and KPU-3101, their destination).
- Q: cartons at a second printer PRN-2 bound for KPU-3171: outside everyone.

Every side has boxes in the states the actions need ("slots": held at the warehouse, in transit to the
PPK, held by a courier...), sealed with seal numbers of its own, so that a seal number, a username or
a site code in an answer names exactly what leaked.
"""

from __future__ import annotations

import base64
import io
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from webapp.auth.models import User
from webapp.boxes.cartons import CartonOrder, order_cartons
from webapp.boxes.models import Box, Packet
from webapp.boxes.packing import plan_packets
from webapp.boxes.services import plan_tps_boxes
from webapp.custody.handovers import add_signature, close_handover, start_handover
from webapp.custody.models import Alert, CaptureJob, CorrectionRequest, CustodyEvent
from webapp.custody.photos import store_photo
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.geo.models import Region, Site, SiteKind
from webapp.geo.seed import seed_region
from webapp.geo.services import RouteSites, assign_tps_dapils, site_code
from webapp.labels.models import LabelJob
from webapp.labels.services import store_pdf
from webapp.planning.models import ItemType

PASSWORD = "password123"
# The matrix logs in a dozen people; a cheap hash keeps that quick (werkzeug checks any method it made).
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
LABEL_TPS = "TPS-3101011001008"  # its boxes stay planned for the label print job of POST /labels
NATIONAL_ADMIN = "mxpusat"

# --- the actors: one per role, with a kecamatan or site scope, and a printer's staff -----------------


@dataclass(frozen=True)
class Actor:
    """A person the matrix acts as: role, scope, where they scan, and which sides they may see."""

    key: str
    username: str
    role: str
    region: str | None = None  # scope: a region prefix ...
    site: str | None = None  # ... or one site
    home: str = "PPK-310101"  # the in-scope site where they scan
    away: str = "PPK-310102"  # a site of the same kind outside their scope
    inside: tuple[str, ...] = ("A",)  # sides they may see; objects they act on come from the first with it
    outside: tuple[str, ...] = ("B",)  # sides they may not see; the first with the object is tested
    to_site_out: str = "PPK-310102"  # a receiver site outside their scope and off every route they serve
    to_courier_out: str = "courier:mxkurirb"  # a courier whose scope does not meet theirs

    def slot(self, action: str) -> str:
        """Which box slot an action needs for this person (held where they hold boxes, in transit to them...)."""
        if action == "commission":
            return "planned"
        if self.key == "printer":
            return {"receive": "transit_wh", "open": "carton_wh"}.get(action, "held")
        if self.role == "warehouse":
            return {"receive": "transit_wh", "open": "carton_wh", "pack": "pack_wh"}.get(action, "held_wh")
        if self.role == "courier":
            return {"receive": "transit_courier", "open": "held_tps"}.get(action, "held_courier")
        return {"receive": "transit_ppk", "open": "held_tps"}.get(action, "held_ppk")


ACTORS: dict[str, Actor] = {
    a.key: a
    for a in (
        Actor("admin", "mxadmin", "admin", region="31.01.01"),
        Actor("supervisor", "mxsuper", "supervisor", region="31.01.01"),
        Actor("observer", "mxobserver", "observer", region="31.01.01"),
        Actor("courier", "mxcourier", "courier", region="31.01.01"),
        Actor("officer", "mxofficer", "officer", site="PPK-310101"),
        Actor(
            "warehouse",
            "mxwarehouse",
            "warehouse",
            site="KPU-3101",
            home="KPU-3101",
            away="KPU-3171",
            inside=("A", "W", "B", "P"),
            outside=("C",),
            to_site_out="KPU-3171",
            to_courier_out="courier:mxkurirc",
        ),
        Actor(
            "printer",
            "mxprinter",
            "warehouse",
            site="PRN-1",
            home="PRN-1",
            away="PRN-2",
            inside=("P",),
            outside=("Q", "W", "A"),
            to_site_out="PRN-2",
            to_courier_out="courier:mxkurirc",
        ),
    )
}
ROLES = ("admin", "supervisor", "warehouse", "courier", "officer", "observer")
A_ACTORS = frozenset({"admin", "supervisor", "observer", "courier", "officer", "warehouse"})
SIDE_VISIBLE: dict[str, frozenset[str]] = {
    "A": A_ACTORS,
    "B": frozenset({"warehouse"}),
    "C": frozenset(),
    "W": frozenset({"warehouse"}),
    "P": frozenset({"printer", "warehouse"}),
    "Q": frozenset(),
}


@dataclass(frozen=True)
class Side:
    """The sites of one side (warehouse > PPK > PPS > TPS), its people and its seal number."""

    key: str
    kab: str
    ppk: str
    pps: str
    tps: str
    kecamatan: str
    desa: str
    courier: str  # the courier holding this side's boxes
    setup: str  # the national warehouse account that moved this side's boxes into place
    seal: str


SIDES = {
    "A": Side(
        "A", "KPU-3101", "PPK-310101", "PPS-3101011001", "TPS-3101011001001", "31.01.01", "31.01.01.1001",
        "mxcourier", "mxseta", "SEGEL-A-0101",
    ),
    "B": Side(
        "B", "KPU-3101", "PPK-310102", "PPS-3101021001", "TPS-3101021001001", "31.01.02", "31.01.02.1001",
        "mxkurirb", "mxsetb", "SEGEL-B-0202",
    ),
    "C": Side(
        "C", "KPU-3171", "PPK-317101", "PPS-3171011001", "TPS-3171011001001", "31.71.01", "31.71.01.1001",
        "mxkurirc", "mxsetc", "SEGEL-C-0303",
    ),
}  # fmt: skip
CARTON_SEALS = {"P": "SEGEL-P-0404", "Q": "SEGEL-Q-0505", "W": "SEGEL-W-0606", "C": "SEGEL-C-0303"}


@dataclass(frozen=True)
class Person:
    """Someone in the world who is not an actor; `seen_by` are the actors whose pages may name them."""

    username: str
    role: str
    region: str | None = None
    site: str | None = None
    seen_by: frozenset[str] = frozenset()


PEOPLE = (
    Person("mxseta", "warehouse", seen_by=A_ACTORS),  # moved side A's boxes (national scope)
    Person("mxsetb", "warehouse", seen_by=SIDE_VISIBLE["B"]),
    Person("mxsetc", "warehouse"),
    Person("mxsetp", "warehouse", seen_by=frozenset({"printer", "warehouse"})),  # printer PRN-1's cartons
    Person("mxsetw", "warehouse", seen_by=SIDE_VISIBLE["W"]),  # received the cartons at KPU-3101
    Person("mxsetq", "warehouse"),
    Person("mxkurirb", "courier", region="31.01.02", seen_by=SIDE_VISIBLE["B"]),
    Person("mxkurirc", "courier", region="31.71"),
    Person("mxppkb", "officer", site="PPK-310102", seen_by=SIDE_VISIBLE["B"]),
    Person("mxppkc", "officer", site="PPK-317101"),
    Person("mxgudangc", "warehouse", site="KPU-3171"),
    Person("mxekspedisi", "courier", seen_by=frozenset(ACTORS)),  # a nationwide carrier: everyone's partner
    Person(NATIONAL_ADMIN, "admin"),  # made the printers' orders; the control actor for national objects
    Person("mxpengamat", "observer", region="31.01.01.1001", seen_by=frozenset({"admin"})),
    Person("mxtamu", "observer", region="31.01.01", seen_by=frozenset({"admin"})),
)


def full_name(username: str) -> str:
    """Everyone's full name is distinct, so a name in an answer says whose it is."""
    return f"Orang {username[2:].capitalize()}"


# --- objects the routes name, with the actors allowed to see each ------------------------------------

OBJECTS: dict[str, frozenset[str]] = {
    # boxes (the side's damaged box: it has events, an alert and a photo; P and Q: a carton at the printer)
    "box:A": A_ACTORS,
    "box:B": SIDE_VISIBLE["B"],
    "box:C": frozenset(),
    "box:P": SIDE_VISIBLE["P"],
    "box:Q": frozenset(),
    # sites
    "site:PPK-310101": A_ACTORS,
    "site:PPK-310102": frozenset({"warehouse"}),
    "site:PPK-317101": frozenset(),
    "site:KPU-3101": frozenset({"warehouse"}),
    "site:PRN-1": frozenset({"printer"}),
    "site:PRN-2": frozenset(),
    "site:TPS-3101011001007": A_ACTORS,
    "site:TPS-3101021001002": frozenset({"warehouse"}),
    # regions
    "region:31.01.01": A_ACTORS,
    "region:31.01.02": frozenset({"warehouse"}),
    "region:31.01": frozenset({"warehouse"}),
    "region:31.71": frozenset(),
    # handovers (closed BAST of each side: its PPK to its PPS)
    "handover:A": A_ACTORS,
    "handover:B": frozenset({"warehouse"}),
    "handover:C": frozenset(),
    "alert:A": A_ACTORS,
    "alert:B": frozenset({"warehouse"}),
    "alert:C": frozenset(),
    "photo:A": A_ACTORS,
    "photo:B": frozenset({"warehouse"}),
    "photo:C": frozenset(),
    "job:A": frozenset({"warehouse"}),  # requested by the KPU-3101 warehouse's own account
    "job:C": frozenset(),
    "order:A": frozenset({"warehouse", "printer"}),  # PRN-1 to KPU-3101
    "order:C": frozenset(),  # PRN-2 to KPU-3171
    "user:in": frozenset({"admin"}),  # mxpengamat, observer of desa 31.01.01.1001
    "user:out": frozenset(),  # mxkurirb, courier of 31.01.02
    "norm:TINTA": frozenset(),  # norms are national: no scoped person edits them
}


def visible(obj: str, actor: str) -> bool:
    """Whether an actor may see an object (the matrix's statement of the scope rule, per object)."""
    return actor in OBJECTS[obj]


# --- which box each action needs ---------------------------------------------------------------------

BALLOT_SLOTS = (
    "planned", "transit_wh", "held_ppk", "transit_ppk", "held_courier", "transit_courier", "ho_open", "ho_closed",
    "damaged", "ho_wh", "ho_courier",
)  # fmt: skip
SIDE_SLOTS = {
    "A": {"held_tps", "held_wh", "pack_wh", *BALLOT_SLOTS},
    "B": {"held_tps", "held_wh", "pack_wh", *BALLOT_SLOTS} - {"ho_wh", "ho_courier"},
    "C": {"held_tps", "held_wh", "pack_wh", "carton_wh", "carton_open", *BALLOT_SLOTS} - {"ho_wh", "ho_courier"},
    "W": {"carton_wh", "carton_open"},
    "P": {"planned", "held"},
    "Q": {"planned", "held"},
}


def box_key(actor: Actor, action: str, *, inside: bool) -> str | None:
    """The key ("SIDE.slot") of the box an actor would act on (inside its scope), or of its twin outside."""
    slot = actor.slot(action)
    for side in actor.inside if inside else actor.outside:
        if slot in SIDE_SLOTS[side]:
            return f"{side}.{slot}"
    return None


# --- the database ------------------------------------------------------------------------------------


@dataclass
class BoxRef:
    """What the matrix knows of one box: identity, where it is bound (its label), its secrets."""

    key: str
    side: str
    id: int
    sscc: str
    kind: str
    contest: str | None
    destination: str
    destination_name: str
    desa: str | None
    kecamatan: str | None
    dapil: str | None
    seals: list[str]
    holder: str | None  # a site code or a username
    packets: list[str] = field(default_factory=list)  # SSCCs of its planned packets (the manifest)

    @property
    def label(self) -> list[str]:
        """What the printed label and the public page say: anyone holding the box may read it."""
        return [s for s in (self.sscc, self.destination, self.destination_name, self.desa, self.kecamatan,
                            self.dapil) if s]  # fmt: skip


@dataclass
class World:
    """Ids and codes of everything the matrix's requests name (no ORM objects: each test rolls back)."""

    users: dict[str, int] = field(default_factory=dict)
    sites: dict[str, int] = field(default_factory=dict)
    boxes: dict[str, BoxRef] = field(default_factory=dict)  # "A.held_ppk" -> box
    packets: dict[str, str] = field(default_factory=dict)  # side -> the pack_wh box's unpacked ink packet
    handovers: dict[str, dict] = field(default_factory=dict)  # "A.closed" -> {"token", "number"}
    alerts: dict[str, int] = field(default_factory=dict)
    photos: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)
    kecamatan_names: dict[str, str] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)  # side -> a pending correction of its damage scan
    latest_events: dict[str, int] = field(default_factory=dict)  # "A.held_courier" -> its latest event's id
    latest_clients: dict[str, str] = field(default_factory=dict)  # "A.held_courier" -> that event's scan id
    captures: dict[str, str] = field(default_factory=dict)  # actor key (or "national") -> their capture job's id

    def box(self, actor: Actor, action: str, *, inside: bool) -> BoxRef | None:
        """The box an actor would act on (inside its scope), or its twin outside; None when no side has one."""
        key = box_key(actor, action, inside=inside)
        return self.boxes[key] if key else None

    # What no answer may show an actor: the markers of everything on sides it may not see.
    def markers(self, actor: str) -> list[tuple[str, str]]:
        """(text, what it is) of objects `actor` may not see: their SSCCs, seals, packets, sites, people."""
        found: list[tuple[str, str]] = []
        for ref in self.boxes.values():
            if actor in SIDE_VISIBLE[ref.side]:
                continue
            found.append((ref.sscc, f"SSCC of box {ref.key}"))
            found += [(seal, f"seal of side {ref.side}'s boxes") for seal in ref.seals]
            found += [(p, f"packet of box {ref.key}") for p in ref.packets]
        for side in ("B", "C"):
            if actor in SIDE_VISIBLE[side]:
                continue
            s = SIDES[side]
            found += [(code, f"site of side {side}") for code in (s.ppk, s.pps, s.tps)]
            found.append((self.kecamatan_names[side], f"kecamatan of side {side}"))
            for key in (f"{side}.closed", f"{side}.open"):
                found.append((self.handovers[key]["token"], f"token of handover {key}"))
                if self.handovers[key]["number"]:
                    found.append((self.handovers[key]["number"], f"number of BAST {key}"))
            found.append((self.photos[side], f"photo of side {side}"))
        if actor not in SIDE_VISIBLE["C"]:
            found += [("KPU-3171", "warehouse of side C"), ("PRN-2", "printer of side Q")]
            found.append((self.orders["C"], "order of side C"))
        for person in PEOPLE:
            if actor not in person.seen_by:
                found += [(person.username, "username"), (full_name(person.username), "full name")]
        return found

    def secrets(self, actor: str) -> list[tuple[str, str]]:
        """What a refused answer may never show: every seal number and every other person's name."""
        found = [(seal, f"seal of side {ref.side}'s boxes") for ref in self.boxes.values() for seal in ref.seals]
        for username in [p.username for p in PEOPLE] + [a.username for a in ACTORS.values()]:
            if username != ACTORS.get(actor, Actor("", "", "")).username:
                found += [(username, "username"), (full_name(username), "full name")]
        return found


def _now() -> datetime:
    return datetime.now(UTC)


_seq = itertools.count(1)


def _scans(session: Session, user: User, action: str, site: str, boxes: list[BoxRef], **extra) -> None:
    """Record one scan per box through the ledger's service; every one must be accepted."""
    scans = [
        ScanInput(str(uuid.uuid4()), b.sscc, action, site, _now(), "matrix-setup", next(_seq), **extra) for b in boxes
    ]
    for box, result in zip(boxes, record_scans(session, actor=user, scans=scans), strict=True):
        assert result.verdict == "accepted", (user.username, action, site, box.key, result)


def png_data_url(size: int = 24) -> str:
    """A signature as the phone sends it: a PNG data URL."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), (20, 20, 20)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def jpeg_bytes(colour: tuple[int, int, int]) -> bytes:
    """A small incident photo."""
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "JPEG")
    return out.getvalue()


def _user(session: Session, username: str, role: str, region: str | None, site: str | None) -> User:
    scope_site = session.scalar(select(Site).where(Site.code == site)) if site else None
    user = User(
        username=username,
        full_name=full_name(username),
        role=role,
        password_hash=PASSWORD_HASH,
        scope_region_code=region,
        scope_site=scope_site,
        active=True,
    )
    session.add(user)
    return user


def _side_c(session: Session, config: dict) -> None:
    """Jakarta Pusat's Gambir desa: its warehouse, PPK, PPS and five TPS with their boxes and packets."""
    route = RouteSites(session)
    desa = session.get(Region, "31.71.01.1001")
    pps = route.for_region(desa)
    for number in range(1, 6):
        session.add(
            Site(
                code=site_code(SiteKind.TPS, desa.code, number),
                kind=SiteKind.TPS.value,
                name=f"TPS {number:03d} {desa.name}",
                region_code=desa.code,
                parent=pps,
                tps_number=number,
                dpt=200,
            )
        )
    session.add(Site(code="PRN-2", kind=SiteKind.PRINTER.value, name="Percetakan Surat Suara 2"))
    session.flush()
    assign_tps_dapils(session, "31.71")
    tps_ids = list(session.scalars(select(Site.id).where(Site.kind == "tps", Site.region_code.like("31.71.%"))))
    options = {"extension": config["GS1_EXTENSION_DIGIT"], "company_prefix": config["GS1_COMPANY_PREFIX"]}
    plan_tps_boxes(session, tps_ids, election=config["ELECTION_TYPE"], **options)
    plan_packets(session, "31.71", **options)
    session.flush()


def _box_ref(session: Session, key: str, side: str, box: Box) -> BoxRef:
    dest = box.destination
    desa = session.get(Region, dest.region_code) if dest.region_code and dest.kind == "tps" else None
    kec = session.get(Region, desa.parent_code) if desa is not None and desa.parent_code else None
    holder = None
    if box.holder_user_id:
        holder = session.get(User, box.holder_user_id).username
    elif box.holder_site_id:
        holder = session.get(Site, box.holder_site_id).code
    packets = list(
        session.scalars(
            select(Packet.sscc).where(Packet.tps_id == box.destination_id, Packet.contest == box.contest)
        ).all()
    )
    return BoxRef(
        key=key,
        side=side,
        id=box.id,
        sscc=box.sscc,
        kind=box.kind,
        contest=box.contest,
        destination=dest.code,
        destination_name=dest.name,
        desa=desa.name if desa is not None else None,
        kecamatan=kec.name if kec is not None else None,
        dapil=box.dapil.name if box.dapil else None,
        seals=list(box.seals or []),
        holder=holder,
        packets=packets if box.contest else [],
    )


def build_world(session: Session, config: dict) -> World:
    """Seed Kepulauan Seribu and a corner of Jakarta Pusat, the people, and every object in its state."""
    seed_region(session, "31.01", config)
    _side_c(session, config)
    users: dict[str, User] = {}
    for actor in ACTORS.values():
        users[actor.username] = _user(session, actor.username, actor.role, actor.region, actor.site)
    for person in PEOPLE:
        users[person.username] = _user(session, person.username, person.role, person.region, person.site)
    session.flush()
    world = World(users={name: user.id for name, user in users.items()})
    world.sites = dict(session.execute(select(Site.code, Site.id)).all())
    for key in ("B", "C"):
        world.kecamatan_names[key] = session.get(Region, SIDES[key].kecamatan).name

    # Ballot boxes of sides A, B and C, each slot a box of the side's first desa.
    slots: dict[str, dict[str, Box]] = {}
    for key, side in SIDES.items():
        candidates = session.scalars(
            select(Box)
            .join(Site, Box.destination_id == Site.id)
            .where(Site.region_code == side.desa, Site.code != LABEL_TPS)
            .order_by(Site.code, Box.set_index)
        ).all()
        chosen = {"held_tps": next(b for b in candidates if b.destination.code == side.tps and b.contest == "DPR")}
        chosen["pack_wh"] = next(  # the Presiden box carries the ink: the packing station fills it from a carton
            b for b in candidates if b.destination.code != side.tps and b.contest == "PRESIDEN"
        )
        spare = (b for b in candidates if b.dapil_id is not None and b not in chosen.values())
        chosen["held_wh"] = next(spare)  # sealed, ready to go: what the warehouse dispatches
        for slot in BALLOT_SLOTS:
            if key != "A" and slot in ("ho_wh", "ho_courier"):
                continue
            chosen[slot] = next(spare)
        slots[key] = chosen

    for key, side in SIDES.items():
        setup, box = users[side.setup], slots[key]
        seal = {"seals": [side.seal], "note": "kekurangan dicatat"}
        at_kab = [b for s, b in box.items() if s not in ("planned", "transit_wh")]
        _scans(session, setup, "commission", side.kab, at_kab)
        _scans(session, setup, "seal", side.kab, [b for s, b in box.items() if b in at_kab and s != "pack_wh"], **seal)
        _scans(session, setup, "commission", "KPU-31", [box["transit_wh"]])
        _scans(session, setup, "seal", "KPU-31", [box["transit_wh"]], **seal)
        _scans(session, setup, "dispatch", "KPU-31", [box["transit_wh"]], to=side.kab)
        to_ppk = [box[s] for s in ("held_ppk", "transit_ppk", "ho_open", "ho_closed", "damaged")]
        _scans(session, setup, "dispatch", side.kab, to_ppk, to=side.ppk)
        couriers = [box[s] for s in ("held_courier", "transit_courier", "ho_courier") if s in box]
        _scans(session, setup, "dispatch", side.kab, couriers, to=f"courier:{side.courier}")
        _scans(session, setup, "dispatch", side.kab, [box["held_tps"]], to=side.tps)
        _scans(session, setup, "receive", side.ppk, [box[s] for s in ("held_ppk", "ho_open", "ho_closed", "damaged")])
        _scans(
            session, users[side.courier], "receive", side.ppk, [b for b in couriers if b is not box["transit_courier"]]
        )
        _scans(session, setup, "receive", side.tps, [box["held_tps"]])
        photo, _created = store_photo(session, jpeg_bytes((40 * ord(key) % 255, 90, 160)), actor=setup)
        world.photos[key] = photo.sha256
        _scans(session, setup, "damage", side.ppk, [box["damaged"]], note=f"basah, foto sha256:{photo.sha256}")

    # Printers' cartons: PRN-1 to KPU-3101 (P at the printer, W received at the warehouse) and PRN-2 to
    # KPU-3171 (Q at the printer, C's received at the warehouse).
    options = {"extension": config["GS1_EXTENSION_DIGIT"], "company_prefix": config["GS1_COMPANY_PREFIX"]}
    cartons: dict[str, Box] = {}
    for ref, printer, warehouse, at_printer, at_warehouse in (
        ("SPK-MX-A", "PRN-1", "KPU-3101", "P", "W"),
        ("SPK-MX-C", "PRN-2", "KPU-3171", "Q", "C"),
    ):
        order = CartonOrder(printer, warehouse, "TINTA", None, 500, 4, ref)
        planned, held, kept, opened = order_cartons(session, order, actor=users[NATIONAL_ADMIN], **options)
        world.orders["A" if at_printer == "P" else "C"] = ref
        printer_setup = users["mxsetp" if at_printer == "P" else "mxsetq"]
        warehouse_setup = users["mxsetw" if at_warehouse == "W" else "mxsetc"]
        _scans(session, printer_setup, "commission", printer, [held, kept, opened])
        _scans(session, printer_setup, "seal", printer, [held], seals=[CARTON_SEALS[at_printer]])
        _scans(session, printer_setup, "seal", printer, [kept, opened], seals=[CARTON_SEALS[at_warehouse]])
        _scans(session, printer_setup, "dispatch", printer, [kept, opened], to=warehouse)
        _scans(session, warehouse_setup, "receive", warehouse, [kept, opened])
        _scans(session, warehouse_setup, "open", warehouse, [opened])
        cartons |= {
            f"{at_printer}.planned": planned,
            f"{at_printer}.held": held,
            f"{at_warehouse}.carton_wh": kept,
            f"{at_warehouse}.carton_open": opened,
        }

    # Handovers (BAST): each side's PPK to its PPS, one closed and one ready to close; on side A also the
    # warehouse's and the courier's, each with a box dispatched under it and both parties' signatures.
    image = base64.b64decode(png_data_url().split(",", 1)[1])
    handovers = {
        "A.closed": ("mxofficer", "PPK-310101", "PPS-3101011001", "ho_closed"),
        "A.open": ("mxofficer", "PPK-310101", "PPS-3101011001", "ho_open"),
        "A.open_wh": ("mxwarehouse", "KPU-3101", "PPK-310101", "ho_wh"),
        "A.open_courier": ("mxcourier", "PPS-3101011001", "PPS-3101011001", "ho_courier"),  # at the receiver's
        "B.closed": ("mxppkb", "PPK-310102", "PPS-3101021001", "ho_closed"),
        "B.open": ("mxppkb", "PPK-310102", "PPS-3101021001", "ho_open"),
        "C.closed": ("mxppkc", "PPK-317101", "PPS-3171011001", "ho_closed"),
        "C.open": ("mxppkc", "PPK-317101", "PPS-3171011001", "ho_open"),
    }
    for key, (sender, site, to, slot) in handovers.items():
        token = str(uuid.uuid4())
        handover = start_handover(session, actor=users[sender], token=token, site_code=site, to=to)
        box = slots[key[0]][slot]
        _scans(session, users[sender], "dispatch", site, [box], to=to, handover=token)
        for role in ("sender", "receiver"):
            add_signature(
                session, handover, actor=users[sender], role=role, name=f"Penanda {role}", organisation=None,
                image=image,
            )  # fmt: skip
        if key.endswith("closed"):
            close_handover(session, handover, actor=users[sender], base_url=config["PUBLIC_BASE_URL"])
        world.handovers[key] = {"token": token, "number": handover.number}

    for key, side_slots in slots.items():
        for slot, box in side_slots.items():
            session.refresh(box)
            world.boxes[f"{key}.{slot}"] = _box_ref(session, f"{key}.{slot}", key, box)
        world.alerts[key] = session.scalar(select(Alert.id).where(Alert.box_id == side_slots["damaged"].id))
        for slot in ("damaged", "held_courier"):
            world.latest_events[f"{key}.{slot}"] = session.scalar(
                select(CustodyEvent.id).where(CustodyEvent.box_id == side_slots[slot].id).order_by(
                    CustodyEvent.box_seq.desc()).limit(1)
            )  # fmt: skip
        for slot in ("damaged", "held_courier"):
            world.latest_clients[f"{key}.{slot}"] = session.get(
                CustodyEvent, world.latest_events[f"{key}.{slot}"]
            ).client_id
        damage = session.get(CustodyEvent, world.latest_events[f"{key}.damaged"])
        request = CorrectionRequest(event_id=damage.id, box_id=damage.box_id, reason="bukan kotak yang rusak",
                                    requested_by_id=damage.actor_id, requested_at=datetime.now(UTC))  # fmt: skip
        session.add(request)
        session.flush()
        world.corrections[key] = request.id
        world.packets[key] = session.scalar(
            select(Packet.sscc)
            .join(ItemType, ItemType.id == Packet.item_type_id)
            .where(
                Packet.tps_id == side_slots["pack_wh"].destination_id,
                ItemType.code == "TINTA",
                Packet.box_id.is_(None),
            )
        )
    for key, carton in cartons.items():
        session.refresh(carton)
        world.boxes[key] = _box_ref(session, key, key[0], carton)

    # Label print jobs, done, with their PDF: the KPU-3101 warehouse's own, and one of KPU-3171.
    for key, requester, site, region in (
        ("A", "mxwarehouse", "KPU-3101", LABEL_TPS),
        ("C", "mxgudangc", "KPU-3171", "31.71.01"),
    ):
        job = LabelJob(region=region, format="a4", site_code=site, requested_by=users[requester], state="done")
        job.total = job.done = 4
        session.add(job)
        session.flush()
        store_pdf(session, job, io.BytesIO(b"%PDF-1.4\n% matrix label job\n%%EOF\n"))
        world.jobs[key] = job.id

    # An EPCIS capture job, done, of each actor and of the national admin (only its sender may read it).
    for key, username in (*((a.key, a.username) for a in ACTORS.values()), ("national", NATIONAL_ADMIN)):
        capture = CaptureJob(
            capture_id=uuid.uuid4().hex, submitted_by=users[username], state="done", document_sha256="0" * 64, locale="id",
            events=0, done=0, counts={}, errors=[], attempts=1, created_at=datetime.now(UTC),
            finished_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(capture)
        world.captures[key] = capture.capture_id
    session.commit()
    return world
