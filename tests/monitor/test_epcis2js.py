"""Cross-check with an implementation Jejak's authors did not write: GS1 France's EPCIS 2.0 SDK epcis2.js
(npm, pinned in tools/epcis2js/package-lock.json, installed there by `make setup` when npm is present)
computes the same event hash ID as each eventID of the export, for every kind of event."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.monitor.test_epcis import DATA, _export, full_ledger  # noqa: F401  (the fixture)
from webapp.exports.event_hash import event_hash_id

TOOL = Path(__file__).parent.parent.parent / "tools" / "epcis2js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed: epcis2.js cannot run"),
    pytest.mark.skipif(
        not (TOOL / "node_modules" / "epcis2.js").is_dir(),
        reason="epcis2.js is not installed in tools/epcis2js (make setup installs it when npm is present)",
    ),
]


def epcis2js_hashes(document_text: str) -> list[str]:
    """epcis2.js's eventToHashedId for each event of the document, in order."""
    done = subprocess.run(
        [NODE, "hash.js"], cwd=TOOL, input=document_text, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.split()


def test_epcis2js_computes_each_exported_event_id(client, world, full_ledger):  # noqa: F811
    text, document = _export(client, world)
    events = document["epcisBody"]["eventList"]
    assert len(events) > 15 and {e["type"] for e in events} == {"ObjectEvent", "AggregationEvent"}
    assert epcis2js_hashes(text) == [e["eventID"] for e in events]


def test_epcis2js_loads_and_validates_the_export(client, world, full_ledger):  # noqa: F811
    """The SDK's own validator (GS1's schema and each event by its type) takes the whole export, and its
    EPCISDocument class loads every event."""
    text, document = _export(client, world)
    checked = subprocess.run(
        [NODE, "validate.js"], cwd=TOOL, input=text, capture_output=True, text=True, timeout=120, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.split() == ["valid", str(len(document["epcisBody"]["eventList"]))]
    # and it refuses what is not EPCIS: the check can fail
    broken = json.loads(text)
    broken["epcisBody"]["eventList"][0]["action"] = "SHIPPED"
    refused = subprocess.run(
        [NODE, "validate.js"], cwd=TOOL, input=json.dumps(broken), capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1 and refused.stdout.startswith("invalid")


def test_epcis2js_agrees_with_ours_on_the_published_examples():
    """On the reference implementation's example events that ours covers, epcis2.js and ours agree, except
    where epcis2.js differs from the reference's published values, which ours matches: an SSCC given as
    an EPC URN (`urn:epc:id:sscc:...`; Jejak writes SSCCs as Digital Links) and nested extension fields
    (an object or list under an extension name; Jejak exports none)."""
    checked = 0
    for path in sorted((DATA / "hash-examples").glob("*.jsonld")):
        document = json.loads(path.read_text())
        theirs = epcis2js_hashes(path.read_text())
        for index, event in enumerate(document["epcisBody"]["eventList"]):
            nested = any(":" in key and isinstance(value, dict | list) for key, value in event.items())
            if (
                not nested
                and "urn:epc:id:sscc:" not in json.dumps(event)
                and not {"quantityList", "childQuantityList", "ilmd", "transformationID"} & set(event)
            ):
                assert theirs[index] == event_hash_id(event, document["@context"]), (path.name, index)
                checked += 1
    assert checked == 2  # an sgtin ObjectEvent with a bizTransaction, a TransactionEvent with bizLocation
