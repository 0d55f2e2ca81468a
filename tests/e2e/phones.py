"""What a person does on a phone in many browser tests: log in, draw a signature, sign and close a BAST."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def log_in(page: Page, username: str, password: str, next_page: str | None = None) -> None:
    """Through the real login form, in Indonesian, then on to `next_page` (the home page by default)."""
    page.goto(f"/login?next={next_page}" if next_page else "/login")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    if next_page in ("/scan", "/handover"):  # the phone screens say when they are ready
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
    elif next_page is None:
        expect(page.get_by_role("heading", name="Yang perlu dilakukan")).to_be_visible()


def phone(browser, browser_context_args, username: str, password: str, next_page: str = "/handover") -> Page:
    """A phone of its own (a browser context: its own storage and session) with its person logged in."""
    page = browser.new_context(**browser_context_args).new_page()
    log_in(page, username, password, next_page)
    return page


def sign(page: Page, canvas: str) -> None:
    """Draw a signature on a pad with a finger."""
    expect(page.locator("#verdict")).to_be_hidden()  # the last verdict has gone: the pad is in reach
    page.locator(canvas).scroll_into_view_if_needed()
    box = page.locator(canvas).bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 90)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 18, box["y"] + 90 - (step % 3) * 25)
    page.mouse.up()


def sign_and_close(page: Page, sender: str = "Budi Santoso", receiver: str = "Siti Rahmawati") -> str:
    """Both parties sign on the receiver's phone and it closes the BAST; returns the BAST's number."""
    page.locator("#sig-sender-name").fill(sender)
    sign(page, "#sig-sender")
    page.locator("#sig-receiver-name").fill(receiver)
    sign(page, "#sig-receiver")
    page.get_by_role("button", name="Tutup dan buat BAST").click()
    expect(page.locator("#closed")).to_be_visible(timeout=15_000)
    return page.locator("#closed").get_attribute("data-number")
