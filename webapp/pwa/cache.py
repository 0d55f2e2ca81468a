"""What a phone keeps to judge scans without a network: the boxes of its area, compactly.

The area is the kab/kota of the phone's site (a TPS, PPS, PPK or kab/kota warehouse), so a box bound
for a neighbouring kecamatan or dapil that turns up by mistake is known, and refused on the spot with
where it should go. Boxes in transit to the site or held there are always included (a printer or a
province warehouse has no kab/kota). About 70 bytes a box: Jakarta Timur's 40,000 boxes are 2.8 MB of
JSON, 0.5 MB gzipped, fetched once when online and refreshed on every start with a network.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from webapp.boxes.models import Box, BoxStatus
from webapp.custody.event import utc_text
from webapp.geo.models import Dapil, Region, Site, SiteKind, TpsDapil

MAX_BOXES = 100_000


def area_of(site: Site) -> str | None:
    """The kab/kota region code a site's phone keeps the boxes of (None for a printer or province)."""
    code = site.region_code or ""
    return code[:5] if len(code) >= 5 else None


def offline_cache(session: Session, site: Site) -> dict:
    """The boxes a phone at `site` may meet, with what a person must read when one is refused."""
    dest = aliased(Site)
    transit = aliased(Site)
    holder = aliased(Site)
    area = area_of(site)
    near = [Box.transit_site_id == site.id, Box.holder_site_id == site.id]
    if area:
        near.append(dest.region_code.startswith(area + "."))
    rows = session.execute(
        select(Box.sscc, dest.code, Box.contest, Dapil.code, Box.status, transit.code, holder.code)
        .join(dest, dest.id == Box.destination_id)
        .outerjoin(Dapil, Dapil.id == Box.dapil_id)
        .outerjoin(transit, transit.id == Box.transit_site_id)
        .outerjoin(holder, holder.id == Box.holder_site_id)
        .where(or_(*near), Box.status != BoxStatus.VOIDED)
        .order_by(Box.id)
        .limit(MAX_BOXES)
    ).all()
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
        "destinations": places,
        "dapils": dapil_names,
        "fields": ["sscc", "destination", "contest", "dapil", "status", "in_transit_to", "held_at"],
        # Where other sites' boxes are going or kept is not this phone's business: only "here" is said.
        "boxes": [
            [*row[:5], row[5] if row[5] == site.code else None, row[6] if row[6] == site.code else None] for row in rows
        ],
    }
