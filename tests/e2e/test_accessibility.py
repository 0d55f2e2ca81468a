"""Usable by everyone, on a 360 px phone: axe-core finds no violation on the pages people use, primary actions are
at least 44 px tall and stand-alone links at least 24 px (WCAG 2.2 target size), and on the scanner the camera
and the code field are above the fold at 360x800.

axe-core is vendored under tests/e2e/vendor/ (a test tool: the app never serves it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.phones import log_in
from tests.e2e.test_handover import commission
from webapp.boxes.models import Box
from webapp.custody.models import Alert
from webapp.extensions import db

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"

# Every rule axe runs by default, plus WCAG 2.2's target size (off by default in axe 4.x).
RUN_AXE = """
async () => {
  const result = await axe.run(document, {rules: {"target-size": {enabled: true}}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary.replace(/\\s+/g, " ")}`),
  }));
}
"""

# Visible buttons and links in the page (the language switch in the footer included); a link inside a sentence
# is exempt (WCAG 2.5.8 "inline"), as is the skip link until it is focused.
TARGETS = """
() => {
  const small = [];
  const visible = (el) => {
    const s = getComputedStyle(el);
    return s.visibility !== "hidden" && !el.closest("[hidden]") && el.getClientRects().length > 0;
  };
  const inline = (el) => {
    const block = el.parentElement.closest("p, li, td, th, dd, dt, div, span, figcaption, label, small");
    if (!block) return false;
    return [...block.childNodes].some((n) =>
      n !== el && !n.contains?.(el) && (n.nodeType === 3 ? n.textContent.trim() : n.tagName !== "BR" && !n.matches("a, button, .button") && n.textContent.trim()));
  };
  for (const el of document.querySelectorAll("button, .button, input[type=submit], a[href]")) {
    if (!visible(el) || el.classList.contains("skip")) continue;
    const box = el.getBoundingClientRect();
    const label = `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${el.textContent.trim().slice(0, 30)}"`;
    const primary = el.matches("button, .button, input[type=submit]") && !el.matches(".link");
    if (primary && box.height < 44) small.push(`${label}: ${box.height.toFixed(1)} px tall, needs 44`);
    else if (!primary && !inline(el) && box.height < 24) small.push(`${label}: ${box.height.toFixed(1)} px tall, needs 24`);
  }
  return small;
}
"""


def axe_violations(page: Page) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE)
    return [f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found]


def check(page: Page, path: str) -> list[str]:
    """What is wrong on the page now, readably: axe's violations and targets that are too small."""
    problems = axe_violations(page)
    problems += page.evaluate(TARGETS)
    return [f"{path}: {p}" for p in problems]


def report(problems: list[str]) -> str:
    return f"{len(problems)} accessibility problem(s):\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The app's Content-Security-Policy forbids the injected axe script; only these tests' browser ignores it."""
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture(scope="module")
def sscc(live_app) -> str:
    """A sealed box, and two open alerts about it and its TPS, so that /alerts lists what a supervisor sees."""
    [code] = commission(live_app, 1)
    with live_app.app_context():
        box = db.session.scalar(select(Box).where(Box.sscc == code))
        tps = box.destination
        now = datetime.now(UTC)
        deadline = (now + timedelta(days=2)).date().isoformat()
        db.session.add_all(
            [
                Alert(kind="damaged", state="open", box_id=box.id, site_id=tps.id, details={}, created_at=now),
                Alert(
                    kind="overdue",
                    state="open",
                    site_id=tps.id,
                    details={"direction": "out", "level": "tps", "deadline": deadline, "boxes": 3},
                    created_at=now,
                ),
            ]
        )
        db.session.commit()
    return code


def test_the_login_page_and_the_public_box_page(page: Page, sscc, artifacts):
    problems = []
    page.goto("/login")
    problems += check(page, "/login")
    assert page.goto(f"/00/{sscc}").status == 200
    expect(page.locator("#ledger-check")).not_to_have_attribute("data-state", "checking")
    problems += check(page, f"/00/{sscc}")
    page.screenshot(path=str(artifacts / "a11y-public-box-360.png"), full_page=True)
    assert not problems, report(problems)


@pytest.mark.parametrize(
    ("username", "password", "paths"),
    [
        ("gudang", "jejak-gudang", ["/", "/packing", "/labels", "/stock/KPU-3101", "/needs/31.01"]),
        ("petugas", "jejak-petugas", ["/", "/scan", "/handover", "/sites/PPS-3101011001/arrivals"]),
        ("supervisor", "jejak-supervisor", ["/", "/dashboard/31.01", "/boxes/{sscc}", "/alerts", "/regions/31.01"]),
    ],
)
def test_no_violations_and_targets_big_enough(page: Page, username, password, paths, sscc, artifacts):
    log_in(page, username, password)
    problems = []
    for path in paths:
        path = path.format(sscc=sscc)
        assert page.goto(path).status == 200, path
        if path in ("/scan", "/handover"):
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
        problems += check(page, path)
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(artifacts / f"a11y-{username}-{name}-360.png"), full_page=True)
    assert not problems, report(problems)


def test_the_camera_and_the_code_field_are_above_the_fold_at_360x800(browser, browser_context_args, artifacts):
    page = browser.new_context(**{**browser_context_args, "viewport": {"width": 360, "height": 800}}).new_page()
    log_in(page, "petugas", "jejak-petugas", "/scan")
    page.screenshot(path=str(artifacts / "a11y-scan-360x800.png"))

    def above_the_fold(selector: str) -> None:
        box = page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not shown"
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, f"{selector} is below the fold: {box}"

    for selector in ("#code", "#camera-start", "button[type=submit]"):
        above_the_fold(selector)
    # The camera on, as static/js/scan/camera.js shows it (there is no camera here): the viewfinder and its
    # stop button are in view too, with the code field.
    page.evaluate(
        """() => {
            document.getElementById("video").hidden = false;
            document.getElementById("camera-start").hidden = true;
            document.getElementById("camera-stop").hidden = false;
        }"""
    )
    page.screenshot(path=str(artifacts / "a11y-scan-camera-on-360x800.png"))
    for selector in ("#code", "#camera-stop", "#video"):
        above_the_fold(selector)
    page.context.close()


def test_the_dashboard_refreshes_its_figures_while_shown_and_waits_while_hidden(page: Page, live_app, sscc):
    page.clock.install()
    log_in(page, "supervisor", "jejak-supervisor")
    page.goto("/dashboard/31.01")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    before = page.locator("#alert-kinds tr").count()
    with live_app.app_context():
        box = db.session.scalar(select(Box).where(Box.sscc == sscc))
        db.session.add(
            Alert(
                kind="stalled",
                state="open",
                box_id=box.id,
                site_id=box.destination_id,
                details={"hours": 9},
                created_at=datetime.now(UTC),
            )
        )
        db.session.commit()
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "/dashboard/" in request.url else None)
    # Hidden (a phone in a pocket): a minute and more goes by and nothing is fetched.
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.clock.run_for(70_000)
    page.wait_for_timeout(500)
    assert fetched == [] and page.locator("#alert-kinds tr").count() == before
    # Shown again: it catches up at once, in place, the page not reloaded.
    page.evaluate("window.stillHere = true")
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    expect(page.locator("#alert-kinds tr")).to_have_count(before + 1)
    assert page.evaluate("window.stillHere") is True


def test_the_phone_screens_parts_that_show_later(page: Page):
    """What /handover and /scan show only later (each step of a handover, the signatures, the full-screen verdict),
    all shown at once: axe finds nothing there either."""
    log_in(page, "petugas", "jejak-petugas", "/handover")
    page.evaluate(
        """() => {
            for (const id of ["sender", "sending", "qr-box", "receiver", "receiving", "camera-card", "lists", "signing"])
                document.getElementById(id).hidden = false;
        }"""
    )
    problems = check(page, "/handover (every step)")
    page.goto("/scan")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    page.evaluate(
        """() => {
            document.getElementById("verdict-word").textContent = "DITOLAK";
            document.getElementById("verdict-text").textContent = "Kotak ini untuk TPS 012 Kel. Cipinang";
            document.getElementById("verdict").className = "verdict-screen verdict-refused";
            document.getElementById("verdict").hidden = false;
        }"""
    )
    problems += check(page, "/scan (a verdict)")
    assert not problems, report(problems)
