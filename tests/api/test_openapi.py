"""The OpenAPI document and the server agree: what the document allows the server takes, what it forbids the
server refuses with 400, and every error a caller can meet is documented, with its envelope (audit point 12)."""

from __future__ import annotations

import uuid

from tests.factories import UserFactory
from webapp.auth.services import issue_token


def bearer(session, **user) -> dict:
    token = issue_token(session, UserFactory(**user))
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def api_writes(app) -> list[str]:
    return sorted(
        rule.rule.replace("<alert_id>", "1").replace("<token>", str(uuid.uuid4()))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "POST" in rule.methods
    )


def test_anonymous_writes_get_401_before_any_csrf_check(app, client, session):
    """Authentication comes first: an anonymous write is told to log in, not that its form expired."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for path in api_writes(app):
            response = client.post(path, json={})
            assert response.status_code == 401, (path, response.status_code, response.text)
            assert response.json["error"]["code"] == "unauthorized", path
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_405_says_which_methods_the_path_takes(client, session):
    headers = bearer(session, role="supervisor")
    response = client.get("/api/v1/scans", headers=headers)
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 405 and {"GET", "HEAD"} <= set(response.headers["Allow"].split(", "))
    assert client.put("/logout").headers.get("Allow")  # pages too
