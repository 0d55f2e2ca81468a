"""A login for an unknown username takes as long as a wrong password for a known one: both check the password
against a hash of the same method and cost, so the answer's time does not tell which usernames exist."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

import webapp.auth.models
from tests.factories import UserFactory

WRONG = "Nama pengguna atau kata sandi salah"


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The hashes each login checked a password against, in order."""
    seen: list[str] = []

    def counting(pwhash: str, password: str) -> bool:
        seen.append(pwhash)
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(webapp.auth.models, "check_password_hash", counting)
    return seen


def _method(pwhash: str) -> str:
    """The method and cost of a werkzeug hash: "scrypt:32768:8:1" of "scrypt:32768:8:1$salt$hash"."""
    return pwhash.split("$", 1)[0]


def test_an_unknown_username_checks_a_hash_as_costly_as_a_wrong_password_does(client, checked):
    user = UserFactory(username="ada-orangnya")
    known = client.post("/login", data={"username": "ada-orangnya", "password": "bukan-sandinya"})
    unknown = client.post("/login", data={"username": "tidak-ada-orangnya", "password": "bukan-sandinya"})
    for answer in (known, unknown):  # the same answer, word for word
        assert answer.status_code == 200 and WRONG in answer.text
    assert len(checked) == 2  # one hash check each: none skipped for the unknown username
    assert checked[0] == user.password_hash
    assert checked[1] != user.password_hash and _method(checked[1]) == _method(user.password_hash)
    assert not check_password_hash(checked[1], "bukan-sandinya")


def test_the_right_password_still_logs_in_after_one_check(client, checked):
    UserFactory(username="ada-orangnya")
    answer = client.post("/login", data={"username": "ada-orangnya", "password": "password123"})
    assert answer.status_code == 302 and len(checked) == 1
