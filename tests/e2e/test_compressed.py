"""Every response over 1 KB that a browser fetches is compressed (issue 16), as a phone's Chromium fetches them:
the pages of each role, their scripts, styles and the decoder, the offline box list, the API answers. The
service worker is blocked here so that every response comes over the network, not from its cache."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Response, expect

from tests.e2e.phones import log_in

# Formats that are compressed inside already: a second compression would gain nothing.
PACKED = ("image/png", "image/jpeg", "image/webp", "application/pdf", "font/woff2")


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "service_workers": "block"}


def watch(page: Page) -> list[tuple[str, str, int, str | None]]:
    seen: list[tuple[str, str, int, str | None]] = []

    def record(response: Response) -> None:
        if response.status != 200 or response.request.method != "GET":
            return
        headers = response.all_headers()
        kind = headers.get("content-type", "").split(";")[0]
        try:
            size = len(response.body())
        except Exception:  # a download the page navigated away from: not counted
            return
        seen.append((response.url, kind, size, headers.get("content-encoding")))

    page.on("response", record)
    return seen


@pytest.mark.parametrize(
    ("username", "password", "paths"),
    [
        ("petugas", "jejak-petugas", ["/", "/scan", "/handover", "/sites/PPK-310101/arrivals"]),
        ("supervisor", "jejak-supervisor", ["/", "/dashboard/31.01", "/alerts", "/regions/31.01"]),
        ("gudang", "jejak-gudang", ["/", "/packing", "/labels"]),
    ],
)
def test_every_response_over_a_kilobyte_comes_compressed(page: Page, username, password, paths):
    seen = watch(page)
    log_in(page, username, password)
    for path in paths:
        assert page.goto(path).status == 200, path
        if path in ("/scan", "/handover"):
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
        if path == "/scan":  # the decoder, as the camera fetches it when it starts
            page.evaluate("fetch(document.body.dataset.wasm).then((r) => r.arrayBuffer())")
        page.wait_for_load_state("networkidle")
    big = [(url, kind, size, encoding) for url, kind, size, encoding in seen if size > 1024 and kind not in PACKED]
    assert len(big) >= 10, seen  # pages, scripts, styles, API answers
    plain = [(url, kind, size) for url, kind, size, encoding in big if encoding not in ("br", "gzip")]
    assert not plain, plain
    if "/scan" in paths:  # the phone's box list and the decoder are among them
        assert any("/offline" in url for url, *_ in big) and any(url.endswith(".wasm") for url, *_ in big), big
