"""What a phone keeps to judge scans without a network: the boxes of its area, compactly, and what changed.

The area is the kab/kota of the phone's site (a TPS, PPS, PPK or kab/kota warehouse), so a box bound
for a neighbouring kecamatan or dapil that turns up by mistake is known, and refused on the spot with
where it should go. Boxes in transit to the site or held there are always included (a printer or a
province warehouse has no kab/kota). About 70 bytes a box: Jakarta Timur's 31,000 boxes are 2.8 MB of
JSON, a few hundred KB compressed, fetched once; after that the phone keeps its copy (IndexedDB) and asks
only for what changed since its cursor (`?since=`), a few hundred bytes when nothing did.

The cursor. Every insert and update of a box row is stamped by a database trigger (migration 0021,
`box.change_stamp`): on PostgreSQL with the writing transaction's id. Before reading the list, the
reader takes its snapshot's xmin: every transaction it cannot see (still running, or committed after)
has an id at least that, so `since=xmin` re-sends all of them, whatever order they commit in, and
sequence gaps do not matter (a few boxes it did see may be sent again: harmless). On SQLite (one writer
at a time) the stamp is the next number after the highest, and the cursor the highest committed plus one.

Boxes leave the list when voided, or when they were here and went on (their destination outside the
area). A delta names as `gone` the changed boxes not in the list that are bound for the area or were
ever scanned at or sent to this site; every answer carries `count`, the size of the whole list, so a phone
whose merged copy has another size (a box gone some other way) fetches the whole list again. A cursor
older than MAX_AGE gets the whole list too (site and dapil names are refreshed then).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from sqlalchemy import exists, func, or_, select, text, true
from sqlalchemy.orm import Session, aliased

from webapp.boxes.models import Box, BoxKind, BoxStatus
from webapp.custody.event import utc_text
from webapp.custody.holders import site_holder
from webapp.custody.models import CustodyEvent
from webapp.geo.models import Dapil, Region, Site, SiteKind, TpsDapil

MAX_BOXES = 100_000
MAX_AGE = 7 * 24 * 3600  # seconds: an older cursor gets the whole list again
FIELDS = ["sscc", "destination", "contest", "dapil", "status", "in_transit_to", "held_at", "sealed"]
CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,11})")


class BadCursor(ValueError):
    """A `since` that is not a cursor this endpoint gave out."""


def parse_cursor(value: str) -> tuple[int, int]:
    """(stamp, unix seconds) from a cursor "STAMP.SECONDS"; BadCursor if it is not one."""
    found = CURSOR.fullmatch(value or "")
    if not found:
        raise BadCursor("since must be a cursor from an earlier answer of this endpoint (digits.digits)")
    return int(found[1]), int(found[2])


def horizon(session: Session) -> tuple[int, int]:
    """(cursor stamp, the highest stamp that may exist now): read BEFORE the list, see the module's text."""
    if session.get_bind().dialect.name == "postgresql":
        low, high = session.execute(
            text("SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s) FROM txid_current_snapshot() AS s")
        ).one()
        return int(low), int(high)
    top = int(session.scalar(select(func.coalesce(func.max(Box.change_stamp), 0)))) + 1
    return top, top


def area_of(site: Site) -> str | None:
    """The kab/kota region code a site's phone keeps the boxes of (None for a printer or province)."""
    code = site.region_code or ""
    return code[:5] if len(code) >= 5 else None


def offline_cache(session: Session, site: Site, since: str | None = None) -> dict:
    """The boxes a phone at `site` may meet, with what a person must read when one is refused; with `since`
    (a cursor from an earlier answer), only those changed since and those gone. BadCursor on garbage."""
    now = int(time.time())
    asked = parse_cursor(since) if since is not None else None
    stamp, high = horizon(session)
    full_because = None
    if asked is not None:
        if asked[0] > high or asked[1] > now + 300:
            full_because = "future"
        elif asked[1] < now - MAX_AGE:
            full_because = "too_old"
    changed_since = asked[0] if asked is not None and full_because is None else None
    dest = aliased(Site)
    transit = aliased(Site)
    holder = aliased(Site)
    area = area_of(site)
    near = [Box.transit_site_id == site.id, Box.holder_site_id == site.id]
    if area:
        near.append(dest.region_code.startswith(area + "."))
    rows = session.execute(
        select(Box.sscc, dest.code, Box.contest, Dapil.code, Box.status, transit.code, holder.code, Box.kind, Box.seals)
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(Dapil, Dapil.id == Box.dapil_id)
        .outerjoin(transit, transit.id == Box.transit_site_id)
        .outerjoin(holder, holder.id == Box.holder_site_id)
        .where(or_(*near), Box.status != BoxStatus.VOIDED)
        .where(Box.change_stamp >= changed_since if changed_since is not None else true())
        .order_by(Box.id)
        .limit(MAX_BOXES)
    ).all()
    gone: list[str] = []
    if changed_since is None:
        count = len(rows)
    else:
        count = min(
            MAX_BOXES,
            session.scalar(
                select(func.count())
                .select_from(Box)
                .join(dest, dest.id == Box.destination_id)
                .where(or_(*near), Box.status != BoxStatus.VOIDED)
            ),
        )
        gone = _gone(session, site, area, changed_since)
    destinations = sorted({row[1] for row in rows})
    desa = aliased(Region)
    kecamatan = aliased(Region)
    places = {}
    for code, name, kind, desa_name, kec_name in session.execute(
        select(Site.code, Site.name, Site.kind, desa.name, kecamatan.name)
        .outerjoin(desa, desa.code == Site.region_code)
        .outerjoin(kecamatan, kecamatan.code == desa.parent_code)
        .where(Site.code.in_(destinations))
    ):
        places[code] = {
            "name": name,
            "desa": desa_name if kind == SiteKind.TPS else None,
            "kecamatan": kec_name,
            "dapils": {},
        }
    dapil_names = {}
    for code, contest, dapil_code, dapil_name in session.execute(
        select(Site.code, TpsDapil.contest, Dapil.code, Dapil.name)
        .join(TpsDapil, TpsDapil.site_id == Site.id)
        .join(Dapil, Dapil.id == TpsDapil.dapil_id)
        .where(Site.code.in_(destinations))
    ):
        places[code]["dapils"][contest] = dapil_code
        dapil_names[dapil_code] = dapil_name
    others = {row[3] for row in rows if row[3] and row[3] not in dapil_names}  # a box's dapil unlike its TPS's
    if others:
        dapil_names.update(session.execute(select(Dapil.code, Dapil.name).where(Dapil.code.in_(others))).all())
    return {
        "site": {"code": site.code, "kind": site.kind, "name": site.name},
        "area": area,
        "generated_at": utc_text(datetime.now(UTC)),
        "cursor": f"{stamp}.{now}",
        "since": since if changed_since is not None else None,
        "full": changed_since is None,
        **({"full_because": full_because} if full_because else {}),
        "count": count,
        "gone": gone,
        "destinations": places,
        "dapils": dapil_names,
        # sealed: whether the box may travel as it is (not custody/actions.py `unsealed`), which a phone judges
        # a dispatch by; a printer's carton travels without Jejak's seals, so it counts as sealed.
        "fields": FIELDS,
        # Where other sites' boxes are going or kept is not this phone's business: only "here" is said.
        "boxes": [
            [
                *row[:5],
                row[5] if row[5] == site.code else None,
                row[6] if row[6] == site.code else None,
                row[7] == BoxKind.VENDOR_CARTON or (bool(row[8]) and row[4] != BoxStatus.OPENED),
            ]
            for row in rows
        ],
    }


def _gone(session: Session, site: Site, area: str | None, since: int) -> list[str]:
    """Boxes changed since the cursor that a phone here may hold and that are no longer in the list: voided,
    or gone on elsewhere. Candidates are those bound for the area or ever scanned at or sent to this site."""
    dest = aliased(Site)
    touched = exists().where(
        CustodyEvent.box_id == Box.id,
        or_(CustodyEvent.site_id == site.id, CustodyEvent.to_holder == site_holder(site.code)),
    )
    wheres = [touched]
    if area:
        wheres.append(dest.region_code.startswith(area + "."))
    gone = []
    for sscc, status, transit, holder, region in session.execute(
        select(Box.sscc, Box.status, Box.transit_site_id, Box.holder_site_id, dest.region_code)
        .join(dest, dest.id == Box.destination_id)
        .where(Box.change_stamp >= since, or_(*wheres))
        .limit(MAX_BOXES)
    ):
        listed = site.id in (transit, holder) or bool(area and (region or "").startswith(area + "."))
        if status == BoxStatus.VOIDED or not listed:
            gone.append(sscc)
    return sorted(gone)
