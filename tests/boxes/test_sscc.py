"""SSCC identity: GS1 check digits and allocation that never reuses a serial."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from webapp.boxes.models import SsccCounter
from webapp.boxes.services import allocate_ssccs, gs1_check_digit, is_valid_sscc, make_sscc


@pytest.mark.parametrize(
    "sscc",
    [
        "106141412345678908",  # GS1 Digital Link standard's example SSCC
        "376104250021234569",  # GS1 General Specifications, GS1-128 example
        "006141411234567890",  # GS1 General Specifications, SSCC example
    ],
)
def test_check_digit_matches_gs1_examples(sscc):
    assert gs1_check_digit(sscc[:17]) == int(sscc[17])
    assert is_valid_sscc(sscc)


def test_gtin_example_uses_the_same_algorithm():
    assert gs1_check_digit("629104150021") == 3  # GS1 check digit calculator example, GTIN-13


@pytest.mark.parametrize("bad", ["106141412345678907", "10614141234567890", "1061414123456789O8", ""])
def test_typos_are_caught(bad):
    assert not is_valid_sscc(bad)


def test_make_sscc_pads_the_serial_to_seventeen_digits():
    assert make_sscc(1, "0614141", 234567890) == "106141412345678908"
    with pytest.raises(ValueError):
        make_sscc(0, "0614141", 10**9)
    with pytest.raises(ValueError):
        make_sscc(10, "0614141", 1)


def test_allocation_continues_and_never_reuses(session):
    first = allocate_ssccs(session, 3, extension=0, company_prefix="8990001")
    second = allocate_ssccs(session, 2, extension=0, company_prefix="8990001")
    assert [s[8:17] for s in first + second] == ["000000001", "000000002", "000000003", "000000004", "000000005"]
    assert all(is_valid_sscc(s) for s in first + second)
    other = allocate_ssccs(session, 1, extension=3, company_prefix="8990001")
    assert other[0].startswith("38990001") and other[0][8:17] == "000000001"
    assert session.scalar(select(SsccCounter.next_serial).where(SsccCounter.prefix == "08990001")) == 6
    assert allocate_ssccs(session, 0, extension=0, company_prefix="8990001") == []
