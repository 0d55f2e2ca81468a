"""Seeding: the Jakarta Timur demo and any kab/kota, realistic, repeatable."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from webapp.auth.models import User
from webapp.boxes.models import Box, ManifestLine, Packet
from webapp.boxes.services import is_valid_sscc
from webapp.geo.models import Dapil, Region, Site, TpsDapil
from webapp.geo.seed import DKI_DPRD_JAKTIM, _population
from webapp.planning.models import ItemType

pytestmark = pytest.mark.slow


def snapshot(session) -> dict:
    """Everything a repeat seed must leave exactly as it was."""
    return {
        "sites": sorted(session.execute(select(Site.code, Site.name, Site.dpt, Site.parent_id)).all()),
        "boxes": sorted(
            session.execute(select(Box.sscc, Box.destination_id, Box.contest, Box.dapil_id, Box.set_index)).all()
        ),
        "lines": session.scalar(select(func.sum(ManifestLine.quantity))),
        "dapil": sorted(session.scalars(select(Dapil.code))),
        "tps_dapil": session.scalar(select(func.count()).select_from(TpsDapil)),
        "users": sorted(session.scalars(select(User.username))),
        "items": session.scalar(select(func.count()).select_from(ItemType)),
        "packets": sorted(session.execute(select(Packet.sscc, Packet.tps_id, Packet.item_type_id)).all()),
        # No box row written again: every write would send the box to every phone's offline list anew.
        "box_changes": session.scalar(select(func.max(Box.change_stamp))),
    }


def test_seed_demo_builds_jakarta_timur_with_manifests_by_norm_and_dapil(session, runner, app):
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    for username in ("admin", "supervisor", "gudang", "kurir", "petugas", "pengawas"):
        assert username in result.output  # the logins are printed

    kecamatan = session.scalars(select(Site).where(Site.kind == "ppk", Site.region_code.like("31.75.%"))).all()
    kelurahan = session.scalars(select(Site).where(Site.kind == "pps", Site.region_code.like("31.75.%"))).all()
    assert len(kecamatan) == 10 and len(kelurahan) == 65
    assert {s.name for s in kecamatan} >= {"PPK Kec. Kramatjati", "PPK Kec. Duren Sawit", "PPK Kec. Cipayung"}
    assert {
        s.code
        for s in session.scalars(select(Site).where(Site.kind.in_(["printer", "warehouse_prov", "warehouse_kab"])))
    } >= {"PRN-1", "KPU-31", "KPU-3175"}

    # TPS sized from population at the stated ratio, never over 300 voters.
    tps = session.scalars(select(Site).where(Site.kind == "tps", Site.region_code.like("31.75.%"))).all()
    by_desa = defaultdict(list)
    for site in tps:
        assert 0 < site.dpt <= 300
        by_desa[site.region_code].append(site.dpt)
    assert len(by_desa) == 65
    for voters in by_desa.values():
        assert len(voters) == math.ceil(sum(voters) / 300)
    expected_voters = _population()["31.75"] * app.config["SEED_VOTER_RATIO"]
    assert abs(sum(s.dpt for s in tps) - expected_voters) <= 65  # rounding once per kelurahan
    assert len(tps) == sum(math.ceil(sum(v) / 300) for v in by_desa.values())

    # Exactly four boxes per TPS (no DPRD kab/kota in DKI), each with destination and manifest.
    boxes = session.scalars(
        select(Box).join(Site, Box.destination_id == Site.id).where(Site.region_code.like("31.75.%"))
    ).all()
    per_tps = Counter(box.destination_id for box in boxes)
    assert set(per_tps.values()) == {4} and len(per_tps) == len(tps)
    assert {box.contest for box in boxes} == {"PRESIDEN", "DPR", "DPD", "DPRD_PROV"}
    assert all(is_valid_sscc(box.sscc) for box in boxes)
    assert len({box.sscc for box in boxes}) == len(boxes)
    demo_manifests_follow_the_norms_and_dapil(session)  # the same seed (each costs half a minute)


def demo_manifests_follow_the_norms_and_dapil(session) -> None:
    tps = session.scalar(select(Site).where(Site.code == "TPS-3175041001001"))  # Kramatjati: DPRD DKI 5
    assert tps is not None
    boxes = {box.contest: box for box in session.scalars(select(Box).where(Box.destination_id == tps.id))}
    assert sorted(b.set_index for b in boxes.values()) == [1, 2, 3, 4]
    for contest, box in boxes.items():
        ballots = next(line for line in box.lines if line.item_type.code == f"SURAT_SUARA_{contest}")
        assert ballots.quantity == math.ceil(tps.dpt * 1.02)
    assert boxes["DPRD_PROV"].dapil.name.endswith(" 5")
    assert boxes["DPR"].dapil.name.endswith(" I")
    assert boxes["DPRD_PROV"].lines[0].dapil_id == boxes["DPRD_PROV"].dapil_id
    cakung = session.scalar(select(Site).where(Site.code.like("TPS-317506%")))
    assert cakung.dapil_for("DPRD_PROV").name.endswith(" 4")
    assert {"31.75.01", "31.75.02", "31.75.06"} == set(DKI_DPRD_JAKTIM[4])
    tinta = next(line for line in boxes["PRESIDEN"].lines if line.item_type.code == "TINTA")
    assert tinta.quantity == 2


def test_seed_demo_twice_changes_nothing(session, runner):
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0 and "18 printer cartons created" in result.output
    session.commit()
    first = snapshot(session)
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0
    assert "0 sites (0 TPS), 0 boxes, 0 packets and 0 printer cartons created" in result.output
    assert snapshot(session) == first


def test_seed_demo_if_empty_skips_a_database_with_data(session, runner, seeded):
    result = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert "skipped" in result.output
    assert session.scalar(select(func.count()).select_from(Site).where(Site.region_code.like("31.75.%"))) == 0


def test_seed_region_outside_dki_gives_five_boxes_and_dprd_kab(session, runner):
    result = runner.invoke(args=["seed", "region", "1372"])  # Kota Solok, KPU code without dots
    assert result.exit_code == 0, result.output
    tps = session.scalars(select(Site).where(Site.kind == "tps", Site.region_code.like("13.72.%"))).all()
    desa = session.scalar(
        select(func.count()).select_from(Region).where(Region.level == 4, Region.code.like("13.72.%"))
    )
    assert len({s.region_code for s in tps}) == desa
    boxes = session.scalars(select(Box).where(Box.destination_id.in_([s.id for s in tps]))).all()
    assert set(Counter(b.destination_id for b in boxes).values()) == {5}
    dprd_kab = [b for b in boxes if b.contest == "DPRD_KAB"]
    assert dprd_kab and all(b.dapil is not None and b.dapil.contest == "DPRD_KAB" for b in dprd_kab)
    assert all(b.dapil is not None for b in boxes if b.contest != "PRESIDEN")


def test_seed_region_refuses_unknown_or_too_deep_codes(runner):
    for code in ("99.99", "31.75.04", "hello"):
        result = runner.invoke(args=["seed", "region", code])
        assert result.exit_code != 0
        assert "not a province or kab/kota" in result.output
