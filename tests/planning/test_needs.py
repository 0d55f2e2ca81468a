"""Needs (kebutuhan): each TPS by the norms, rounded up per TPS, and every region the sum of its TPS."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from tests.factories import UserFactory
from webapp.geo.models import Site
from webapp.geo.seed import seed_region
from webapp.planning.models import ItemType, NormChange
from webapp.planning.needs import compute_needs

BALLOTS = ("SURAT_SUARA_PRESIDEN", "SURAT_SUARA_DPR", "SURAT_SUARA_DPD", "SURAT_SUARA_DPRD_PROV")


def by_python(session, region: str) -> dict[str, int]:
    """The same needs, TPS by TPS through ItemType.need_for: what the SQL aggregate must equal."""
    items = session.scalars(select(ItemType)).all()
    total: dict[str, int] = {}
    tps = session.scalars(select(Site).where(Site.kind == "tps", Site.region_code.startswith(region + ".")))
    for site in tps:
        contests = {"PRESIDEN"} | {link.contest for link in site.dapils}
        for item in items:
            if item.contest is None or item.contest in contests:
                total[item.code] = total.get(item.code, 0) + item.need_for(site.dpt or 0, len(contests))
    return total


def test_a_tps_of_300_voters_needs_306_ballots_per_contest(seeded):
    tps = seeded.scalar(select(Site).where(Site.kind == "tps").order_by(Site.code).limit(1))
    seeded.execute(update(Site).where(Site.id == tps.id).values(dpt=300))
    needs = compute_needs(seeded, tps.region_code)
    row = next(child for child in needs.children if child.code == tps.code)
    assert [row.items[code] for code in BALLOTS] == [306] * 4
    assert "SURAT_SUARA_DPRD_KAB" not in row.items  # DKI Jakarta elects no DPRD kab/kota
    assert (row.items["KOTAK_SUARA"], row.items["BILIK_SUARA"], row.items["TINTA"]) == (4, 4, 2)


def test_jakarta_timur_totals_are_the_sum_over_its_tps(jakarta_timur):
    session = jakarta_timur
    needs = compute_needs(session, "31.75")
    assert needs.total.tps == 7785 and len(needs.children) == 10  # its kecamatan
    assert needs.total.items == by_python(session, "31.75")
    for code, quantity in needs.total.items.items():
        assert sum(child.items.get(code, 0) for child in needs.children) == quantity
    kecamatan = compute_needs(session, needs.children[0].code)
    assert kecamatan.total.items == needs.children[0].items


def test_psu_reserve_is_1000_ballots_per_dapil(seeded):
    needs = compute_needs(seeded, "31.01")
    # Kepulauan Seribu votes in one dapil per contest (DKI Jakarta 3 for DPR, DKI Jakarta for DPD...)
    assert needs.psu == {"SURAT_SUARA_DPR": 1000, "SURAT_SUARA_DPD": 1000, "SURAT_SUARA_DPRD_PROV": 1000}


@pytest.fixture
def supervisor(seeded):
    user = UserFactory(role="supervisor", scope_region_code="31.01")
    seeded.commit()
    return user


def test_the_needs_page_and_its_exports(seeded, supervisor, log_in):
    client = log_in(supervisor)
    home = client.get("/needs")
    assert home.status_code == 302 and home.headers["Location"].endswith("/needs/31.01")
    page = client.get("/needs/31.01")
    expected = compute_needs(seeded, "31.01")
    assert page.status_code == 200 and "Kebutuhan Kabupaten Administrasi Kepulauan Seribu" in page.text
    assert f"{expected.total.items['SURAT_SUARA_DPR']:,}".replace(",", ".") in page.text
    rows = list(csv.reader(io.StringIO(client.get("/needs/31.01.csv").text)))
    header, total = rows[0], next(row for row in rows if row[1] == "Jumlah")
    assert int(total[header.index("SURAT_SUARA_DPR")]) == expected.total.items["SURAT_SUARA_DPR"]
    assert len(rows) == 1 + len(expected.children) + 2  # header, kecamatan, total, PSU reserve
    book = load_workbook(io.BytesIO(client.get("/needs/31.01.xlsx").data))
    sheet_rows = list(book.active.iter_rows(values_only=True))
    assert sheet_rows[0] == tuple(header)
    assert [list(map(str, r)) for r in sheet_rows[1:-1]] == [[str(v) for v in row] for row in rows[1:-1]]


def test_needs_outside_the_users_area(seeded, supervisor, log_in):
    client = log_in(supervisor)
    assert client.get("/needs/31.71").status_code == 403
    assert client.get("/needs/ID").status_code == 403
    assert client.get("/needs/99.99").status_code == 404


def test_a_norm_change_is_kept_with_its_author_and_reason_and_changes_the_needs(seeded, log_in):
    admin = UserFactory(role="admin")
    seeded.commit()
    client = log_in(admin)
    before = compute_needs(seeded, "31.01").total.items["SURAT_SUARA_DPR"]
    response = client.post(
        "/norms/SURAT_SUARA_DPR",
        data={"quantity": "1", "reserve_pct": "2.5", "reason": "PKPU simulasi Pilkada 2.5%"},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "Norma Surat suara DPR diubah." in response.text
    assert "reserve_pct 2.00 → 2.50" in response.text and "PKPU simulasi Pilkada 2.5%" in response.text
    change = seeded.scalar(select(NormChange))
    assert (change.field, change.old_value, change.new_value, change.changed_by_id) == (
        "reserve_pct",
        "2.00",
        "2.50",
        admin.id,
    )
    after = compute_needs(seeded, "31.01").total.items["SURAT_SUARA_DPR"]
    assert after > before and after == by_python(seeded, "31.01")["SURAT_SUARA_DPR"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"quantity": "1", "reserve_pct": "2.5", "reason": ""}, "This field is required."),
        ({"quantity": "-1", "reserve_pct": "2", "reason": "karena"}, "Number must be between 0 and 100000."),
        ({"quantity": "1", "reserve_pct": "lots", "reason": "karena"}, "Not a valid decimal value."),
    ],
)
def test_a_bad_norm_change_is_refused_and_changes_nothing(seeded, log_in, data, message):
    client = log_in(UserFactory(role="admin"))
    response = client.post("/norms/SURAT_SUARA_DPR", data=data)
    assert response.status_code == 200 and 'class="error"' in response.text
    assert seeded.scalar(select(NormChange)) is None


def test_only_a_national_admin_changes_norms(seeded, supervisor, log_in):
    assert log_in(supervisor).get("/norms").status_code == 200
    assert log_in(supervisor).post("/norms/SURAT_SUARA_DPR", data={}).status_code == 403
    regional = UserFactory(role="admin", scope_region_code="31.01")
    seeded.commit()
    assert log_in(regional).get("/norms/SURAT_SUARA_DPR").status_code == 403


def test_a_pilkada_reserves_2_5_percent(session, app):
    seed_region(session, "31.01", {**app.config, "ELECTION_TYPE": "pilkada"})
    tps = session.scalar(select(Site).where(Site.kind == "tps").order_by(Site.code).limit(1))
    session.execute(update(Site).where(Site.id == tps.id).values(dpt=300))
    row = next(c for c in compute_needs(session, tps.region_code).children if c.code == tps.code)
    assert row.items["SURAT_SUARA_PRESIDEN"] == 308  # 300 + 2.5% = 307.5, rounded up


def test_an_unknown_election_type_is_refused(session, app):
    with pytest.raises(ValueError, match="ELECTION_TYPE must be one of pemilu, pilkada"):
        seed_region(session, "31.01", {**app.config, "ELECTION_TYPE": "referendum"})


def test_large_norms_neither_overflow_nor_drift_from_the_history(seeded, log_in):
    """A per-voter norm in the thousands still sums exactly; a reserve is kept with the two decimals stored."""
    client = log_in(UserFactory(role="admin"))
    data = {"quantity": "5000", "reserve_pct": "2.555", "reason": "uji angka besar"}
    assert client.post("/norms/SURAT_SUARA_DPR", data=data).status_code == 302
    change = seeded.scalar(select(NormChange).where(NormChange.field == "reserve_pct"))
    assert change.new_value == "2.56"
    assert (
        compute_needs(seeded, "31.01").total.items["SURAT_SUARA_DPR"] == by_python(seeded, "31.01")["SURAT_SUARA_DPR"]
    )
