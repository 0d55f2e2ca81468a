"""Role and scope, as a matrix: a user scoped to one kecamatan sees and changes nothing outside it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import UserFactory
from webapp.auth.models import Role, User
from webapp.boxes.models import Box
from webapp.geo.models import Site

INSIDE_KEC = "31.01.01"  # Kepulauan Seribu Utara
ALL_ROLES = [r.value for r in Role]


@pytest.fixture
def world(seeded):
    """Kepulauan Seribu seeded; one box inside the kecamatan scope and one outside."""
    session = seeded

    def box_for(code):
        site = session.scalar(select(Site).where(Site.code == code))
        return session.scalar(select(Box).where(Box.destination_id == site.id, Box.set_index == 1))

    return {
        "box_in": box_for("TPS-3101011001001").sscc,
        "box_out": box_for("TPS-3101021001001").sscc,
    }


def scoped_user(role: str, scope: str = INSIDE_KEC) -> User:
    return UserFactory(role=role, scope_region_code=scope)


def page_matrix(world):
    """(path, expected status when in scope) pairs: in-scope resources 200, out-of-scope 403."""
    return [
        ("/", 200),
        (f"/regions/{INSIDE_KEC}", 200),
        ("/regions/31.01.01.1001", 200),
        ("/regions/3101011001", 200),
        ("/regions/31.01.02.1001", 403),
        ("/regions/31.01", 403),
        ("/regions/31.75", 403),
        ("/sites/TPS-3101011001001", 200),
        ("/sites/PPS-3101011001", 200),
        ("/sites/PPK-310101", 200),
        ("/sites/TPS-3101021001001", 403),
        ("/sites/KPU-3101", 403),
        ("/sites/PRN-1", 403),
        (f"/boxes/{world['box_in']}", 200),
        (f"/boxes/{world['box_out']}", 403),
        ("/api/v1/me", 200),
        ("/api/v1/regions/31.01.01.1001", 200),
        ("/api/v1/regions/31.01.02.1001", 403),
        ("/api/v1/sites/TPS-3101011001001", 200),
        ("/api/v1/sites/TPS-3101021001001", 403),
        (f"/api/v1/boxes/{world['box_in']}", 200),
        (f"/api/v1/boxes/{world['box_out']}", 403),
    ]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_kecamatan_scope_matrix(client, world, role):
    user = scoped_user(role)
    login(client, user.username)
    for path, expected in page_matrix(world):
        response = client.get(path)
        assert response.status_code == expected, f"{role} GET {path}: {response.status_code}"
    for path in ("/admin/users", "/admin/sites"):
        assert client.get(path).status_code == (200 if role == "admin" else 403), f"{role} {path}"
    # Browsing starts at the user's own scope.
    response = client.get("/regions")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/regions/{INSIDE_KEC}")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_search_and_lists_show_only_what_is_in_scope(client, world, role):
    login(client, scoped_user(role).username)
    text = client.get("/search?q=Pulau").text
    assert "Pulau Kelapa" in text  # 31.01.01.1002, inside
    assert "Pulau Tidung" not in text  # 31.01.02.1002, outside
    assert f"/boxes/{world['box_out']}" not in client.get(f"/search?q={world['box_out']}").text
    assert f"/boxes/{world['box_in']}" in client.get(f"/search?q={world['box_in']}").text
    # A whole label as a scanner reads it (GS1-128 text, Digital Link) goes straight to the box's trace.
    for label in (f"(00){world['box_in']}", f"https://jejak.kpu.go.id/00/{world['box_in']}"):
        assert client.get("/search", query_string={"q": label}).location.endswith(f"/boxes/{world['box_in']}")
    assert client.get("/search", query_string={"q": f"(00){world['box_out']}"}).status_code == 200  # not theirs
    page = client.get(f"/regions/{INSIDE_KEC}").text
    assert "PPK-310101" in page and "PPK-310102" not in page
    home = client.get("/").text
    assert "Kepulauan Seribu Selatan" not in home


def test_scoped_admin_cannot_change_anything_outside(client, world, session):
    admin = scoped_user("admin")
    outsider = scoped_user("observer", scope="31.01.02")
    login(client, admin.username)
    assert client.post("/admin/sites/TPS-3101021001001/active", data={"active": "0"}).status_code == 403
    assert session.scalar(select(Site.active).where(Site.code == "TPS-3101021001001")) is True
    assert client.post(f"/admin/users/{outsider.id}/active", data={"active": "0"}).status_code == 403
    assert session.get(User, outsider.id).active is True
    assert outsider.username not in client.get("/admin/users").text

    response = client.post(
        "/admin/users", data={"username": "luar", "role": "observer", "scope": "31.01.02", "password": "password123"}
    )
    assert response.status_code == 200 and "di luar cakupan" in response.text
    assert session.scalar(select(User).where(User.username == "luar")) is None

    response = client.post(
        "/admin/sites", data={"kind": "tps", "region": "31.01.02.1001", "number": 50, "name": "TPS 050", "dpt": 100}
    )
    assert "di luar cakupan" in response.text
    assert session.scalar(select(Site).where(Site.code == "TPS-3101021001050")) is None

    # Inside its own scope the same admin can act.
    response = client.post(
        "/admin/sites",
        data={"kind": "tps", "region": "31.01.01.1001", "number": 50, "name": "TPS 050", "dpt": 100},
        follow_redirects=True,
    )
    assert "TPS-3101011001050" in response.text
    created = session.scalar(select(Site).where(Site.code == "TPS-3101011001050"))
    assert created.parent.code == "PPS-3101011001" and created.dpt == 100
    assert client.post("/admin/sites/TPS-3101011001050/active", data={"active": "0"}).status_code == 302
    assert session.scalar(select(Site.active).where(Site.code == "TPS-3101011001050")) is False


@pytest.mark.parametrize(
    ("scope_site", "visible", "hidden"),
    [
        (
            "PPK-310101",
            ["PPK-310101", "PPS-3101011001", "TPS-3101011001001"],
            ["PPK-310102", "TPS-3101021001001", "KPU-3101"],
        ),
        ("PPS-3101011001", ["PPS-3101011001", "TPS-3101011001001"], ["PPS-3101011002", "PPK-310101"]),
        ("TPS-3101011001001", ["TPS-3101011001001"], ["TPS-3101011001002", "PPS-3101011001"]),
        ("KPU-3101", ["KPU-3101", "PPK-310102", "TPS-3101021001001"], ["KPU-31", "PRN-1"]),
    ],
)
def test_site_scope(client, session, world, scope_site, visible, hidden):
    site = session.scalar(select(Site).where(Site.code == scope_site))
    user = UserFactory(role="officer", scope_site=site)
    login(client, user.username)
    for code in visible:
        assert client.get(f"/sites/{code}").status_code == 200, code
    for code in hidden:
        assert client.get(f"/sites/{code}").status_code == 403, code


def test_anonymous_is_sent_to_login_and_api_gets_401(client, world):
    for path in ("/", "/regions", "/sites/TPS-3101011001001", f"/boxes/{world['box_in']}", "/admin/users", "/search"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    response = client.get("/api/v1/sites/TPS-3101011001001")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_missing_things_are_404_not_errors(client, world):
    login(client, UserFactory(role="supervisor").username)
    for path in (
        "/sites/TPS-0000000000000",
        "/boxes/000000000000000000",
        "/regions/99.99",
        "/regions/nonsense",
        "/nowhere",
    ):
        assert client.get(path).status_code == 404, path
    response = client.get("/api/v1/boxes/123")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_every_route_declares_its_roles(app):
    """The access helper guards every route; only the public few are exempt."""
    public = {
        "static",
        "auth.login",
        "auth.logout",
        "main.set_language",
        "main.healthz",
        "api.checkpoints",
        "api.ledger_key",
        "api.ledger_checkpoint",
        "api.inclusion_proof",
        "api.consistency_proof",
        "api.post_cosignature",  # a witness's cosignature: its signature, checked against the registered keys, is the authentication
        "api.openapi",
        # The installable app's shell: no user data in it, so the service worker can cache it offline.
        "pwa.manifest",
        "pwa.service_worker",
        "pwa.offline",
        "pwa.scan",
        "pwa.handover",
        "public.box",  # the Digital Link page a box's QR opens: nothing a scoped user could not see
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "allowed_roles", None), f"{rule.rule} ({rule.endpoint}) has no roles_required"


def test_site_scoped_admin_cannot_add_a_sibling_site(client, session, world):
    tps = session.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    login(client, UserFactory(role="admin", scope_site=tps).username)
    response = client.post(
        "/admin/sites", data={"kind": "tps", "region": "31.01.01.1001", "number": 77, "name": "TPS 077", "dpt": 10}
    )
    assert "di luar cakupan" in response.text
    assert session.scalar(select(Site).where(Site.code == "TPS-3101011001077")) is None


def test_scoped_admin_cannot_create_sites_above_its_scope(client, session):
    """On an empty database a new PPS would need KPU-31 and KPU-3101: outside a kecamatan admin's scope."""
    login(client, UserFactory(role="admin", scope_region_code="31.01.01").username)
    response = client.post(
        "/admin/sites", data={"kind": "pps", "region": "31.01.01.1001", "name": "PPS Pulau Panggang"}
    )
    assert "di luar cakupan" in response.text
    assert session.scalar(select(Site).where(Site.code.in_(["KPU-31", "KPU-3101", "PPS-3101011001"]))) is None


def test_a_bearer_token_carries_the_same_scope(client, runner, world):
    user = scoped_user("officer")
    token = runner.invoke(args=["users", "token", user.username]).output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/sites/TPS-3101011001001", headers=headers).status_code == 200
    assert client.get("/api/v1/sites/TPS-3101021001001", headers=headers).status_code == 403
    assert client.get(f"/api/v1/boxes/{world['box_out']}", headers=headers).status_code == 403


def test_admin_user_list_and_counts_stay_in_scope(client, session, world):
    admin = scoped_user("admin")
    inside = scoped_user("observer")
    outside = scoped_user("observer", scope="31.01.02")
    national = UserFactory(role="supervisor")
    login(client, admin.username)
    page = client.get("/admin/users").text
    assert inside.username in page and admin.username in page
    assert outside.username not in page and national.username not in page
    assert '<span class="stat-value">2</span><span class="stat-label">Pengguna</span>' in client.get("/").text
