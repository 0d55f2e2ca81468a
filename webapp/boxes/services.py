"""SSCC allocation and the planning of each TPS's ballot boxes with their manifests."""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from webapp.boxes.models import Box, BoxKind, BoxStatus, ManifestLine, SsccCounter
from webapp.core.batching import chunks
from webapp.core.bulk import insert_rows
from webapp.geo.gln import gs1_check_digit
from webapp.geo.models import PROVINCES_WITHOUT_DPRD_KAB, Contest, Site, SiteKind, TpsDapil
from webapp.planning.models import ItemType
from webapp.planning.services import box_contents, ensure_catalogue

log = logging.getLogger(__name__)


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
    if end is None:  # first use of this prefix; a concurrent first use may have created the row
        create = {"sqlite": sqlite_insert, "postgresql": pg_insert}[session.get_bind().dialect.name]
        session.execute(create(SsccCounter).values(prefix=key, next_serial=1).on_conflict_do_nothing())
        end = session.execute(stmt).scalar()
    start = end - count
    return [make_sscc(extension, company_prefix, serial) for serial in range(start, end)]


def contests_for(region_code: str) -> list[Contest]:
    """The ballot boxes a TPS receives: five, or four in DKI Jakarta (no DPRD kab/kota)."""
    contests = list(Contest)
    if region_code.split(".")[0] in PROVINCES_WITHOUT_DPRD_KAB:
        contests.remove(Contest.DPRD_KAB)
    return contests


def _tps_facts(session: Session, tps_ids: list[int]) -> tuple[dict[int, tuple[str, int]], dict[tuple[int, str], int]]:
    """Region and DPT of each TPS, and its dapil per contest, in IN-lists PostgreSQL accepts."""
    sites, dapil_of = {}, {}
    for chunk in chunks(tps_ids):
        for site_id, region_code, dpt in session.execute(
            select(Site.id, Site.region_code, Site.dpt).where(Site.id.in_(chunk), Site.kind == SiteKind.TPS.value)
        ):
            sites[site_id] = (region_code, dpt or 0)
        for site_id, contest, dapil_id in session.execute(
            select(TpsDapil.site_id, TpsDapil.contest, TpsDapil.dapil_id).where(TpsDapil.site_id.in_(chunk))
        ):
            dapil_of[(site_id, contest)] = dapil_id
    return sites, dapil_of


def _manifest_rows(
    items: list[ItemType], box_id: int, contest: str, dpt: int, boxes: int, dapil_id: int | None
) -> list[dict]:
    return [
        {
            "box_id": box_id,
            "item_type_id": need.item.id,
            "quantity": need.quantity,
            "dapil_id": dapil_id if need.item.per_dapil else None,
        }
        for need in box_contents(items, contest, dpt, boxes)
    ]


def plan_tps_boxes(
    session: Session, tps_ids: list[int], *, extension: int, company_prefix: str, election: str = "pemilu"
) -> int:
    """Give each TPS its ballot boxes, and keep boxes not yet labelled in step with the TPS.

    A TPS without boxes gets one per contest, with SSCCs and manifests from the norms. A box still
    `planned` (no label printed, nothing in the ledger) follows later changes of its TPS's DPT and
    dapil. A labelled box never changes here: a mismatch is caught when it is scanned. Returns the
    number of boxes created.
    """
    if not tps_ids:
        return 0
    ensure_catalogue(session, election)
    items = list(session.scalars(select(ItemType).order_by(ItemType.id)))
    sites, dapil_of = _tps_facts(session, tps_ids)
    existing: dict[int, list[tuple[int, str, str, int | None]]] = {}
    for chunk in chunks(list(sites)):
        for box_id, destination_id, contest, status, dapil_id in session.execute(
            select(Box.id, Box.destination_id, Box.contest, Box.status, Box.dapil_id).where(
                Box.destination_id.in_(chunk), Box.kind == BoxKind.BALLOT_BOX.value
            )
        ):
            existing.setdefault(destination_id, []).append((box_id, contest, status, dapil_id))

    # Boxes still planned: refresh dapil and manifest from the TPS as it is now. A box's row is written only
    # when its dapil changed: every write stamps the box as changed for the phones' offline lists.
    refresh = [
        (box_id, site_id, contest, dapil_id)
        for site_id, boxes in existing.items()
        for box_id, contest, status, dapil_id in boxes
        if status == BoxStatus.PLANNED
    ]
    lines = []
    moved = []
    for chunk in chunks(refresh):
        session.execute(delete(ManifestLine).where(ManifestLine.box_id.in_([box_id for box_id, *_ in chunk])))
        for box_id, site_id, contest, had in chunk:
            region_code, dpt = sites[site_id]
            dapil_id = dapil_of.get((site_id, contest))
            if dapil_id != had:
                moved.append({"box": box_id, "dapil": dapil_id})
            lines += _manifest_rows(items, box_id, contest, dpt, len(existing[site_id]), dapil_id)
    if moved:
        statement = (
            update(Box.__table__).where(Box.__table__.c.id == bindparam("box")).values(dapil_id=bindparam("dapil"))
        )
        session.connection().execute(statement, moved)

    # TPS with no boxes yet: create them.
    box_rows = []
    for site_id in sorted(set(sites) - set(existing)):
        region_code, dpt = sites[site_id]
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
    ssccs = allocate_ssccs(session, len(box_rows), extension=extension, company_prefix=company_prefix)
    for row, sscc in zip(box_rows, ssccs, strict=True):
        row["sscc"] = sscc
    insert_rows(session, Box.__table__, box_rows)
    ids = {}
    for chunk in chunks(ssccs):
        ids.update(session.execute(select(Box.sscc, Box.id).where(Box.sscc.in_(chunk))).all())
    for row in box_rows:
        _, dpt = sites[row["destination_id"]]
        lines += _manifest_rows(items, ids[row["sscc"]], row["contest"], dpt, row["set_size"], row["dapil_id"])
    insert_rows(session, ManifestLine.__table__, lines)
    session.flush()
    if refresh:  # bulk statements bypass the ORM: reload boxes already in the session
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Box):
                session.expire(obj)
    log.info(
        "planned %d new boxes, refreshed %d planned boxes, %d manifest lines", len(box_rows), len(refresh), len(lines)
    )
    return len(box_rows)
