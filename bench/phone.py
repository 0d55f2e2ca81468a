"""Benchmark: the phone on a normal and on a slow link (issue 16). Bytes moved and time to scanner-ready.

    .venv/bin/python bench/phone.py                      # its own server on a fresh demo database
    BASE_URL=http://127.0.0.1:8000 .venv/bin/python bench/phone.py   # or a server already running the demo

Headless Chromium (Playwright) at 360 x 800 logs in as the demo's PPK officer (`petugas`, PPK-317501: the
phone's offline box list of that kecamatan) and opens `/scan`:
- first visit: a new phone (empty cache, no service worker) opens the login page, logs in, lands on the home
  page (which installs the service worker) and opens `/scan`: all of it on the link measured;
- second open: the same phone closes the tab and opens `/scan` again, nothing changed on the server;
- after the network returns: the phone opens `/scan` offline (from what it keeps), the network comes back,
  and the scanner catches up (its box list refreshed).
Each on the normal link (loopback) and on the slow profile of the issue: CPU slowed 4x (CDP
Emulation.setCPUThrottlingRate) and a link of 400 ms round trip and 50 KB/s each way.

The link is a proxy in this script between Chromium and the app, so that everything the phone moves is on
it: the page's requests and the service worker's own (CDP's network emulation would throttle the page's
only). It counts the bytes each way (headers included) and shapes them: every chunk waits half the round
trip, and all connections share the 50 KB/s of each direction, as one bar of signal would.

Scanner-ready: the scanner page says `data-ready="true"` on its body and holds a box list
(`data-cached` > 0): from then on a scan is judged on the phone. Also printed: the bytes of the Jakarta
Timur kab/kota box list (KPU-3175's offline list, 31,140 boxes) as the browser downloads it compressed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import wait_for_server  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
APP_PORT = int(os.environ.get("BENCH_PORT", "8791"))
PROXY_PORT = APP_PORT + 1
USER, PASSWORD = "petugas", "jejak-petugas"
SLOW = {"cpu": 4, "rtt": 0.400, "rate": 50 * 1024}
READY_TIMEOUT_MS = 180_000


class Link:
    """One direction of the phone's link: a shared bandwidth (bytes/s, None: unlimited) and a delay."""

    def __init__(self) -> None:
        self.rate: float | None = None
        self.delay = 0.0
        self.free_at = 0.0  # when the link has sent what it was given
        self.moved = 0

    def schedule(self, size: int) -> float:
        """When a chunk given now arrives at the other end."""
        now = time.monotonic()
        self.moved += size
        if self.rate:
            self.free_at = max(now, self.free_at) + size / self.rate
            return self.free_at + self.delay
        return now + self.delay


class Proxy:
    """A TCP proxy on 127.0.0.1:PROXY_PORT to the app, shaping and counting both directions."""

    def __init__(self, target_port: int, port: int) -> None:
        self.target_port, self.port = target_port, port
        self.up, self.down = Link(), Link()
        self.loop = asyncio.new_event_loop()

    def shape(self, profile: dict | None) -> None:
        for link in (self.up, self.down):
            link.rate = profile["rate"] if profile else None
            link.delay = profile["rtt"] / 2 if profile else 0.0

    def moved(self) -> int:
        return self.up.moved + self.down.moved

    async def _pipe(self, reader, writer, link: Link) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while (item := await queue.get()) is not None:
                at, data = item
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(16384):
                queue.put_nowait((link.schedule(len(data)), data))
        except ConnectionError:
            pass
        queue.put_nowait(None)
        await sender

    async def _client(self, reader, writer) -> None:
        await asyncio.sleep(self.up.delay + self.down.delay)  # the connection's own round trip
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, upstream_writer, self.up),
            self._pipe(upstream_reader, writer, self.down),
            return_exceptions=True,
        )

    def start(self) -> None:
        async def serve():
            server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
            async with server:
                await server.serve_forever()

        threading.Thread(target=lambda: self.loop.run_until_complete(serve()), daemon=True).start()
        time.sleep(0.3)


def start_server() -> tuple[str, subprocess.Popen | None]:
    """The app with the demo: BASE_URL if given, else gunicorn on a fresh SQLite database seeded here."""
    if os.environ.get("BASE_URL"):
        return os.environ["BASE_URL"].rstrip("/"), None
    folder = Path(tempfile.mkdtemp(prefix="jejak-phone-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'jejak.db'}",
        "JOBS_URL": f"sqlite:///{folder / 'jobs.db'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{PROXY_PORT}",
    }
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    started = time.perf_counter()
    # The static files' precompressed copies for the files as they are now (make setup builds them too).
    subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "webapp.core.assets"], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed", "demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    print(f"demo seeded in {time.perf_counter() - started:.0f} s ({folder})", flush=True)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{APP_PORT}", "wsgi:app"],
        cwd=ROOT,
        env={**env, "WORKERS": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_server(APP_PORT)
    return f"http://127.0.0.1:{APP_PORT}", server


def ready(page) -> None:
    """Until the scanner says it is ready and holds a box list (read through locators: the CSP forbids the
    eval that wait_for_function needs)."""
    body = page.locator("body")
    body.and_(page.locator("[data-ready=true]")).wait_for(state="attached", timeout=READY_TIMEOUT_MS)
    deadline = time.monotonic() + READY_TIMEOUT_MS / 1000
    while int(body.get_attribute("data-cached") or 0) == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(25)


def settled(proxy: Proxy, page, before: int, began: float, quiet: float = 2.0) -> tuple[int, float]:
    """(bytes, seconds) until the link has been quiet for `quiet` seconds: what the phone moved catching up."""
    last, last_change = proxy.moved(), time.perf_counter()
    while time.perf_counter() - last_change < quiet:
        page.wait_for_timeout(100)
        if proxy.moved() != last:
            last, last_change = proxy.moved(), time.perf_counter()
    return last - before, last_change - began


def throttle_cpu(page, rate: int) -> None:
    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": rate})


def measure(proxy: Proxy, page_of, open_scan) -> tuple[int, float]:
    """(bytes moved on the link, seconds) from before `open_scan` until the scanner is ready."""
    before, began = proxy.moved(), time.perf_counter()
    page = open_scan(page_of())
    ready(page)
    return proxy.moved() - before, time.perf_counter() - began


def run_profile(browser, proxy: Proxy, name: str, profile: dict | None) -> list[tuple[str, str, int, float]]:
    from playwright.sync_api import Page

    base = f"http://127.0.0.1:{PROXY_PORT}"
    context = browser.new_context(
        base_url=base, viewport={"width": 360, "height": 800}, is_mobile=True, has_touch=True, locale="id-ID"
    )
    rows = []
    proxy.shape(profile)

    def scan(p: Page) -> Page:
        if profile:
            throttle_cpu(p, profile["cpu"])
        p.goto("/scan", timeout=READY_TIMEOUT_MS)
        return p

    def log_in_and_scan(p: Page) -> Page:  # the first visit: the login page, then the home page, then /scan
        if profile:
            throttle_cpu(p, profile["cpu"])
        p.goto("/login", timeout=READY_TIMEOUT_MS)
        p.get_by_label("Nama pengguna").fill(USER)
        p.get_by_label("Kata sandi").fill(PASSWORD)
        p.get_by_role("button", name="Masuk").click()
        p.wait_for_url("**/", timeout=READY_TIMEOUT_MS)
        p.goto("/scan", timeout=READY_TIMEOUT_MS)
        return p

    page = context.new_page()
    moved, seconds = measure(proxy, lambda: page, log_in_and_scan)
    rows.append((name, "first visit", moved, seconds))
    moved, seconds = settled(proxy, page, proxy.moved(), time.perf_counter())  # the worker installs, lists refresh
    rows.append((name, "  then, until the link rests", moved, seconds))
    page.close()

    page = context.new_page()
    moved, seconds = measure(proxy, lambda: page, scan)
    rows.append((name, "second open", moved, seconds))
    moved, seconds = settled(proxy, page, proxy.moved(), time.perf_counter())
    rows.append((name, "  then, until the link rests", moved, seconds))
    page.close()

    context.set_offline(True)
    page = context.new_page()
    scan(page)
    ready(page)
    page.wait_for_timeout(1000)
    before, began = proxy.moved(), time.perf_counter()
    context.set_offline(False)
    moved, seconds = settled(proxy, page, before, began)
    rows.append((name, "network returns", moved, seconds))
    context.close()
    return rows


def list_bytes(base: str) -> None:
    """The kab/kota box list as a browser downloads it (Accept-Encoding: gzip, deflate, br)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        request = playwright.request.new_context(base_url=base)
        login = request.get("/login")
        token = login.text().split('name="csrf_token" value="')[1].split('"')[0]
        request.post("/login", form={"username": "gudang", "password": "jejak-gudang", "csrf_token": token})
        response = request.get(
            "/api/v1/sites/KPU-3175/offline", headers={"Accept-Encoding": "gzip, deflate, br"}, max_redirects=0
        )
        headers = response.headers
        raw = int(headers.get("content-length") or 0)
        print(
            f"KPU-3175 offline list: HTTP {response.status}, Content-Encoding {headers.get('content-encoding')!r}, "
            f"{raw:,} bytes on the wire (Content-Length), {len(response.body()):,} bytes decoded",
            flush=True,
        )
        request.dispose()


def main() -> None:
    from playwright.sync_api import sync_playwright

    base, server = start_server()
    proxy = Proxy(int(base.rsplit(":", 1)[1]), PROXY_PORT)
    proxy.start()
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            for name, profile in (("normal", None), ("slow", SLOW)):
                rows += run_profile(browser, proxy, name, profile)
            browser.close()
        list_bytes(base)
    finally:
        if server:
            server.terminate()
            server.wait()
    print(f"\n{'link':8} {'open':26} {'bytes moved':>12} {'seconds':>8}")
    for name, what, moved, seconds in rows:
        print(f"{name:8} {what:26} {moved:>12,} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
