"""Every role that scans reaches the scanner and the handover screen from its home page and from the menu,
in one tap (issue 14, point 7)."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import UserFactory

SCANS = {"warehouse": True, "courier": True, "officer": True, "supervisor": True, "admin": False, "observer": False}
HANDS_OVER = {"warehouse", "courier", "officer"}


@pytest.mark.parametrize("role", list(SCANS))
def test_the_scanner_and_the_handover_are_one_tap_from_home(client, session, role):
    page = login(client, UserFactory(role=role, scope_region_code="31.75").username)
    assert page.status_code == 200
    html = page.text
    assert ('id="go-scan" href="/scan"' in html) is SCANS[role]
    assert ('id="go-handover" href="/handover"' in html) is (role in HANDS_OVER)
    menu = html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    assert ('href="/scan"' in menu) is SCANS[role]
    assert ('href="/handover"' in menu) is (role in HANDS_OVER)
    if SCANS[role]:
        assert "Pindai kotak" in html and ">Pemindai<" in menu  # in Indonesian, the default
        assert client.get("/scan").status_code == 200
