"""docs/architecture.md names only what exists: every package, module and file it names is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return DOC.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_every_package_and_its_modules_exist():
    missing = []
    for row in _section("Packages").splitlines():
        if not row.startswith("| `"):
            continue
        package, owns = (cell.strip() for cell in row.strip("|").split("|", 1))
        folder = WEBAPP / package.strip("`")
        if not folder.is_dir():
            missing.append(str(folder))
        for name in re.findall(r"`([a-z_]+\.py)`", owns):
            if not (folder / name).is_file():
                missing.append(str(folder / name))
    assert missing == []


def test_every_package_of_the_app_is_on_the_map():
    mapped = set(re.findall(r"^\| `([a-z_]+)/`", _section("Packages"), re.M))
    packages = {p.name for p in WEBAPP.iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"translations"} == mapped


def test_every_ledger_module_exists_and_every_one_is_listed():
    listed = set(re.findall(r"^\| `([a-z_]+\.py)`", _section("The ledger"), re.M))
    assert all((WEBAPP / "custody" / name).is_file() for name in listed)
    kept_elsewhere = {"__init__.py", "models.py", "views.py", "cli.py", "handovers.py", "bast.py", "photos.py"}
    assert {p.name for p in (WEBAPP / "custody").glob("*.py")} - kept_elsewhere == listed


def test_every_path_named_on_the_way_of_a_scan_exists():
    text = _section("The way of a scan") + _section("Rules of the house")
    paths = set(re.findall(r"`((?:static|tests|webapp|migrations|docs)?/?[a-z_/]+/[a-z_]+\.(?:py|js|md))`", text))
    assert paths
    missing = [p for p in paths if not (ROOT / p).is_file() and not (WEBAPP / p).is_file()]
    assert missing == []
