"""Each demo role logs in on a 360 px phone and lands on its home page, in Bahasa Indonesia."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from webapp.auth.services import demo_accounts

ROLE_HINTS = {
    "admin": "Tambahkan petugas",
    "supervisor": "Pantau kesiapan",
    "warehouse": "Cetak label",
    "courier": "Kotak dalam tanggung jawab Anda",
    "officer": "Lihat kotak yang akan tiba",
    "observer": "hanya baca",
}
PAGES = ["/", "/regions", "/search?q=Pulau", "/sites/PPS-3101011001", "/sites/TPS-3101011001001"]


def accounts():
    """(username, role, password) of the demo accounts, without needing a database."""

    class _Session:
        def scalar(self, _query):
            return "31.01.01"

    return [(username, role, password) for username, role, _scope, password in demo_accounts(_Session(), "31.01")]


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(("username", "role", "password"), accounts())
def test_role_logs_in_and_reads_its_home(page: Page, artifacts, username, role, password):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/")
    expect(page.get_by_role("heading", name="Masuk ke Jejak")).to_be_visible()
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Yang perlu dilakukan")).to_be_visible()
    expect(page.locator(".steps")).to_contain_text(ROLE_HINTS[role])
    assert page.locator("html").get_attribute("lang") == "id"
    page.screenshot(path=str(artifacts / f"home-{role}.png"), full_page=True)
    refused = 0
    for path in PAGES:
        response = page.goto(path)
        assert response.status in (200, 403), f"{role} {path}: {response.status}"
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at 360 px for {role}"
        refused += response.status == 403  # a page outside the scope (the printer's desk sees no TPS)
    # Chromium reports a 403 page as a failed load; anything else on the console is a defect.
    assert errors == ["Failed to load resource: the server responded with a status of 403 (FORBIDDEN)"] * refused
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_text("Anda sudah keluar")).to_be_visible()


def test_language_switch_and_wrong_password(page: Page, artifacts):
    page.goto("/login")
    page.get_by_label("Nama pengguna").fill("admin")
    page.get_by_label("Kata sandi").fill("salah-sekali")
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator(".flash-error")).to_have_text("Nama pengguna atau kata sandi salah.")
    page.screenshot(path=str(artifacts / "login-error.png"), full_page=True)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Log in to Jejak")).to_be_visible()
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page.get_by_role("heading", name="Masuk ke Jejak")).to_be_visible()
