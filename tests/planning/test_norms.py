"""Norms: a TPS's needs are computed from the catalogue, never typed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from webapp.planning.models import ItemType
from webapp.planning.services import box_contents, default_catalogue


def ballots(reserve="2.0"):
    return ItemType(
        code="SS",
        name="Surat suara",
        unit="lembar",
        contest="DPR",
        basis="per_voter",
        quantity=1,
        reserve_pct=Decimal(reserve),
    )


@pytest.mark.parametrize(("dpt", "expected"), [(300, 306), (250, 255), (1, 2), (0, 0), (299, 305), (51, 53)])
def test_ballots_are_dpt_plus_two_percent_rounded_up(dpt, expected):
    assert ballots().need_for(dpt) == expected


def test_pilkada_reserve_is_two_and_a_half_percent():
    assert ballots("2.5").need_for(300) == 308  # 307.5 rounded up


def test_per_tps_and_per_box_norms():
    booth = ItemType(code="B", name="Bilik", unit="buah", basis="per_tps", quantity=4, reserve_pct=Decimal(0))
    box = ItemType(code="K", name="Kotak", unit="buah", basis="per_box", quantity=1, reserve_pct=Decimal(0))
    assert booth.need_for(300) == 4
    assert box.need_for(300, boxes=4) == 4 and box.need_for(300, boxes=5) == 5


def test_box_contents_take_only_packed_items_of_the_contest():
    items = [ItemType(id=i, **row) for i, row in enumerate(default_catalogue())]
    dpr = {need.item.code: need.quantity for need in box_contents(items, "DPR", 280, 4)}
    assert dpr == {"SURAT_SUARA_DPR": 286, "FORMULIR_DPR": 1, "SAMPUL_DPR": 8}
    presiden = {need.item.code for need in box_contents(items, "PRESIDEN", 280, 4)}
    assert {"TINTA", "SEGEL", "SURAT_SUARA_PRESIDEN"} <= presiden and "BILIK_SUARA" not in presiden
