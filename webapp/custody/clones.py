"""Cloned labels: one label seen at two places farther apart than any vehicle could go between the scans."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context

from webapp.custody.event import utc_text


@dataclass(frozen=True)
class Sighting:
    """A box seen at a place (a scan's GPS fix) at a time."""

    lat: float
    lon: float
    at: datetime
    site: str


def km_between(a: Sighting, b: Sighting) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    dlat, dlon = math.radians(b.lat - a.lat), math.radians(b.lon - a.lon)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(a.lat)) * math.cos(math.radians(b.lat)) * math.sin(dlon / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def clone_check(before: Sighting | None, now: Sighting, max_kmh: float, min_km: float) -> dict | None:
    """The details of a cloned-label alert when one label was seen at two places farther apart than a
    vehicle could go in the time between the scans (and farther than GPS error); None otherwise."""
    if before is None:
        return None
    km = km_between(before, now)
    hours = abs((now.at - before.at).total_seconds()) / 3600
    if km <= min_km or km <= max_kmh * hours:
        return None
    return {
        "km": round(km, 1),
        "minutes": round(hours * 60, 1),
        "kmh_needed": round(km / hours) if hours else None,
        "max_kmh": max_kmh,
        "seen_before": {"site": before.site, "at": utc_text(before.at), "lat": before.lat, "lon": before.lon},
        "seen_now": {"site": now.site, "at": utc_text(now.at), "lat": now.lat, "lon": now.lon},
    }


def clone_limits() -> tuple[float, float]:
    config = current_app.config if has_app_context() else {}
    return float(config.get("CLONE_MAX_KMH", 150)), float(config.get("CLONE_MIN_KM", 20))
