"""SSCC allocation and the planning of each TPS's ballot boxes with their manifests."""

from __future__ import annotations

import logging

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from webapp.boxes.models import Box, BoxKind, BoxStatus, ManifestLine, SsccCounter
from webapp.geo.models import PROVINCES_WITHOUT_DPRD_KAB, Contest, Site, SiteKind, TpsDapil
from webapp.planning.models import ItemType
from webapp.planning.services import box_contents

log = logging.getLogger(__name__)
CHUNK = 5000


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit for the digits that precede it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def is_valid_sscc(sscc: str) -> bool:
    """Eighteen digits whose last is the GS1 check digit of the first seventeen."""
    return len(sscc) == 18 and sscc.isdigit() and gs1_check_digit(sscc[:17]) == int(sscc[17])


def make_sscc(extension: int, company_prefix: str, serial: int) -> str:
    """Extension digit + company prefix + serial (zero-padded to fill 17 digits) + check digit."""
    width = 16 - len(company_prefix)
    if not (0 <= extension <= 9 and company_prefix.isdigit() and 6 <= len(company_prefix) <= 12):
        raise ValueError("GS1 extension digit must be 0-9 and the company prefix 6-12 digits")
    if not 0 <= serial < 10**width:
        raise ValueError(f"serial {serial} does not fit in {width} digits for prefix {company_prefix}")
    body = f"{extension}{company_prefix}{serial:0{width}d}"
    return body + str(gs1_check_digit(body))


def allocate_ssccs(session: Session, count: int, *, extension: int, company_prefix: str) -> list[str]:
    """Reserve `count` fresh SSCCs: one atomic UPDATE ... RETURNING, so serials are never reused."""
    if count <= 0:
        return []
    key = f"{extension}{company_prefix}"
    stmt = (
        update(SsccCounter)
        .where(SsccCounter.prefix == key)
        .values(next_serial=SsccCounter.next_serial + count)
        .returning(SsccCounter.next_serial)
    )
    end = session.execute(stmt).scalar()
    if end is None:
        session.execute(insert(SsccCounter).values(prefix=key, next_serial=1))
        end = session.execute(stmt).scalar()
    start = end - count
    return [make_sscc(extension, company_prefix, serial) for serial in range(start, end)]


def contests_for(region_code: str) -> list[Contest]:
    """The ballot boxes a TPS receives: five, or four in DKI Jakarta (no DPRD kab/kota)."""
    contests = list(Contest)
    if region_code.split(".")[0] in PROVINCES_WITHOUT_DPRD_KAB:
        contests.remove(Contest.DPRD_KAB)
    return contests


def plan_tps_boxes(session: Session, tps_ids: list[int], *, extension: int, company_prefix: str) -> int:
    """Create the ballot boxes (with manifests) of TPS that have none yet; returns boxes created."""
    if not tps_ids:
        return 0
    items = list(session.scalars(select(ItemType).order_by(ItemType.id)))
    planned = set(session.scalars(select(Box.destination_id).where(Box.kind == BoxKind.BALLOT_BOX.value).distinct()))
    dapil_of: dict[tuple[int, str], int] = {}
    todo = [i for i in tps_ids if i not in planned]
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        for site_id, contest, dapil_id in session.execute(
            select(TpsDapil.site_id, TpsDapil.contest, TpsDapil.dapil_id).where(TpsDapil.site_id.in_(chunk))
        ):
            dapil_of[(site_id, contest)] = dapil_id
    sites = []
    for start in range(0, len(todo), CHUNK):
        sites += session.execute(
            select(Site.id, Site.region_code, Site.dpt).where(
                Site.id.in_(todo[start : start + CHUNK]), Site.kind == SiteKind.TPS.value
            )
        ).all()
    sites.sort()
    box_rows, contents = [], []
    for site_id, region_code, dpt in sites:
        contests = contests_for(region_code)
        for index, contest in enumerate(contests, start=1):
            box_rows.append(
                {
                    "kind": BoxKind.BALLOT_BOX.value,
                    "contest": contest.value,
                    "dapil_id": dapil_of.get((site_id, contest.value)),
                    "destination_id": site_id,
                    "set_index": index,
                    "set_size": len(contests),
                    "seals": [],
                    "status": BoxStatus.PLANNED.value,
                }
            )
            contents.append(box_contents(items, contest.value, dpt or 0, len(contests)))
    ssccs = allocate_ssccs(session, len(box_rows), extension=extension, company_prefix=company_prefix)
    for row, sscc in zip(box_rows, ssccs, strict=True):
        row["sscc"] = sscc
    for start in range(0, len(box_rows), CHUNK):
        session.execute(insert(Box.__table__), box_rows[start : start + CHUNK])
    ids = {}
    for start in range(0, len(ssccs), CHUNK):
        ids.update(session.execute(select(Box.sscc, Box.id).where(Box.sscc.in_(ssccs[start : start + CHUNK]))).all())
    lines = [
        {
            "box_id": ids[row["sscc"]],
            "item_type_id": need.item.id,
            "quantity": need.quantity,
            "dapil_id": row["dapil_id"] if need.item.per_dapil else None,
        }
        for row, needs in zip(box_rows, contents, strict=True)
        for need in needs
    ]
    for start in range(0, len(lines), CHUNK):
        session.execute(insert(ManifestLine.__table__), lines[start : start + CHUNK])
    session.flush()
    log.info("planned %d boxes with %d manifest lines for %d TPS", len(box_rows), len(lines), len(sites))
    return len(box_rows)
