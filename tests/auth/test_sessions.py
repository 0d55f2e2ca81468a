"""Sessions end everywhere on logout, a new password or a disabled account (security audit, issue 12)."""

from __future__ import annotations

from tests.conftest import login
from tests.factories import UserFactory


def _is_logged_in(client) -> bool:
    """Whether the client's session still opens a page and the API (both, or neither)."""
    page = client.get("/").status_code
    api = client.get("/api/v1/me").status_code
    assert (page, api) in {(200, 200), (302, 401)}, (page, api)
    return page == 200


def _copy_session(app, client):
    """A second browser holding a copy of the client's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app, client, session):
    user = UserFactory()
    login(client, user.username)
    copy = _copy_session(app, client)
    assert _is_logged_in(copy)

    client.post("/logout")

    response = copy.get("/search")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert copy.get("/api/v1/me").json["error"]["code"] == "unauthorized"
    assert not _is_logged_in(client)
    login(client, user.username)
    assert _is_logged_in(client)  # logging in again works


def test_logout_ends_the_users_other_sessions(app, client, session):
    user = UserFactory()
    phone = app.test_client()
    login(client, user.username)
    login(phone, user.username)

    client.post("/logout")

    assert not _is_logged_in(phone)


def test_a_new_password_ends_every_session_but_says_tokens_still_work(app, client, runner, session):
    user = UserFactory()
    laptop, phone = client, app.test_client()
    login(laptop, user.username)
    login(phone, user.username)
    token = runner.invoke(args=["users", "token", user.username]).output.strip()

    result = runner.invoke(args=["users", "set-password", user.username, "--password", "a-new-passphrase"])

    assert result.exit_code == 0, result.output
    assert not _is_logged_in(laptop) and not _is_logged_in(phone)
    assert "1 API token(s) still work" in result.output and "revoke-tokens" in result.output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert "salah" in login(laptop, user.username).text  # the old password is refused
    login(laptop, user.username, "a-new-passphrase")
    assert _is_logged_in(laptop)


def test_disabling_a_user_ends_their_session_at_their_next_request(app, client, session):
    courier = UserFactory(role="courier", scope_region_code="31.01")
    login(client, courier.username)
    admin = app.test_client()
    login(admin, UserFactory(admin=True).username)

    admin.post(f"/admin/users/{courier.id}/active", data={"active": "0"})

    assert not _is_logged_in(client)
    admin.post(f"/admin/users/{courier.id}/active", data={"active": "1"})
    assert not _is_logged_in(client)  # enabling again does not bring the old session back
    login(client, courier.username)
    assert _is_logged_in(client)
