"""Indonesia's three time zones, and a moment written in the zone of the place it happened.

Times are kept in UTC (the ledger, every table). A person reads them in the zone of the site concerned:
WIB (UTC+7) in Sumatra, Java and West and Central Kalimantan, WITA (UTC+8) in Bali, Nusa Tenggara, the rest
of Kalimantan and Sulawesi, WIT (UTC+9) in Maluku and Papua. None of them has daylight saving, so a fixed
offset is exact. A place the code cannot place (a printer outside the regional hierarchy) reads WIB, the
zone of the election's calendar (BABEL_DEFAULT_TIMEZONE). "Today" at a site is its local calendar day, so a
PPK in Makassar starts its day an hour before one in Jakarta."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

OFFSETS = {"WIB": 7, "WITA": 8, "WIT": 9}
DEFAULT_ZONE = "WIB"
# Provinces by their Kemendagri code (the first two digits of every region and site code below them).
WITA_PROVINCES = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})
WIT_PROVINCES = frozenset({"81", "82", "91", "92", "93", "94", "95", "96"})
FORMAT = "%d-%m-%Y %H:%M"


def zone_of_province(province: str | None) -> str:
    """WIB, WITA or WIT for a two-digit province code (WIB for an unknown one)."""
    if province in WITA_PROVINCES:
        return "WITA"
    if province in WIT_PROVINCES:
        return "WIT"
    return DEFAULT_ZONE


def _province(where) -> str | None:
    """The province of a site, a region, or a code (region `31.75`, KPU `3175`, site `KPU-3175`)."""
    if where is None:
        return None
    region_code = getattr(where, "region_code", None)
    if region_code:
        return region_code[:2]
    code = getattr(where, "code", where)
    if not isinstance(code, str):
        return None
    digits = re.sub(r"^[A-Za-z]+[-:]", "", code.removeprefix("site:"))
    return digits[:2] if re.match(r"\d{2}", digits) and len(digits.replace(".", "")) >= 2 else None


def zone_of(where) -> str:
    """The zone's name (WIB, WITA, WIT) of a site, region or code; WIB when it cannot be placed."""
    return zone_of_province(_province(where))


def local_time(moment: datetime | None, where=None, *, seconds: bool = False) -> str:
    """A UTC moment as a person at `where` reads it: `27-11-2026 14:05 WIB` (empty for no moment). A naive
    moment is UTC (SQLite hands them back so)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = zone_of(where)
    local = moment.astimezone(timezone(timedelta(hours=OFFSETS[zone])))
    return f"{local.strftime(FORMAT + (':%S' if seconds else ''))} {zone}"


def init_app(app) -> None:
    """`{{ moment|local_time(site) }}` in templates."""
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["local_time"] = local_time


@dataclass(frozen=True)
class Zone:
    """One of the three zones: its name on a clock and its offset from UTC."""

    name: str
    hours: int

    @property
    def tzinfo(self) -> timezone:
        return timezone(timedelta(hours=self.hours), self.name)


ZONES = {name: Zone(name, hours) for name, hours in OFFSETS.items()}
WIB, WITA, WIT = ZONES["WIB"], ZONES["WITA"], ZONES["WIT"]


def province_zone(province: str | None) -> Zone:
    """The zone of a province code ("73" -> WITA); unknown or missing -> WIB."""
    return ZONES[zone_of_province(province)]


def site_zone(site) -> Zone:
    """The zone a site keeps its clock in."""
    return ZONES[zone_of(site)]


def local_day(zone: Zone, now: datetime | None = None) -> tuple[date, datetime, datetime]:
    """Today in `zone`, with its start and end as UTC moments (start inclusive, end exclusive)."""
    now = now or datetime.now(UTC)
    day = now.astimezone(zone.tzinfo).date()
    start = datetime.combine(day, time(0), zone.tzinfo).astimezone(UTC)
    return day, start, start + timedelta(days=1)
