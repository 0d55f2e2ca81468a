"""The digital BAST (Berita Acara Serah Terima): a handover between a sender and a receiver.

A handover is a token. The sender's dispatch scans and the receiver's receive scans carry it (the
`handover` field, hashed into each event), so they can be made offline and sent later through the
ordinary scan outbox. What the BAST lists is read back from the ledger: the boxes dispatched under the
token are the expected ones; received ones that were expected are received, the others unexpected;
expected ones never received are missing. Both parties (and any witnesses) sign on the screen;
closing numbers the BAST, freezes its list, and keeps the SHA-256 of its PDF.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from webapp.auth.access import Forbidden, authorize_write, may_hold, site_in_scope
from webapp.auth.models import Role, User
from webapp.boxes.models import Box, BoxPhase
from webapp.core.exceptions import CodedError
from webapp.core.images import ImageRefused, checked_image
from webapp.custody.actions import EventKind
from webapp.custody.event import utc_text
from webapp.custody.holders import COURIER, receiver_username
from webapp.custody.messages import message
from webapp.custody.models import CustodyEvent, Handover, HandoverSignature, ScanReceipt, SignerRole, Verdict
from webapp.custody.outcome import Outcome
from webapp.geo.models import Dapil, Site

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 300_000
# The phone's pad is the page's width (at most 960 CSS px) by 140 CSS px, drawn at the screen's pixel
# ratio but never beyond this (static/js/scan/signature.js); the BAST prints it 50 x 20 mm.
MAX_SIGNATURE_SIZE = (2000, 1000)
HANDOVER_ROLES = (Role.WAREHOUSE, Role.COURIER, Role.OFFICER)


class HandoverError(CodedError):
    """A handover request that cannot be done; `code` says why (the API's error code)."""


def _site(session: Session, code: str) -> Site | None:
    return session.scalar(select(Site).where(Site.code == (code or "").strip().upper()))


def start_handover(session: Session, *, actor: User, token: str, site_code: str | None, to: str) -> Handover:
    """Open a handover from `site_code` to `to` (a site code or courier:USERNAME); idempotent by token.

    A courier hands over where they stand, which is the receiving site: their handover needs no site code
    of its own (one sent must be that site) and goes to a site only."""
    try:
        token = str(uuid.UUID(token))
    except ValueError:
        raise HandoverError("invalid_request", _("Token must be a UUID.")) from None
    existing = session.scalar(select(Handover).where(Handover.token == token))
    if existing is not None:
        if existing.sender_id != actor.id:
            raise HandoverError("conflict", _("This handover token belongs to another sender."))
        return existing
    if actor.role == Role.COURIER:
        return _courier_handover(session, actor, token, site_code, to)
    site = _site(session, site_code)
    try:
        authorize_write(actor, roles=HANDOVER_ROLES, sites=(site,))
    except Forbidden:
        raise HandoverError("forbidden", _("A handover starts at your own site.")) from None
    if actor.scope_site_id is None or site.id != actor.scope_site_id:
        raise HandoverError("forbidden", _("A handover starts at your own site."))
    handover = Handover(token=token, status="open", sender_site=site, sender=actor, created_at=datetime.now(UTC))
    receiver = (to or "").strip()
    username = receiver_username(receiver)
    if username is not None:
        courier = session.scalar(select(User).where(User.username == username))
        if courier is None or courier.role != Role.COURIER or not courier.active:
            raise HandoverError("invalid_request", _("No active courier %(name)s.", name=receiver.partition(":")[2]))
        if not may_hold(courier, site):  # a courier takes over only where their area reaches
            raise HandoverError("forbidden", _("That courier does not serve your site."))
        handover.receiver_user = courier
    else:
        target = _site(session, receiver)
        if target is None or target.id == site.id:
            raise HandoverError("invalid_request", _("No other site has the code %(code)s.", code=receiver))
        # Down to a site in one's own area, or up one's own chain on the way back (TPS > PPS > PPK > warehouse).
        if not (site_in_scope(actor, target) or target.id in {s.id for s in site.route}):
            raise HandoverError("forbidden", _("That site is outside your area."))
        handover.receiver_site = target
    session.add(handover)
    session.flush()
    return handover


def _courier_handover(session: Session, courier: User, token: str, site_code: str | None, to: str) -> Handover:
    """A courier hands the boxes they carry over at the receiving site, in their area. A site code sent
    along must be that site (where they stand); another courier is no receiver (hand over at a site)."""
    if receiver_username((to or "").strip()) is not None:
        raise HandoverError("forbidden", _("A courier hands boxes over at a site, to its people."))
    target = _site(session, to)
    if target is None:
        raise HandoverError("invalid_request", _("No other site has the code %(code)s.", code=(to or "").strip()))
    stand = _site(session, site_code) if site_code else target
    if stand is None:
        raise HandoverError("invalid_request", _("No other site has the code %(code)s.", code=site_code.strip()))
    try:
        authorize_write(courier, roles=HANDOVER_ROLES, sites=(stand, target))
    except Forbidden:
        raise HandoverError("forbidden", _("That site is outside your area.")) from None
    if stand.id != target.id:
        raise HandoverError("invalid_request", _("A courier hands over where they stand: at the receiving site."))
    handover = Handover(
        token=token, status="open", sender_site=target, sender=courier, receiver_site=target,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    session.add(handover)
    session.flush()
    return handover


def handover_parties(session: Session, actor: User) -> dict:
    """Who the actor hands over from, and to whom they may: filled in from their role and scope, so nobody
    types a site code. A site's people give to the sites just below theirs, the one above (on the way
    back) and the couriers serving their site; a courier gives to the next site of each box they carry."""
    if actor.role == Role.COURIER:
        return {
            "from": {"kind": "courier", "code": None, "text": courier_text(actor)},
            "to": _next_sites(session, actor),
        }
    site = actor.scope_site
    if site is None or actor.role not in HANDOVER_ROLES:
        return {"from": None, "to": []}
    below = session.scalars(
        select(Site).where(Site.parent_id == site.id, Site.active.is_(True)).order_by(Site.kind, Site.name)
    ).all()
    sites = ([site.parent] if site.parent is not None else []) + list(below)
    couriers = session.scalars(
        select(User).where(User.role == Role.COURIER, User.active.is_(True)).order_by(User.full_name, User.username)
    ).all()
    return {
        "from": {"kind": "site", "code": site.code, "text": site_text(site)},
        "to": [{"value": s.code, "text": site_text(s), "kind": "site"} for s in sites]
        + [
            {"value": f"{COURIER}{c.username}", "text": courier_text(c), "kind": "courier"}
            for c in couriers
            if may_hold(c, site)
        ],
    }


def _next_sites(session: Session, courier: User) -> list[dict]:
    """The sites the boxes a courier carries go to next: one step on along each box's route from where the
    courier took it (down on the way out, up on the way back)."""
    found: dict[str, Site] = {}
    for box in session.scalars(select(Box).where(Box.holder_user_id == courier.id)):
        route = box.destination.route
        ids = [s.id for s in route]
        if box.current_site_id in ids:
            at = ids.index(box.current_site_id)
            step = at - 1 if box.phase == BoxPhase.BACK else at + 1
            nearest = route[step] if 0 <= step < len(route) else None
        else:  # taken off the route (a printer's carton): straight to where it is bound
            nearest = box.destination
        if nearest is not None and site_in_scope(courier, nearest):
            found[nearest.code] = nearest
    return [
        {"value": s.code, "text": site_text(s), "kind": "site"} for s in sorted(found.values(), key=lambda s: s.name)
    ]


def site_text(site: Site) -> str:
    return f"{site.name} ({site.code})"


def courier_text(user: User) -> str:
    return _("%(name)s (courier %(username)s)", name=user.full_name or user.username, username=user.username)


def may_see(actor: User, handover: Handover) -> bool:
    """The two parties, and anyone whose scope covers either end."""
    if actor.id in (handover.sender_id, handover.receiver_user_id):
        return True
    sites = [s for s in (handover.sender_site, handover.receiver_site) if s is not None]
    return any(site_in_scope(actor, site) for site in sites)


def may_act(actor: User, handover: Handover) -> bool:
    """Who may sign and close: the two parties (a person of either end's site, or the courier receiving)."""
    return actor.id in (handover.sender_id, handover.receiver_user_id) or (
        actor.scope_site_id is not None and actor.scope_site_id in (handover.sender_site_id, handover.receiver_site_id)
    )


@dataclass
class Item:
    sscc: str
    destination: str
    destination_name: str
    contest: str | None
    dapil: str | None
    seals: list[str]
    condition: str | None
    outcome: str  # received, missing, unexpected or refused
    witness: str | None = None  # who witnessed a change of seals at the receipt
    reason: str | None = None  # why a scan at this handover was refused
    message: str | None = None  # that refusal in words (Indonesian on the frozen BAST)


OUTCOMES = ("received", "missing", "unexpected", "refused")


def handover_items(session: Session, handover: Handover) -> list[Item]:
    """The boxes of a handover, read from the ledger's events that carry its token, then the scans at it
    that were refused (kept as receipts: a refusal writes no event) for boxes it does not otherwise list."""
    dest = aliased(Site)
    rows = session.execute(
        select(
            CustodyEvent.kind,
            CustodyEvent.seals,
            CustodyEvent.condition,
            CustodyEvent.witness,
            Box.sscc,
            Box.contest,
            dest.code,
            dest.name,
            Dapil.name,
        )
        .join(Box, Box.id == CustodyEvent.box_id)
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(Dapil, Dapil.id == Box.dapil_id)
        .where(CustodyEvent.handover == handover.token)
        .where(  # only the two parties' own scans count: a token seen on a label's chain adds nothing
            handover.sent() | ((CustodyEvent.kind == EventKind.RECEIVE) & _receiver_side(handover))
        )
        .order_by(CustodyEvent.id)
    ).all()
    items = _items_of(rows)
    return items + _refused_items(session, handover, {item.sscc for item in items})


def _receiver_side(handover: Handover):
    if handover.receiver_site_id:
        return CustodyEvent.site_id == handover.receiver_site_id
    return CustodyEvent.actor_id == handover.receiver_user_id


def _refused_items(session: Session, handover: Handover, listed: set[str]) -> list[Item]:
    """Boxes refused at this handover (at the door, or on the way out) and not accepted at it since."""
    parties = [handover.sender_id] + ([handover.receiver_user_id] if handover.receiver_user_id else [])
    receiver_people = select(User.id).where(User.scope_site_id == handover.receiver_site_id)
    receipts = session.scalars(
        select(ScanReceipt)
        .where(ScanReceipt.handover == handover.token, ScanReceipt.verdict == Verdict.REFUSED)
        .where(ScanReceipt.actor_id.in_(parties) | ScanReceipt.actor_id.in_(receiver_people))
        .order_by(ScanReceipt.recorded_at)
    ).all()
    items: dict[str, Item] = {}
    for receipt in receipts:
        details = receipt.details or {}
        sscc = details.get("sscc")
        if not sscc or sscc in listed:
            continue
        outcome = Outcome(Verdict.REFUSED, receipt.reason, details)
        items[sscc] = Item(
            sscc=sscc,
            destination=details.get("destination") or "",
            destination_name=details.get("destination_name") or "",
            contest=details.get("contest"),
            dapil=details.get("dapil"),
            seals=list(details.get("seen") or []),
            condition=None,
            outcome="refused",
            reason=receipt.reason,
            message=message(outcome),
        )  # the latest refusal of a box says why
    return list(items.values())


def _items_of(rows) -> list[Item]:
    """The handover's boxes from its dispatch and receive events: received (both), missing (sent only) or
    unexpected (received only), in the order first seen."""
    sent, received, order = {}, {}, []
    for kind, seals, condition, witness, sscc, contest, code, name, dapil in rows:
        if sscc not in sent and sscc not in received:
            order.append(sscc)
        entry = {
            "seals": list(seals or []),
            "condition": condition,
            "witness": witness,
            "contest": contest,
            "code": code,
            "name": name,
            "dapil": dapil,
        }
        (sent if kind == EventKind.DISPATCH else received)[sscc] = entry
    items = []
    for sscc in order:
        facts = received.get(sscc) or sent[sscc]
        outcome = "received" if sscc in sent and sscc in received else "missing" if sscc in sent else "unexpected"
        items.append(
            Item(
                sscc=sscc,
                destination=facts["code"],
                destination_name=facts["name"],
                contest=facts["contest"],
                dapil=facts["dapil"],
                seals=facts["seals"] or (sent.get(sscc) or {}).get("seals", []),
                condition=facts["condition"],
                outcome=outcome,
                witness=(received.get(sscc) or {}).get("witness"),
            )
        )
    return items


def party(handover: Handover, side: str) -> str:
    """A party in words: the site's name and code, or the courier's name."""
    if side == "sender":
        if handover.sender.role == Role.COURIER:
            return courier_text(handover.sender)
        return site_text(handover.sender_site)
    if handover.receiver_site is not None:
        return site_text(handover.receiver_site)
    return courier_text(handover.receiver_user)


def handover_json(session: Session, handover: Handover) -> dict:
    items = (
        handover.summary["items"] if handover.summary else [item.__dict__ for item in handover_items(session, handover)]
    )
    return {
        "token": handover.token,
        "number": handover.number,
        "status": handover.status,
        "sender": {
            "site": handover.sender_site.code,
            "user": handover.sender.username,
            "text": party(handover, "sender"),
        },
        "receiver": {
            "site": handover.receiver_site.code if handover.receiver_site else None,
            "user": handover.receiver_user.username if handover.receiver_user else None,
            "text": party(handover, "receiver"),
        },
        "created_at": utc_text(handover.created_at),
        "closed_at": utc_text(handover.closed_at) if handover.closed_at else None,
        "items": items,
        "counts": {k: sum(1 for i in items if i["outcome"] == k) for k in OUTCOMES},
        "signatures": [{"role": s.role, "name": s.name, "organisation": s.organisation} for s in handover.signatures],
        "pdf_sha256": handover.pdf_sha256,
    }


def _check_signature(image: bytes) -> None:
    """A whole, readable PNG of a sensible size (the BAST's PDF embeds it), measured before it is decoded."""
    if not image.startswith(PNG_MAGIC) or len(image) > MAX_SIGNATURE_BYTES:
        raise HandoverError("invalid_request", _("The signature must be a PNG image under 300 kB."))
    try:
        checked_image(image, kind="PNG", max_size=MAX_SIGNATURE_SIZE, min_size=(10, 10))
    except ImageRefused as exc:
        if exc.reason == "too_large":
            width, height = MAX_SIGNATURE_SIZE
            message = _("A signature may be at most %(width)s x %(height)s pixels.", width=width, height=height)
            raise HandoverError("invalid_request", message) from None
        raise HandoverError("invalid_request", _("The signature must be a PNG image under 300 kB.")) from None


def add_signature(
    session: Session, handover: Handover, *, actor: User, role: str, name: str, organisation: str | None, image: bytes
) -> HandoverSignature:
    """Keep a signature drawn on screen; a party signing again replaces its earlier signature."""
    if handover.status != "open":
        raise HandoverError("conflict", _("This BAST is closed."))
    if role not in {r.value for r in SignerRole}:
        raise HandoverError("invalid_request", _("Role must be sender, receiver or witness."))
    _check_signature(image)
    for old in [s for s in handover.signatures if s.role == role]:
        # A party signs once (again replaces it); a witness signing again under the same name too.
        if role != SignerRole.WITNESS or old.name == name.strip():
            handover.signatures.remove(old)
    signature = HandoverSignature(
        role=role,
        name=name.strip(),
        organisation=(organisation or "").strip() or None,
        image=image,
        signed_at=datetime.now(UTC),
        recorded_by_id=actor.id,
    )
    handover.signatures.append(signature)
    session.flush()
    return signature


def close_handover(session: Session, handover: Handover, *, actor: User, base_url: str) -> Handover:
    """Number the BAST, freeze what it lists, and keep its PDF's SHA-256 (bast.py draws it)."""
    from webapp.custody.bast import bast_pdf  # reportlab only when a BAST is drawn

    if handover.status != "open":
        raise HandoverError("conflict", _("This BAST is closed."))
    roles = {s.role for s in handover.signatures}
    if not {SignerRole.SENDER, SignerRole.RECEIVER} <= roles:
        raise HandoverError("invalid_request", _("Both parties must sign before the BAST is closed."))
    for signature in handover.signatures:  # the PDF decodes each; one kept under an older, looser rule is refused
        _check_signature(signature.image)
    with force_locale("id"):  # the BAST is an Indonesian document, whoever closes it
        items = handover_items(session, handover)
    if not items:
        raise HandoverError("invalid_request", _("No box was handed over under this BAST."))
    now = datetime.now(UTC)
    handover.status, handover.closed_at, handover.closed_by_id = "closed", now, actor.id
    handover.number = f"BAST-{now.year}-{handover.id:06d}"
    handover.summary = {"items": [item.__dict__ for item in items]}
    session.flush()
    handover.pdf, handover.pdf_sha256 = bast_pdf(handover, base_url)
    session.flush()
    return handover
