"""The rows fetched at a time from a server-side cursor are one setting, shared by the ledger export and the
verifier: defined in one module, imported by the other."""

from __future__ import annotations

import re
from pathlib import Path

from webapp.custody import export, verification

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"


def test_stream_chunk_is_defined_once_and_imported():
    defined = sorted(
        str(path.relative_to(WEBAPP))
        for path in WEBAPP.rglob("*.py")
        if re.search(r"^STREAM_CHUNK\s*(:[^=]*)?=", path.read_text(encoding="utf-8"), re.M)
    )
    assert defined == ["custody/export.py"]
    assert verification.STREAM_CHUNK is export.STREAM_CHUNK
