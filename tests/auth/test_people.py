"""Login, passwords, API tokens, the users CLI and the admin pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import login, rate_limited_app
from tests.factories import PASSWORD, UserFactory
from webapp.auth.models import ApiToken, User
from webapp.geo.models import Site

HOME_TITLES = {
    "admin": "Tambahkan petugas, kurir dan pengawas",
    "supervisor": "Pantau kesiapan per wilayah",
    "warehouse": "Cetak label, kemas setiap kotak",
    "courier": "Kotak dalam tanggung jawab Anda sekarang",
    "officer": "Terima hanya kotak untuk wilayah Anda",
    "observer": "hanya baca",
}


@pytest.mark.parametrize("role", list(HOME_TITLES))
def test_each_role_lands_on_its_home_page_in_indonesian(client, session, role):
    user = UserFactory(role=role, scope_region_code="31.01")
    response = login(client, user.username)
    assert response.status_code == 200
    assert HOME_TITLES[role] in response.text
    assert "Yang perlu dilakukan" in response.text and 'lang="id"' in response.text


def test_english_is_selectable(client, session):
    login(client, UserFactory(role="observer").username)
    response = client.post("/lang", data={"lang": "en", "next": "/"}, follow_redirects=True)
    assert "What to do next" in response.text and 'lang="en"' in response.text
    client.post("/lang", data={"lang": "id", "next": "/"})
    assert "Yang perlu dilakukan" in client.get("/").text
    assert client.post("/lang", data={"lang": "fr"}).status_code == 400
    redirect = client.post("/lang", data={"lang": "id", "next": "https://evil.example/"})
    assert redirect.headers["Location"] == "/"


def test_passwords_are_hashed_and_checked(session):
    user = UserFactory(password="a-long-passphrase")
    assert "a-long-passphrase" not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("a-long-passphrase") and not user.check_password("wrong")


def test_wrong_password_and_disabled_account_are_refused(client, session):
    user = UserFactory()
    response = login(client, user.username, "not-the-password")
    assert "Nama pengguna atau kata sandi salah" in response.text
    assert client.get("/").status_code == 302
    disabled = UserFactory(disabled=True)
    response = login(client, disabled.username)
    assert "Akun ini dinonaktifkan" in response.text
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_local_pages(client, session):
    user = UserFactory()
    response = client.post("/login?next=https://evil.example/x", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/search", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/search"


def test_logout_needs_post_and_ends_the_session(client, session):
    login(client, UserFactory().username)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", follow_redirects=True)
    assert "Anda sudah keluar" in response.text
    assert client.get("/").status_code == 302


def test_forms_refuse_requests_without_csrf_token(app, client, session):
    user = UserFactory()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 400 and "Formulir kedaluwarsa" in response.text
        assert client.get("/").status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_login_is_rate_limited(tmp_path):
    limited = rate_limited_app(tmp_path, LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = [limited.post("/login", data={"username": "x", "password": "y"}).status_code for _ in range(4)]
    assert statuses[-1] == 429
    assert "Terlalu banyak percobaan" in limited.post("/login", data={}).text


# --- API tokens --------------------------------------------------------------------------------


def test_bearer_token_authenticates_api_requests(client, runner, session):
    user = UserFactory(role="observer", scope_region_code="31.01")
    result = runner.invoke(args=["users", "token", user.username, "--label", "tablet 1"])
    assert result.exit_code == 0
    token = result.output.strip()
    stored = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.token_hash != token and token not in stored.token_hash
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    me = response.json
    assert (me["username"], me["role"], me["scope"], me["site"]) == (user.username, "observer", "31.01", None)
    assert me["csrf_token"] is None  # a bearer token writes without one
    # A token is for the API only: pages still need a login.
    assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 302

    assert runner.invoke(args=["users", "revoke-tokens", user.username]).output.startswith("Revoked 1 token")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_bad_or_disabled_tokens_get_401(client, runner, session):
    user = UserFactory()
    token = runner.invoke(args=["users", "token", user.username]).output.strip()
    for header in ("Bearer nonsense", "Basic abc", "Bearer ", token):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert set(response.json["error"]) == {"code", "message", "details"}
    user.active = False
    session.flush()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- users CLI ---------------------------------------------------------------------------------


def test_users_create_and_set_password(runner, session, seeded):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Siti.Rahma",
            "--role",
            "officer",
            "--scope",
            "PPS-3101011001",
            "--password",
            "kata-sandi-1",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "siti.rahma"))
    assert user.scope_site.code == "PPS-3101011001" and user.check_password("kata-sandi-1")
    assert runner.invoke(args=["users", "set-password", "siti.rahma", "--password", "kata-sandi-2"]).exit_code == 0
    session.refresh(user)
    assert user.check_password("kata-sandi-2")
    result = runner.invoke(
        args=["users", "create", "budi", "--role", "supervisor", "--scope", "3101", "--password", "kata-sandi-1"]
    )
    assert session.scalar(select(User.scope_region_code).where(User.username == "budi")) == "31.01"
    assert "budi" in runner.invoke(args=["users", "list"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ab", "--role", "admin", "--password", "long-enough"], "3-64 characters"),
        (["budi", "--role", "admin", "--password", "short"], "at least 8"),
        (["budi", "--role", "admin", "--scope", "99.99", "--password", "long-enough"], "not a known region"),
        (["budi", "--role", "admin", "--scope", "TPS-0000000000000", "--password", "long-enough"], "no site"),
        (["budi", "--role", "king", "--password", "long-enough"], "Invalid value for '--role'"),
    ],
)
def test_users_create_refuses_bad_input(runner, session, args, message):
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code != 0 and message in result.output
    assert session.scalar(select(User).where(User.username == "budi")) is None


def test_duplicate_username_is_refused(runner, session):
    UserFactory(username="budi")
    result = runner.invoke(args=["users", "create", "budi", "--role", "admin", "--password", "long-enough"])
    assert result.exit_code != 0 and "already exists" in result.output


# --- admin pages -------------------------------------------------------------------------------


def test_admin_adds_disables_and_enables_a_user(client, session, seeded):
    admin = UserFactory(admin=True)
    login(client, admin.username)
    response = client.post(
        "/admin/users",
        data={
            "username": "kurir2",
            "full_name": "Andi",
            "role": "courier",
            "scope": "31.01",
            "password": "rahasia-123",
        },
        follow_redirects=True,
    )
    assert "Pengguna kurir2 ditambahkan" in response.text
    user = session.scalar(select(User).where(User.username == "kurir2"))
    assert user.role == "courier" and user.scope_region_code == "31.01"
    client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    assert session.get(User, user.id).active is False
    client.post("/logout")
    assert "Akun ini dinonaktifkan" in login(client, "kurir2", "rahasia-123").text
    login(client, admin.username)
    client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert session.get(User, user.id).active is True
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "tidak dapat menonaktifkan akun sendiri" in response.text


def test_admin_user_form_shows_errors_and_keeps_input(client, session):
    login(client, UserFactory(admin=True).username)
    response = client.post("/admin/users", data={"username": "x", "role": "courier", "scope": "", "password": "pw"})
    assert response.status_code == 200
    assert 'value="x"' in response.text and 'aria-invalid="true"' in response.text
    assert session.scalar(select(User).where(User.username == "x")) is None


def test_admin_adds_sites_with_derived_codes(client, session, seeded):
    login(client, UserFactory(admin=True).username)
    response = client.post(
        "/admin/sites", data={"kind": "printer", "number": 7, "name": "Percetakan Tujuh"}, follow_redirects=True
    )
    assert "Lokasi PRN-7 ditambahkan" in response.text
    response = client.post("/admin/sites", data={"kind": "ppk", "region": "3101", "name": "PPK salah tingkat"})
    assert "Jenis lokasi ini harus berada di wilayah tingkat" in response.text
    response = client.post("/admin/sites", data={"kind": "ppk", "region": "31.01.01", "name": "Dua kali"})
    assert "sudah ada" in response.text
    response = client.post(
        "/admin/sites", data={"kind": "pps", "region": "31.71.01.1001", "name": "PPS Gambir"}, follow_redirects=True
    )
    assert "PPS-3171011001" in response.text
    pps = session.scalar(select(Site).where(Site.code == "PPS-3171011001"))
    assert pps.parent.code == "PPK-317101" and pps.parent.parent.code == "KPU-3171"
