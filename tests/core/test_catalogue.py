"""Bahasa Indonesia first: every text a person can see is in the catalogue, translated, and the refusals
services raise (handovers, alerts, photos) go through it rather than reaching people in English."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "webapp" / "translations" / "id" / "LC_MESSAGES" / "messages.po"
CODED = {"HandoverError", "AlertError"}  # raised as (code, message)
PLAIN = {"PhotoError", "AccountError"}  # raised as (message)


def test_the_indonesian_catalogue_translates_every_message_of_the_code(tmp_path):
    """Extracted afresh from the code and templates: nothing missing from the catalogue, nothing empty."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot),
         "--no-location", "--sort-output", "--project", "Jejak", "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as extracted, PO.open("rb") as indonesian:
        wanted = {m.id for m in read_po(extracted) if m.id}
        catalogue = {m.id: m.string for m in read_po(indonesian) if m.id}
    untranslated = sorted(
        str(i) for i in wanted if not catalogue.get(i) or (isinstance(catalogue[i], tuple) and not all(catalogue[i]))
    )
    assert untranslated == []


def _message_arg(call: ast.Call) -> ast.AST | None:
    name = call.func.id if isinstance(call.func, ast.Name) else None
    if name in CODED and len(call.args) >= 2:
        return call.args[1]
    if name in PLAIN and call.args:
        return call.args[0]
    return None


def test_refusals_raised_by_services_are_translated_text():
    """A refusal's message is a gettext call (or a name bound to one), never an English literal."""
    english = []
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                message = _message_arg(node.exc)
                if isinstance(message, ast.Constant | ast.JoinedStr):
                    english.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert english == []
