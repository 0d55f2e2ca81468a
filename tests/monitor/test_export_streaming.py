"""The ledger download streams compressed when the client accepts it (issue 16: every response over 1 KB a
browser fetches is compressed), and plain when it does not; either way the file verifies."""

from __future__ import annotations

import gzip

import brotli
import pytest

from tests.conftest import login
from tests.custody.conftest import KEY


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [("br, gzip", "br", brotli.decompress), ("gzip", "gzip", None), ("", None, None)],
)
def test_the_ledger_export_streams_compressed_when_accepted_and_verifies(
    client, runner, ledger, tmp_path, accept, encoding, decode
):
    login(client, ledger.observer.username)
    response = client.get("/api/v1/export/ledger?region=31.01", headers={"Accept-Encoding": accept})
    assert response.status_code == 200 and response.is_streamed
    assert response.headers.get("Content-Encoding") == encoding and "Content-Length" not in response.headers
    body = b"".join(response.response)  # read as the server sends it, chunk by chunk
    response.close()
    if encoding:
        body = (decode or gzip.decompress)(body)
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(body)
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path), "--public-key", KEY.public_text])
    assert result.exit_code == 0, result.output
    assert "20 events" in result.output
