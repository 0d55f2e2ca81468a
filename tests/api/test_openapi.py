"""The OpenAPI document and the server agree: what the document allows the server takes, what it forbids the
server refuses with 400, and every error a caller can meet is documented, with its envelope (audit point 12)."""

from __future__ import annotations

from tests.factories import UserFactory
from webapp.auth.services import issue_token


def bearer(session, **user) -> dict:
    token = issue_token(session, UserFactory(**user))
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_405_says_which_methods_the_path_takes(client, session):
    headers = bearer(session, role="supervisor")
    response = client.get("/api/v1/scans", headers=headers)
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]
    response = client.delete("/api/v1/me", headers=headers)
    assert response.status_code == 405 and {"GET", "HEAD"} <= set(response.headers["Allow"].split(", "))
    assert client.put("/logout").headers.get("Allow")  # pages too
