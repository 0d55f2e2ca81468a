"""Every phone page at 360 px: no sideways scrolling, and text that meets WCAG AA contrast (4.5:1, or
3:1 for large text), the verdict screens included: what a warehouse worker reads in the sun."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.phones import log_in

CONTRAST = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === "hidden" || el.closest("[hidden]") || !el.getClientRects().length) continue;
    const fg = parse(style.color).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) failures.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}`);
  }
  return failures;
}
"""


def readable(page: Page, path: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{path} scrolls sideways"
    assert page.evaluate(CONTRAST) == [], path


@pytest.mark.parametrize(
    ("username", "password", "paths"),
    [
        ("gudang", "jejak-gudang", ["/", "/packing", "/stock/KPU-3101", "/cartons", "/labels", "/needs/31.01"]),
        ("petugas", "jejak-petugas", ["/", "/regions", "/search?q=Pulau", "/sites/PPS-3101011001"]),
        ("supervisor", "jejak-supervisor", ["/", "/stock", "/norms", "/dashboard/31.01", "/alerts"]),
    ],
)
def test_pages_read_well_on_a_phone(page: Page, username, password, paths, artifacts):
    page.goto("/login")
    readable(page, "/login")
    log_in(page, username, password)
    for path in paths:
        assert page.goto(path).status == 200, path
        readable(page, path)
        if path.startswith("/dashboard"):
            page.screenshot(path=str(artifacts / "dashboard-360.png"), full_page=True)


def test_the_scanner_and_its_verdict_screens_read_well_in_the_sun(page: Page):
    log_in(page, "petugas", "jejak-petugas")
    page.goto("/scan")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    readable(page, "/scan")
    for kind in ("accepted", "warning", "refused"):
        page.evaluate(
            """(kind) => {
                const screen = document.getElementById("verdict");
                screen.className = `verdict-screen verdict-${kind}`;
                document.getElementById("verdict-word").textContent = kind.toUpperCase();
                document.getElementById("verdict-text").textContent = "Kotak ini untuk TPS 012 Kel. Cipinang";
                screen.hidden = false;
            }""",
            kind,
        )
        readable(page, f"/scan verdict {kind}")
    page.goto("/offline")
    readable(page, "/offline")
    page.goto("/handover")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    readable(page, "/handover")
    page.get_by_role("button", name="Saya menerima kotak").click()
    readable(page, "/handover (receiver)")
