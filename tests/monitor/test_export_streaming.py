"""The ledger download keeps streaming when the client accepts compression (issue 16): Flask-Compress leaves
streamed responses alone (COMPRESS_STREAMS is off), so the file goes out chunk by chunk and verifies."""

from __future__ import annotations

from tests.conftest import login
from tests.custody.conftest import KEY


def test_the_ledger_export_still_streams_uncompressed_and_verifies(client, runner, ledger, tmp_path):
    login(client, ledger.observer.username)
    response = client.get("/api/v1/export/ledger?region=31.01", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Encoding" not in response.headers and "Content-Length" not in response.headers
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b"".join(response.response))  # read as the server sends it, chunk by chunk
    response.close()
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path), "--public-key", KEY.public_text])
    assert result.exit_code == 0, result.output
    assert "20 events" in result.output
