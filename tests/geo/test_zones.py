"""Times read in the zone of the place they happened: WIB, WITA or WIT, never UTC on a page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp.geo.models import Site
from webapp.geo.zones import local_time, zone_of

MOMENT = datetime(2026, 11, 27, 7, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            Site(code="PPK-917101", kind="ppk", name="PPK Jayapura Selatan", region_code="91.71.01"),
            "27-11-2026 16:05 WIT",
        ),
        (
            Site(code="KPU-5171", kind="warehouse_kab", name="Gudang KPU Denpasar", region_code="51.71"),
            "27-11-2026 15:05 WITA",
        ),
        (
            Site(code="KPU-3175", kind="warehouse_kab", name="Gudang KPU Jakarta Utara", region_code="31.75"),
            "27-11-2026 14:05 WIB",
        ),
        ("site:PPS-7371011001", "27-11-2026 15:05 WITA"),  # a holder as the ledger spells it (Makassar)
        ("82.71", "27-11-2026 16:05 WIT"),  # a region code (Ternate)
        (Site(code="PRN-1", kind="printer", name="Percetakan"), "27-11-2026 14:05 WIB"),  # outside the regions
        (None, "27-11-2026 14:05 WIB"),
    ],
)
def test_a_moment_reads_in_the_zone_of_its_place(where, expected):
    assert local_time(MOMENT, where) == expected


def test_the_zones_follow_the_provinces():
    assert [zone_of(code) for code in ("11", "36", "61", "62", "63", "65", "76", "81", "96")] == [
        "WIB", "WIB", "WIB", "WIB", "WITA", "WITA", "WITA", "WIT", "WIT",
    ]  # fmt: skip


def test_a_naive_moment_is_utc_and_none_is_empty():
    assert local_time(MOMENT.replace(tzinfo=None), "91") == "27-11-2026 16:05 WIT"
    assert local_time(None, "91") == ""


def test_templates_have_the_filter(app):
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ moment|local_time(site) }}")
        assert template.render(moment=MOMENT, site="PPK-917101") == "27-11-2026 16:05 WIT"
