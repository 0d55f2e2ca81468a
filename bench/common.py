"""What the benchmarks share."""

from __future__ import annotations

import http.client
import time


def wait_for_server(port: int, seconds: float = 60) -> None:
    """Until the app on 127.0.0.1:port answers /healthz (gunicorn starting)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not start")
