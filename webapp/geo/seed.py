"""Seeding a realistic working set for a kab/kota or province, and the demo for Jakarta Timur.

What is real: region codes and names, kab/kota population, DPR dapil of DKI Jakarta, the law's
ballot reserve. What is made up, plausibly: dapil of other provinces (groups of kab/kota or
kecamatan in code order), the spread of a kab/kota's population over its desa (a fixed
pseudo-random weight per desa between 0.6 and 1.4, so numbers are repeatable), and the printer.
Every step is find-or-create, so running a seed twice changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.boxes.packing import plan_packets
from webapp.boxes.services import plan_tps_boxes
from webapp.core.batching import chunks
from webapp.core.bulk import insert_rows
from webapp.geo.models import (
    PROVINCES_WITHOUT_DPRD_KAB,
    Contest,
    Dapil,
    Region,
    RegionLevel,
    Site,
    SiteKind,
    number_sites,
)
from webapp.geo.services import (
    POPULATION_CSV,
    RouteSites,
    assign_tps_dapils,
    ensure_regions,
    import_dapil,
    site_code,
)
from webapp.planning.services import ensure_catalogue

log = logging.getLogger(__name__)

DEMO_REGION = "31.75"  # Kota Administrasi Jakarta Timur
PRINTER_CODE = "PRN-1"
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]

# DKI Jakarta, the demo's province: DPR dapil as in 2024, DPRD DKI dapil with Jakarta Timur's
# three (4: Matraman, Pulogadung, Cakung; 5: Jatinegara, Kramatjati, Duren Sawit;
# 6: Pasar Rebo, Makasar, Ciracas, Cipayung), the 4/5 pair where a mix-up was reported.
DKI_DPR = {1: ["31.75"], 2: ["31.71", "31.74"], 3: ["31.72", "31.73", "31.01"]}
DKI_DPRD_JAKTIM = {
    4: ["31.75.01", "31.75.02", "31.75.06"],
    5: ["31.75.03", "31.75.04", "31.75.07"],
    6: ["31.75.05", "31.75.08", "31.75.09", "31.75.10"],
}
# Other DKI kab/kota: how many DPRD DKI dapil their kecamatan are split into, in number order.
DKI_DPRD_SPLIT = [("31.71", 1), ("31.72", 2), ("31.75", None), ("31.74", 2), ("31.73", 2)]


@dataclass
class SeedReport:
    """What a seed run created (zero everywhere on a repeat run)."""

    regions: int = 0
    dapil: int = 0
    sites: int = 0
    tps: int = 0
    boxes: int = 0
    packets: int = 0
    users: list[tuple[str, str, str, bool]] = field(default_factory=list)


def _population() -> dict[str, int]:
    with open(POPULATION_CSV, newline="", encoding="utf-8-sig") as handle:
        return {row["kode"]: int(row["total"]) for row in csv.DictReader(handle)}


def _weight(code: str) -> float:
    """A repeatable pseudo-random weight in [0.6, 1.4) for spreading population over desa."""
    digest = hashlib.sha256(code.encode()).digest()
    return 0.6 + int.from_bytes(digest[:4], "big") / 2**32 * 0.8


def _children(session: Session, code: str, level: RegionLevel) -> list[Region]:
    return list(
        session.scalars(
            select(Region).where(Region.level == level, Region.code.like(code + ".%")).order_by(Region.code)
        )
    )


# --- dapil -------------------------------------------------------------------------------------


def _dapil_rows(session: Session, province: Region, kabs: list[Region]) -> list[dict]:
    """Plausible dapil for a province (DPR, DPD, DPRD provinsi) and its seeded kab/kota (DPRD kab)."""
    all_kabs = _children(session, province.code, RegionLevel.KABKOTA)
    rows: list[dict] = []

    def add(contest: Contest, number: int | None, name: str, regions: list[str], within: str) -> None:
        code = f"{contest}-{within.replace('.', '')}" + (f"-{number:02d}" if number else "")
        rows.extend(
            {"contest": contest.value, "dapil_code": code, "dapil_name": name, "region_code": r, "within": within}
            for r in regions
        )

    short = province.name.replace("Daerah Khusus Ibukota ", "DKI ")
    add(Contest.DPD, None, short, [province.code], province.code)
    if province.code == "31":
        for number, regions in DKI_DPR.items():
            add(Contest.DPR, number, f"{short} {ROMAN[number - 1]}", regions, province.code)
        number = 0
        for kab, parts in DKI_DPRD_SPLIT:
            if parts is None:
                for n, regions in DKI_DPRD_JAKTIM.items():
                    add(Contest.DPRD_PROV, n, f"{short} {n}", regions, province.code)
                number = max(DKI_DPRD_JAKTIM)
                continue
            kecs = [r.code for r in _children(session, kab, RegionLevel.KECAMATAN)]
            size = math.ceil(len(kecs) / parts)
            for group in chunks(kecs, size):
                number += 1
                extra = ["31.01"] if kab == "31.72" and number == 3 else []  # Kepulauan Seribu
                add(Contest.DPRD_PROV, number, f"{short} {number}", group + extra, province.code)
    else:
        for number, group in enumerate(chunks([k.code for k in all_kabs], 3), start=1):
            add(Contest.DPR, number, f"{short} {ROMAN[(number - 1) % len(ROMAN)]}", group, province.code)
        for number, group in enumerate(chunks([k.code for k in all_kabs], 2), start=1):
            add(Contest.DPRD_PROV, number, f"{short} {number}", group, province.code)
    if province.code not in PROVINCES_WITHOUT_DPRD_KAB:
        for kab in kabs:
            kecs = [r.code for r in _children(session, kab.code, RegionLevel.KECAMATAN)]
            for number, group in enumerate(chunks(kecs, 4), start=1):
                add(Contest.DPRD_KAB, number, f"{kab.name} {number}", group, kab.code)
    return rows


def ensure_dapil(session: Session, province: Region, kabs: list[Region]) -> int:
    """Create plausible dapil where none exist yet (an imported real table always wins)."""
    have_contests = defaultdict(set)
    for contest, within in session.execute(select(Dapil.contest, Dapil.within_code)):
        have_contests[contest].add(within)
    wanted = [row for row in _dapil_rows(session, province, kabs) if row["within"] not in have_contests[row["contest"]]]
    if not wanted:
        return 0
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["contest", "dapil_code", "dapil_name", "region_code"], extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(wanted)
    buffer.seek(0)
    return import_dapil(session, buffer).inserted


# --- sites and TPS -----------------------------------------------------------------------------


def ensure_printer(session: Session) -> Site:
    """The demo's ballot printer (a vendor outside the regional hierarchy)."""
    printer = session.scalar(select(Site).where(Site.code == PRINTER_CODE))
    if printer is None:
        printer = Site(code=PRINTER_CODE, kind=SiteKind.PRINTER.value, name="Percetakan Surat Suara 1")
        session.add(printer)
        session.flush()
    return printer


def tps_sizes(voters: int, max_per_tps: int) -> list[int]:
    """Split a desa's voters over as few TPS as the cap allows, as evenly as possible."""
    if voters <= 0:
        return []
    count = math.ceil(voters / max_per_tps)
    base, extra = divmod(voters, count)
    return [base + 1 if i < extra else base for i in range(count)]


def seed_kab(
    session: Session, kab: Region, *, population: int, voter_ratio: float, max_per_tps: int
) -> tuple[int, int]:
    """Create the warehouse, PPK, PPS and TPS sites of one kab/kota; returns (sites, tps) created."""
    route = RouteSites(session)
    before = session.scalar(select(func.count()).select_from(Site))
    desas = _children(session, kab.code, RegionLevel.DESA)
    kecs = {r.code: r for r in _children(session, kab.code, RegionLevel.KECAMATAN)}
    pps_by_desa = {}
    for desa in desas:
        desa.parent = kecs[desa.parent_code]
        pps_by_desa[desa.code] = route.for_region(desa)
    route.for_region(kab)
    session.flush()
    with_tps = set(
        session.scalars(
            select(Site.region_code)
            .where(Site.kind == SiteKind.TPS.value, Site.region_code.like(kab.code + ".%"))
            .distinct()
        )
    )
    weights = {d.code: _weight(d.code) for d in desas}
    total_weight = sum(weights.values()) or 1.0
    rows = []
    for desa in desas:
        if desa.code in with_tps:
            continue
        voters = round(population * weights[desa.code] / total_weight * voter_ratio)
        for number, dpt in enumerate(tps_sizes(voters, max_per_tps), start=1):
            rows.append(
                {
                    "code": site_code(SiteKind.TPS, desa.code, number),
                    "kind": SiteKind.TPS.value,
                    "name": f"TPS {number:03d} {desa.name}",
                    "region_code": desa.code,
                    "parent_id": pps_by_desa[desa.code].id,
                    "tps_number": number,
                    "dpt": dpt,
                    "active": True,
                }
            )
    insert_rows(session, Site.__table__, rows)
    number_sites(session)  # inserted in bulk, past the ORM's numbering of new sites
    session.flush()
    after = session.scalar(select(func.count()).select_from(Site))
    return after - before, len(rows)


def seed_region(session: Session, code: str, config: dict) -> SeedReport:
    """Seed one kab/kota, or every kab/kota of a province: dapil, sites, TPS, boxes, manifests."""
    report = SeedReport()
    before_regions = session.scalar(select(func.count()).select_from(Region))
    ensure_regions(session)
    report.regions = session.scalar(select(func.count()).select_from(Region)) - before_regions
    region = session.get(Region, code)
    if region is None or region.level > RegionLevel.KABKOTA:
        raise LookupError(f"{code} is not a province or kab/kota code of the region table (e.g. 31.75)")
    province = region if region.level == RegionLevel.PROVINCE else session.get(Region, region.parent_code)
    kabs = [region] if region.level == RegionLevel.KABKOTA else _children(session, region.code, RegionLevel.KABKOTA)
    ensure_catalogue(session, config["ELECTION_TYPE"])
    ensure_printer(session)
    report.dapil = ensure_dapil(session, province, kabs)
    population = _population()
    national = population["0"]
    per_desa = national / max(
        1, session.scalar(select(func.count()).select_from(Region).where(Region.level == RegionLevel.DESA))
    )
    for kab in kabs:
        people = population.get(kab.code) or round(per_desa * len(_children(session, kab.code, RegionLevel.DESA)))
        sites, tps = seed_kab(
            session,
            kab,
            population=people,
            voter_ratio=config["SEED_VOTER_RATIO"],
            max_per_tps=config["SEED_MAX_VOTERS_PER_TPS"],
        )
        report.sites += sites
        report.tps += tps
        assign_tps_dapils(session, kab.code)
        tps_ids = list(
            session.scalars(
                select(Site.id).where(Site.kind == SiteKind.TPS.value, Site.region_code.like(kab.code + ".%"))
            )
        )
        report.boxes += plan_tps_boxes(
            session,
            tps_ids,
            extension=config["GS1_EXTENSION_DIGIT"],
            company_prefix=config["GS1_COMPANY_PREFIX"],
            election=config["ELECTION_TYPE"],
        )
        report.packets += plan_packets(
            session, kab.code, extension=config["GS1_EXTENSION_DIGIT"], company_prefix=config["GS1_COMPANY_PREFIX"]
        )
    log.info("seeded %s: %s", code, report)
    return report
