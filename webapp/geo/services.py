"""Reference data services: region, dapil and TPS imports, route sites, TPS dapil assignment.

Every import validates the whole file first and writes nothing when any line is wrong; the
problems come back with line numbers. Services flush; the caller commits.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from webapp.core.batching import chunks
from webapp.core.bulk import insert_rows
from webapp.core.exceptions import JejakError
from webapp.core.exports import FORMULA_TRIGGERS
from webapp.geo.gln import gln_problem
from webapp.geo.models import (
    DAPIL_CONTESTS,
    PROVINCES_WITHOUT_DPRD_KAB,
    Contest,
    Dapil,
    DapilRegion,
    Region,
    RegionLevel,
    Site,
    SiteKind,
    TpsDapil,
    dotted_code,
    kpu_code,
    region_level,
)

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
REGIONS_CSV = DATA_DIR / "wilayah.csv"
POPULATION_CSV = DATA_DIR / "penduduk.csv"
WHOLE_TABLE = 20_000  # regions a file names above which the table is read whole
MAX_DPT_PER_TPS = 1000  # Pemilu caps a TPS at 300 voters, Pilkada at 600; above 1000 is a typo.


@dataclass
class ImportProblem:
    """One reason a line of an import file was refused."""

    line: int
    message: str

    def __str__(self) -> str:
        # What the file held is echoed in the message: anything invisible in it (a stray BOM, a control
        # character) is shown as its code point, so a terminal or a page shows exactly what is wrong.
        shown = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in self.message)
        return f"line {self.line}: {shown}"


class ImportRejected(JejakError):
    """The file had problems; nothing of it was written."""

    def __init__(self, problems: list[ImportProblem]):
        super().__init__(f"{len(problems)} problem(s); nothing was imported")
        self.problems = problems


@dataclass
class ImportResult:
    """What an import changed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    details: dict[str, int] = field(default_factory=dict)
    # TPS whose DPT or dapil changed, or that are new: their planned boxes need (re)planning.
    tps_ids: set[int] = field(default_factory=set)


# A path, or an open file in text or binary mode.
ImportSource = Path | str | io.TextIOBase | io.BufferedIOBase
PROBLEM = "__problem__"  # a row read_csv could not turn into cells, with the reason
# Most of a cell an error message repeats: a 100,000-character code is not echoed whole.
SHOWN_LENGTH = 40
# Control characters (Unicode category Cc) and lone surrogates, which PostgreSQL cannot store.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _decoded(source: ImportSource) -> str:
    """The file as text: UTF-8, with or without a BOM; anything else is refused at its first bad line."""
    if isinstance(source, Path | str):
        data = Path(source).read_bytes()
    else:
        data = source.read()
        if isinstance(data, str):  # a text stream the caller has decoded
            return data
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportRejected([ImportProblem(1, 'the file is UTF-16 text, not UTF-8: save it as "CSV UTF-8"')])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1
        raise ImportRejected(
            [ImportProblem(line, f'the file is not UTF-8 text (byte 0x{data[exc.start]:02X}): save it as "CSV UTF-8"')]
        ) from None


def _header_problems(header: list[str], required: Iterable[str]) -> list[str]:
    missing = [name for name in required if name not in header]
    twice = sorted({name for name in header if name and header.count(name) > 1})
    problems = [f"column {shown(name)} appears twice" for name in twice]
    if missing:
        problems.append(
            "missing column(s): " + ", ".join(missing) + f"; found: {', '.join(map(shown, header)) or 'nothing'}"
        )
    return problems


def read_csv(source: ImportSource, required: Iterable[str]) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row) from a CSV with a header, every cell stripped; blank lines are skipped.

    A row that cannot be used as it is (more or fewer cells than the header, a cell over the csv module's
    limit) comes as {PROBLEM: reason}. A file that is not UTF-8, is empty or lacks a required column is
    refused outright. Line numbers are where a row starts, as an editor shows them.
    """
    required = list(required)
    reader = csv.reader(io.StringIO(_decoded(source), newline=""))
    header: list[str] | None = None
    end = 0  # the line the previous row ended on
    while True:
        line = end + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:  # nothing after it can be read reliably
            if "field larger" in str(exc):
                reason = f"a cell is longer than {csv.field_size_limit():,} characters"
            else:
                reason = f"the CSV cannot be read from here ({exc})"
            yield line, {PROBLEM: reason}
            return
        if cells is None:
            break
        end = reader.line_num
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if header is None:
            header = cells
            problems = _header_problems(header, required)
            if problems:
                raise ImportRejected([ImportProblem(line, problem) for problem in problems])
            continue
        if len(cells) != len(header):
            more = len(cells) > len(header)
            yield (
                line,
                {
                    PROBLEM: f"{'more' if more else 'fewer'} cells than columns ({len(cells)}, not {len(header)})"
                    + (": a comma inside a name needs quotes" if more else "")
                },
            )
            continue
        yield line, dict(zip(header, cells, strict=True))
    if header is None:
        raise ImportRejected([ImportProblem(1, "the file is empty; its first line should be " + ",".join(required))])


def _unreadable(line: int, row: dict, problems: list[ImportProblem]) -> bool:
    """Note a row read_csv could not read; True when there was one."""
    if PROBLEM in row:
        problems.append(ImportProblem(line, row[PROBLEM]))
        return True
    return False


def shown(value: str) -> str:
    """A cell as a problem message quotes it: shortened, control characters escaped (no terminal tricks)."""
    text = value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH] + "..."
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def text_problem(column: str, value: str, limit: int) -> str | None:
    """Why a text cell cannot be stored in a column of `limit` characters and shown and exported safely."""
    if len(value) > limit:
        return f"{column} is {len(value):,} characters long; at most {limit} fit"
    if "\n" in value or "\r" in value:
        return f"{column} runs over several lines (a quote left open?)"
    if bad := CONTROL.search(value):
        return f"{column} contains the control character U+{ord(bad.group()):04X}"
    # Refused rather than neutralised: names go on box labels and BAST papers, where a quote added in
    # front would be printed; no real region, dapil or TPS name starts with these.
    if value.startswith(FORMULA_TRIGGERS):
        return f"{column} starts with '{value[0]}', which a spreadsheet would run as a formula"
    return None


def _limit(column) -> int:
    """The length of a String column, from the model: the checks cannot drift from the schema."""
    return column.property.columns[0].type.length


# --- regions -----------------------------------------------------------------------------------


def stored_regions(session: Session, codes: Iterable[str | None]) -> dict[str, tuple[str, str | None]]:
    """(name, parent code) of those of `codes` in the region table: the rows a file names, not all 91,599."""
    wanted = {code for code in codes if code}
    query = select(Region.code, Region.name, Region.parent_code)
    if len(wanted) > WHOLE_TABLE:  # most of the table: one scan beats many IN lists
        return {code: (name, parent) for code, name, parent in session.execute(query) if code in wanted}
    found: dict[str, tuple[str, str | None]] = {}
    for chunk in chunks(sorted(wanted)):
        found.update(
            (code, (name, parent)) for code, name, parent in session.execute(query.where(Region.code.in_(chunk)))
        )
    return found


def import_regions(session: Session, source: ImportSource = REGIONS_CSV) -> ImportResult:
    """Load the Kemendagri region table (`kode,nama`) idempotently: insert new, update renamed."""
    problems: list[ImportProblem] = []
    rows: dict[str, dict] = {}
    line_of: dict[str, int] = {}
    for line, row in read_csv(source, ("kode", "nama")):
        if _unreadable(line, row, problems):
            continue
        code, name = row["kode"], row["nama"]
        if not code.isascii() or dotted_code(code) != code:
            problems.append(ImportProblem(line, f"'{shown(code)}' is not a dotted region code such as 31.75.04.1001"))
            continue
        if not name:
            problems.append(ImportProblem(line, f"region {code} has no name"))
            continue
        if reason := text_problem("nama", name, _limit(Region.name)):
            problems.append(ImportProblem(line, f"region {code}: {reason}"))
            continue
        if code in rows:
            problems.append(ImportProblem(line, f"region {code} appears twice"))
            continue
        parent = code.rsplit(".", 1)[0] if "." in code else None
        rows[code] = {"code": code, "name": name, "level": region_level(code), "parent_code": parent}
        line_of[code] = line
    existing = stored_regions(session, [*rows, *(row["parent_code"] for row in rows.values())])
    for code, row in rows.items():
        parent = row["parent_code"]
        if parent is not None and parent not in existing and line_of.get(parent, line_of[code]) >= line_of[code]:
            problems.append(
                ImportProblem(
                    line_of[code],
                    f"region {code}: parent {parent} is neither in the file (above it) nor in the database",
                )
            )
    if problems:
        raise ImportRejected(sorted(problems, key=lambda problem: problem.line))

    result = ImportResult()
    new = [r for code, r in rows.items() if code not in existing]
    changed = [r for code, r in rows.items() if code in existing and existing[code] != (r["name"], r["parent_code"])]
    new.sort(key=lambda r: r["level"])  # parents before children, for the foreign key
    insert_rows(session, Region.__table__, new)
    for row in changed:
        session.execute(update(Region).where(Region.code == row["code"]).values(name=row["name"]))
    session.flush()
    result.inserted, result.updated = len(new), len(changed)
    result.unchanged = len(rows) - len(new) - len(changed)
    log.info("regions imported: %d new, %d renamed, %d unchanged", result.inserted, result.updated, result.unchanged)
    return result


def ensure_regions(session: Session) -> None:
    """Import the shipped region table when the database has none."""
    if session.scalar(select(Region.code).limit(1)) is None:
        import_regions(session)


def region_counts(session: Session) -> dict[int, int]:
    """Number of regions per level."""
    from sqlalchemy import func

    return dict(session.execute(select(Region.level, func.count()).group_by(Region.level)).all())


# --- sites along the route ---------------------------------------------------------------------


ROUTE_PREFIXES = {2: "KPU-", 4: "KPU-", 6: "PPK-", 10: "PPS-"}  # digits of the region code, as site_code spells it


def route_codes_for(region_code: str | None) -> set[str]:
    """Codes of the warehouse > PPK > PPS sites above a desa (DESIGN.md section 3), from its region code
    (static/js/scan/judge.js: routeCodes computes the same on the phone)."""
    digits = (region_code or "").replace(".", "")
    return {prefix + digits[:n] for n, prefix in ROUTE_PREFIXES.items() if digits and len(digits) >= n}


def site_code(kind: SiteKind, region_code: str, number: int | None = None) -> str:
    """Human-readable site codes of DESIGN.md section 3 (KPU-3175, PPK-317504, TPS-3175041001001)."""
    k = kpu_code(region_code)
    if kind in (SiteKind.WAREHOUSE_PROV, SiteKind.WAREHOUSE_KAB):
        return f"KPU-{k}"
    if kind == SiteKind.PPK:
        return f"PPK-{k}"
    if kind == SiteKind.PPS:
        return f"PPS-{k}"
    if kind == SiteKind.TPS:
        return f"TPS-{k}{number:03d}"
    raise ValueError(f"no region-based code for {kind}")


class RouteSites:
    """Find-or-create the warehouse > PPK > PPS chain for regions, with one query per level."""

    def __init__(self, session: Session):
        self.session = session
        self._by_code: dict[str, Site] = {}
        self.created: list[Site] = []

    def _get(self, code: str) -> Site | None:
        if code not in self._by_code:
            site = self.session.scalar(select(Site).where(Site.code == code))
            if site is not None:
                self._by_code[code] = site
        return self._by_code.get(code)

    def _ensure(self, kind: SiteKind, region: Region, name: str, parent: Site | None) -> Site:
        code = site_code(kind, region.code)
        site = self._get(code)
        if site is None:
            site = Site(code=code, kind=kind.value, name=name, region_code=region.code, parent=parent)
            self.session.add(site)
            self.created.append(site)
            self._by_code[code] = site
        return site

    def for_region(self, region: Region) -> Site:
        """The site that receives at this region's level, creating its ancestors as needed."""
        level = RegionLevel(region.level)
        if level == RegionLevel.PROVINCE:
            return self._ensure(SiteKind.WAREHOUSE_PROV, region, f"Gudang KPU Provinsi {region.name}", None)
        parent = self.for_region(self._region(region.parent_code))
        if level == RegionLevel.KABKOTA:
            return self._ensure(SiteKind.WAREHOUSE_KAB, region, f"Gudang KPU {region.name}", parent)
        if level == RegionLevel.KECAMATAN:
            return self._ensure(SiteKind.PPK, region, f"PPK Kec. {region.name}", parent)
        return self._ensure(SiteKind.PPS, region, f"PPS {region.name}", parent)

    def _region(self, code: str | None) -> Region:
        region = self.session.get(Region, code)
        if region is None:
            raise LookupError(f"region {code} is not in the database; run flask geo import-regions")
        return region


# --- dapil -------------------------------------------------------------------------------------

# Which region levels a dapil of each contest may list.
DAPIL_LEVELS = {
    Contest.DPR: (RegionLevel.KABKOTA, RegionLevel.KECAMATAN),
    Contest.DPD: (RegionLevel.PROVINCE,),
    Contest.DPRD_PROV: (RegionLevel.KABKOTA, RegionLevel.KECAMATAN),
    Contest.DPRD_KAB: (RegionLevel.KECAMATAN, RegionLevel.DESA),
}


def _within_level(contest: Contest) -> RegionLevel:
    return RegionLevel.KABKOTA if contest == Contest.DPRD_KAB else RegionLevel.PROVINCE


def import_dapil(session: Session, source: ImportSource) -> ImportResult:
    """Load dapil tables (`contest,dapil_code,dapil_name,region_code`, one row per covered region).

    A dapil in the file replaces its stored region list; TPS dapil are re-derived afterwards.
    """
    problems: list[ImportProblem] = []
    dapils: dict[str, dict] = {}
    claimed: dict[tuple[str, str], str] = {}
    lines = list(read_csv(source, ("contest", "dapil_code", "dapil_name", "region_code")))
    known_regions = set(stored_regions(session, (dotted_code(row.get("region_code", "")) for _, row in lines)))
    for line, row in lines:
        if _unreadable(line, row, problems):
            continue
        contest_raw, code, name = row["contest"].upper(), row["dapil_code"], row["dapil_name"]
        region_code = dotted_code(row["region_code"])
        if contest_raw not in {c.value for c in DAPIL_CONTESTS}:
            problems.append(
                ImportProblem(line, f"contest '{shown(row['contest'])}' is not one of DPR, DPD, DPRD_PROV, DPRD_KAB")
            )
            continue
        contest = Contest(contest_raw)
        if not code or not name:
            problems.append(ImportProblem(line, "dapil_code and dapil_name must not be empty"))
            continue
        reason = text_problem("dapil_code", code, _limit(Dapil.code)) or text_problem(
            "dapil_name", name, _limit(Dapil.name)
        )
        if reason:
            problems.append(ImportProblem(line, reason))
            continue
        if region_code is None or region_code not in known_regions:
            problems.append(ImportProblem(line, f"region '{shown(row['region_code'])}' is not a known region code"))
            continue
        if contest == Contest.DPRD_KAB and region_code.split(".")[0] in PROVINCES_WITHOUT_DPRD_KAB:
            problems.append(ImportProblem(line, f"province {region_code.split('.')[0]} elects no DPRD kab/kota"))
            continue
        if region_level(region_code) not in DAPIL_LEVELS[contest]:
            allowed = " or ".join(level.name.lower() for level in DAPIL_LEVELS[contest])
            problems.append(
                ImportProblem(line, f"a {contest} dapil lists regions at {allowed} level, not {region_code}")
            )
            continue
        entry = dapils.setdefault(code, {"contest": contest, "name": name, "regions": [], "line": line})
        if entry["contest"] != contest or entry["name"] != name:
            problems.append(
                ImportProblem(
                    line, f"dapil {code} was given as {entry['contest']} '{entry['name']}' on line {entry['line']}"
                )
            )
            continue
        within = ".".join(region_code.split(".")[: _within_level(contest)])
        entry.setdefault("within", within)
        if entry["within"] != within:
            problems.append(
                ImportProblem(
                    line,
                    f"dapil {code} spans {entry['within']} and {within}; a {contest} dapil lies within one "
                    + ("kab/kota" if contest == Contest.DPRD_KAB else "province"),
                )
            )
            continue
        key = (contest.value, region_code)
        if key in claimed:
            problems.append(ImportProblem(line, f"region {region_code} is already in {contest} dapil {claimed[key]}"))
            continue
        claimed[key] = code
        entry["regions"].append(region_code)
    # Dapil already stored and not replaced by this file keep their regions: take them into account.
    stored_contest = dict(session.execute(select(Dapil.code, Dapil.contest)).all())
    for code, entry in dapils.items():
        if code in stored_contest and stored_contest[code] != entry["contest"].value:
            problems.append(ImportProblem(entry["line"], f"dapil {code} exists as a {stored_contest[code]} dapil"))
    kept = {
        (contest, region_code): code
        for contest, region_code, code in session.execute(
            select(DapilRegion.contest, DapilRegion.region_code, Dapil.code).join(Dapil)
        )
        if code not in dapils
    }
    # A region and one of its own sub-regions in two dapil of the same contest would be ambiguous.
    for (contest, region_code), code in claimed.items():
        parts = region_code.split(".")
        if (contest, region_code) in kept:
            problems.append(
                ImportProblem(
                    dapils[code]["line"],
                    f"region {region_code} is already in {contest} dapil {kept[(contest, region_code)]} in the database",
                )
            )
        for depth in range(1, len(parts)):
            ancestor = ".".join(parts[:depth])
            other = claimed.get((contest, ancestor)) or kept.get((contest, ancestor))
            if other is not None and other != code:
                problems.append(
                    ImportProblem(
                        dapils[code]["line"],
                        f"region {region_code} (dapil {code}) lies inside {ancestor}, which is in dapil {other}",
                    )
                )
    for (contest, region_code), code in kept.items():
        for (claimed_contest, claimed_region), new_code in claimed.items():
            if contest == claimed_contest and region_code.startswith(claimed_region + "."):
                problems.append(
                    ImportProblem(
                        dapils[new_code]["line"],
                        f"region {claimed_region} (dapil {new_code}) contains {region_code}, which is in dapil {code} in the database",
                    )
                )
                break
    if problems:
        raise ImportRejected(problems)

    result = ImportResult()
    # First every replaced dapil lets go of its regions, then all are written: regions may move between them.
    to_write: list[tuple[Dapil, list[str]]] = []
    for code, entry in dapils.items():
        dapil = session.scalar(select(Dapil).where(Dapil.code == code))
        if dapil is None:
            dapil = Dapil(code=code, contest=entry["contest"].value, name=entry["name"], within_code=entry["within"])
            session.add(dapil)
            result.inserted += 1
        elif dapil.name == entry["name"] and sorted(r.region_code for r in dapil.regions) == sorted(entry["regions"]):
            result.unchanged += 1
            continue
        else:
            dapil.name, dapil.within_code = entry["name"], entry["within"]
            session.execute(delete(DapilRegion).where(DapilRegion.dapil_id == dapil.id))
            session.expire(dapil, ["regions"])
            result.updated += 1
        to_write.append((dapil, entry["regions"]))
    session.flush()
    rows = [{"dapil_id": d.id, "region_code": r, "contest": d.contest} for d, regions in to_write for r in regions]
    insert_rows(session, DapilRegion.__table__, rows)
    session.flush()
    for prefix in {entry["within"] for entry in dapils.values()}:
        result.tps_ids |= assign_tps_dapils(session, prefix)
    result.details["tps_reassigned"] = len(result.tps_ids)
    return result


def dapil_lookup(session: Session, within: str) -> dict[str, dict[str, int]]:
    """Map contest -> region code -> dapil id for every dapil region under `within`'s province."""
    province = within.split(".")[0]
    rows = session.execute(
        select(DapilRegion.contest, DapilRegion.region_code, DapilRegion.dapil_id).where(
            (DapilRegion.region_code == province) | DapilRegion.region_code.like(province + ".%")
        )
    )
    lookup: dict[str, dict[str, int]] = defaultdict(dict)
    for contest, region_code, dapil_id in rows:
        lookup[contest][region_code] = dapil_id
    return lookup


def dapil_for_region(lookup: dict[str, dict[str, int]], contest: str, desa_code: str) -> int | None:
    """The dapil covering a desa: the most specific listed region (desa, kecamatan, kab, province)."""
    by_region = lookup.get(contest, {})
    parts = desa_code.split(".")
    for depth in range(len(parts), 0, -1):
        dapil_id = by_region.get(".".join(parts[:depth]))
        if dapil_id is not None:
            return dapil_id
    return None


def assign_tps_dapils(session: Session, prefix: str) -> set[int]:
    """Derive each TPS's dapil per contest, under a region prefix, from the dapil regions.

    Links given by KPU's TPS table (source "kpu") are never overridden; derived links are added,
    corrected or removed to match the dapil table. Returns the ids of TPS whose links changed.
    """
    lookup = dapil_lookup(session, prefix)
    tps_rows = session.execute(
        select(Site.id, Site.region_code).where(
            Site.kind == SiteKind.TPS.value,
            (Site.region_code == prefix) | Site.region_code.like(prefix + ".%"),
        )
    ).all()
    have: dict[tuple[int, str], tuple[int, str]] = {}
    for chunk in chunks([site_id for site_id, _ in tps_rows]):
        for site_id, contest, dapil_id, source in session.execute(
            select(TpsDapil.site_id, TpsDapil.contest, TpsDapil.dapil_id, TpsDapil.source).where(
                TpsDapil.site_id.in_(chunk)
            )
        ):
            have[(site_id, contest)] = (dapil_id, source)
    new, changed, gone = [], [], []
    for site_id, region_code in tps_rows:
        for contest in DAPIL_CONTESTS:
            current = have.get((site_id, contest.value))
            if current is not None and current[1] == "kpu":
                continue
            dapil_id = dapil_for_region(lookup, contest.value, region_code)
            if current is None and dapil_id is not None:
                new.append({"site_id": site_id, "contest": contest.value, "dapil_id": dapil_id, "source": "derived"})
            elif current is not None and dapil_id is None:
                gone.append((site_id, contest.value))
            elif current is not None and current[0] != dapil_id:
                changed.append((site_id, contest.value, dapil_id))
    insert_rows(session, TpsDapil.__table__, new)
    for site_id, contest, dapil_id in changed:
        session.execute(
            update(TpsDapil).where(TpsDapil.site_id == site_id, TpsDapil.contest == contest).values(dapil_id=dapil_id)
        )
    for site_id, contest in gone:
        session.execute(delete(TpsDapil).where(TpsDapil.site_id == site_id, TpsDapil.contest == contest))
    session.flush()
    touched = {row["site_id"] for row in new} | {c[0] for c in changed} | {g[0] for g in gone}
    if touched:  # bulk statements bypass the ORM: reload any TPS dapil lists already in the session
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Site):
                session.expire(obj, ["dapils"])
    return touched


# --- TPS ---------------------------------------------------------------------------------------

TPS_DAPIL_COLUMNS = {
    "dapil_dpr": Contest.DPR,
    "dapil_dpd": Contest.DPD,
    "dapil_dprd_prov": Contest.DPRD_PROV,
    "dapil_dprd_kab": Contest.DPRD_KAB,
}


def parse_tps_code(raw: str) -> tuple[str, int] | None:
    """KPU's TPS code: the 10-digit desa code and a 3-digit number (3175041001001) -> (desa, n)."""
    raw = raw.strip().removeprefix("TPS-")
    if len(raw) != 13 or not raw.isascii() or not raw.isdigit() or int(raw[10:]) == 0:
        return None
    return dotted_code(raw[:10]), int(raw[10:])


def import_tps(session: Session, source: ImportSource) -> ImportResult:
    """Load KPU's TPS table (`kode_tps,nama,dpt` and optional `alamat`, `gln`, `dapil_*` columns).

    Creates or updates TPS sites, the PPS > PPK > warehouse sites above them, and their dapil.
    """
    problems: list[ImportProblem] = []
    parsed: list[dict] = []
    seen: dict[str, int] = {}
    seen_gln: dict[str, int] = {}
    dapil_by_code = {d.code: d for d in session.scalars(select(Dapil))}
    for line, row in read_csv(source, ("kode_tps", "nama", "dpt")):
        if _unreadable(line, row, problems):
            continue
        parsed_code = parse_tps_code(row["kode_tps"])
        if parsed_code is None:
            problems.append(
                ImportProblem(
                    line,
                    f"kode_tps '{shown(row['kode_tps'])}' must be 13 digits: the 10-digit desa code and a TPS number 001-999",
                )
            )
            continue
        desa, number = parsed_code
        key = site_code(SiteKind.TPS, desa, number)
        if key in seen:
            problems.append(ImportProblem(line, f"TPS {row['kode_tps']} already appears on line {seen[key]}"))
            continue
        seen[key] = line
        if not re.fullmatch(r"[0-9]{1,4}", row["dpt"]):
            problems.append(ImportProblem(line, f"dpt '{shown(row['dpt'])}' is not a whole number"))
            continue
        dpt = int(row["dpt"])
        if not 0 <= dpt <= MAX_DPT_PER_TPS:
            problems.append(ImportProblem(line, f"dpt {dpt} is outside 0-{MAX_DPT_PER_TPS}"))
            continue
        # KPU's files write a lone "-" for "no address": that is an empty alamat, not a formula.
        address = "" if row.get("alamat", "").strip() == "-" else row.get("alamat", "")
        reason = text_problem("nama", row["nama"], _limit(Site.name)) or text_problem(
            "alamat", address, _limit(Site.address)
        )
        if reason:
            problems.append(ImportProblem(line, reason))
            continue
        gln = row.get("gln", "").strip() or None
        if gln is not None:
            if reason := gln_problem(gln):
                problems.append(ImportProblem(line, reason))
                continue
            if gln in seen_gln:
                problems.append(ImportProblem(line, f"GLN {gln} already appears on line {seen_gln[gln]}"))
                continue
            seen_gln[gln] = line
        links = {}
        for column, contest in TPS_DAPIL_COLUMNS.items():
            value = row.get(column, "")
            if not value:
                continue
            dapil = dapil_by_code.get(value)
            if dapil is None or dapil.contest != contest.value:
                problems.append(ImportProblem(line, f"{column} '{shown(value)}' is not a known {contest} dapil"))
                break
            if not (desa == dapil.within_code or desa.startswith(dapil.within_code + ".")):
                problems.append(
                    ImportProblem(line, f"{column} '{value}' lies in {dapil.within_code}, not around desa {desa}")
                )
                break
            links[contest.value] = dapil.id
        else:
            parsed.append(
                {
                    "line": line,
                    "kode_tps": row["kode_tps"],
                    "desa": desa,
                    "number": number,
                    "name": row["nama"] or f"TPS {number:03d}",
                    "dpt": dpt,
                    "address": address or None,
                    "links": links,
                    "gln": gln,
                }
            )
    # Desa codes are looked up once, for the rows that are otherwise right (a 10-digit code is a desa's).
    desa_codes = stored_regions(session, (entry["desa"] for entry in parsed))
    for entry in parsed:
        if entry["desa"] not in desa_codes:
            message = f"desa {entry['desa']} of TPS {entry['kode_tps']} is not a known desa/kelurahan"
            problems.append(ImportProblem(entry["line"], message))
    # An imported GLN another site already has is refused (a TPS keeps its own on a repeated import).
    wanted = {entry["gln"]: entry for entry in parsed if entry["gln"]}
    for chunk in chunks(list(wanted)):
        for taken, holder in session.execute(select(Site.gln, Site.code).where(Site.gln.in_(chunk))):
            entry = wanted[taken]
            if holder != site_code(SiteKind.TPS, entry["desa"], entry["number"]):
                problems.append(ImportProblem(entry["line"], f"GLN {taken} already belongs to site {holder}"))
    if problems:
        raise ImportRejected(sorted(problems, key=lambda problem: problem.line))

    result = ImportResult()
    route = RouteSites(session)
    existing: dict[str, Site] = {}
    for chunk in chunks([site_code(SiteKind.TPS, p["desa"], p["number"]) for p in parsed]):
        existing.update((s.code, s) for s in session.scalars(select(Site).where(Site.code.in_(chunk))))
    changed: list[Site] = []
    for entry in parsed:
        code = site_code(SiteKind.TPS, entry["desa"], entry["number"])
        site = existing.get(code)
        if site is None:
            parent = route.for_region(session.get(Region, entry["desa"]))
            site = Site(
                code=code,
                kind=SiteKind.TPS.value,
                name=entry["name"],
                region_code=entry["desa"],
                parent=parent,
                tps_number=entry["number"],
                dpt=entry["dpt"],
                address=entry["address"],
                gln=entry["gln"],
            )
            session.add(site)
            result.inserted += 1
            changed.append(site)
        elif (site.name, site.dpt, site.address) != (entry["name"], entry["dpt"], entry["address"]):
            if site.dpt != entry["dpt"]:
                changed.append(site)
            site.name, site.dpt, site.address = entry["name"], entry["dpt"], entry["address"]
            result.updated += 1
        else:
            result.unchanged += 1
        if entry["gln"] and site.gln != entry["gln"]:  # an imported GLN wins over the one given from the id
            site.gln = entry["gln"]
        for contest, dapil_id in entry["links"].items():
            link = next((d for d in site.dapils if d.contest == contest), None)
            if link is None:
                site.dapils.append(TpsDapil(contest=contest, dapil_id=dapil_id, source="kpu"))
                changed.append(site)
            elif (link.dapil_id, link.source) != (dapil_id, "kpu"):
                link.dapil_id, link.source = dapil_id, "kpu"
                changed.append(site)
    session.flush()
    result.tps_ids = {site.id for site in changed}
    for prefix in {entry["desa"][:5] for entry in parsed}:
        result.tps_ids |= assign_tps_dapils(session, prefix)
    return result
