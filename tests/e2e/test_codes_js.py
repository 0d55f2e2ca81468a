"""The phone's code parser (static/js/codes.js) gives the server's answers on every shared vector."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page

VECTORS = json.loads((Path(__file__).parent.parent / "boxes" / "code_vectors.json").read_text())


def test_the_javascript_parser_agrees_with_the_shared_vectors(page: Page):
    page.goto("/login")
    results = page.evaluate(
        """async (vectors) => {
            const { parseCode } = await import("/static/js/codes.js");
            const answer = (code) => {
                try { return ["ok", parseCode(code)]; } catch (error) { return [error.kind || String(error), null]; }
            };
            return {
                valid: vectors.valid.map(([code]) => answer(code)),
                check_digit: vectors.check_digit.map(answer),
                not_a_label: vectors.not_a_label.map(answer),
            };
        }""",
        VECTORS,
    )
    assert results["valid"] == [["ok", sscc] for _code, sscc in VECTORS["valid"]]
    assert results["check_digit"] == [["check_digit", None]] * len(VECTORS["check_digit"])
    assert results["not_a_label"] == [["not_a_label", None]] * len(VECTORS["not_a_label"])
