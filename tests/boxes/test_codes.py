"""The code parser accepts every label form and refuses everything else (shared vectors with the phone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webapp.boxes.codes import CodeError, parse_code

VECTORS = json.loads((Path(__file__).parent / "code_vectors.json").read_text())


@pytest.mark.parametrize(("raw", "sscc"), VECTORS["valid"])
def test_accepted_forms(raw, sscc):
    assert parse_code(raw) == sscc


@pytest.mark.parametrize("raw", VECTORS["check_digit"])
def test_misreads_are_caught_by_the_check_digit(raw):
    with pytest.raises(CodeError) as caught:
        parse_code(raw)
    assert caught.value.kind == "check_digit"


@pytest.mark.parametrize("raw", VECTORS["not_a_label"])
def test_foreign_codes_are_not_labels(raw):
    with pytest.raises(CodeError) as caught:
        parse_code(raw)
    assert caught.value.kind == "not_a_label"
