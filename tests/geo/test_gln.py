"""Sites' GS1 location numbers: every site has a GLN with a right check digit, given from the configured
prefix and its id (also for sites seeded in bulk), an imported GLN wins, and a bad one is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from config import TestConfig
from tests.conftest import login
from tests.factories import UserFactory
from tests.geo.test_imports import GOOD_DAPIL, csv_file
from webapp.auth.models import Role
from webapp.geo.gln import gln_problem, gs1_check_digit, make_gln
from webapp.geo.models import Site, SiteKind
from webapp.geo.services import ImportRejected, import_dapil, import_tps


def test_gln_check_digit_matches_gs1_examples():
    # GS1 General Specifications' GLN example and the GLNs of EPCIS's published examples
    for gln in ("0614141000012", "4012345000009", "4012345000122", "5200001999012"):
        assert gln_problem(gln) is None and gs1_check_digit(gln[:-1]) == int(gln[-1])
    assert make_gln("4012345", 12) == "4012345000122"
    assert "check digit" in gln_problem("4012345000123")
    assert "13 digits" in gln_problem("40123450001")
    with pytest.raises(ValueError, match="shorter GS1_GLN_PREFIX"):
        make_gln("061414100000", 10)


def test_every_seeded_site_has_its_own_valid_gln_from_the_prefix(seeded):
    sites = seeded.execute(select(Site.id, Site.gln)).all()
    assert len(sites) > 50 and all(gln is not None for _, gln in sites)  # TPS inserted in bulk too
    assert len({gln for _, gln in sites}) == len(sites)
    prefix = TestConfig.GS1_GLN_PREFIX
    assert all(gln == make_gln(prefix, site_id) and gln_problem(gln) is None for site_id, gln in sites)


def test_a_site_created_later_gets_a_gln(session):
    site = Site(code="PRN-77", kind=SiteKind.PRINTER.value, name="Percetakan 77")
    session.add(site)
    session.flush()
    assert site.gln == make_gln(TestConfig.GS1_GLN_PREFIX, site.id)
    session.expire(site)
    assert site.gln == make_gln(TestConfig.GS1_GLN_PREFIX, site.id)  # stored, not only on the object


def test_an_imported_gln_wins_and_a_bad_one_is_refused(session, tmp_path):
    import_dapil(session, csv_file(tmp_path, "d.csv", GOOD_DAPIL))
    good = csv_file(
        tmp_path, "tps.csv", "kode_tps,nama,dpt,gln\n3101011001001,TPS 1,200,8990000000013\n3101011001002,,150,\n"
    )
    import_tps(session, good)
    first = session.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    second = session.scalar(select(Site).where(Site.code == "TPS-3101011001002"))
    assert first.gln == "8990000000013"
    assert second.gln == make_gln(TestConfig.GS1_GLN_PREFIX, second.id)
    # a later file may give the second its own GLN: it replaces the one from the id
    import_tps(session, csv_file(tmp_path, "tps2.csv", "kode_tps,nama,dpt,gln\n3101011001002,,150,8990000000020\n"))
    assert session.scalar(select(Site.gln).where(Site.code == "TPS-3101011001002")) == "8990000000020"
    before = session.scalar(select(func.count()).select_from(Site))
    bad = csv_file(
        tmp_path,
        "bad.csv",
        "kode_tps,nama,dpt,gln\n"
        "3101011001003,,10,8990000000014\n"  # wrong check digit
        "3101011001004,,10,89900\n"  # too short
        "3101011001005,,10,8990000000013\n",  # the first TPS's
    )
    with pytest.raises(ImportRejected) as caught:
        import_tps(session, bad)
    by_line = {p.line: p.message for p in caught.value.problems}
    assert "wrong check digit" in by_line[2] and "8990000000014" in by_line[2]
    assert "13 digits" in by_line[3]
    assert "already belongs to site TPS-3101011001001" in by_line[4]
    assert session.scalar(select(func.count()).select_from(Site)) == before


def test_the_site_page_shows_the_gln(client, seeded):
    site = seeded.scalar(select(Site).where(Site.code == "PPK-310101"))
    user = UserFactory(role=Role.ADMIN.value)
    seeded.commit()
    login(client, user.username)
    page = client.get("/sites/PPK-310101").get_data(as_text=True)
    assert site.gln in page and "GLN" in page
