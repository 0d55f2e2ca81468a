"""Region, dapil and TPS imports: good files load, bad files are refused whole with line numbers."""

from __future__ import annotations

import csv
import io
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from webapp.geo.models import Dapil, DapilRegion, Region, Site, TpsDapil
from webapp.geo.services import ImportRejected, import_dapil, import_regions, import_tps, region_counts


def csv_file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text.lstrip(), encoding="utf-8")
    return path


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- regions -----------------------------------------------------------------------------------


def test_region_table_has_every_level_of_indonesia(session):
    assert region_counts(session) == {1: 38, 2: 514, 3: 7285, 4: 83762}
    assert session.get(Region, "31.75.04").name == "Kramatjati"
    assert session.get(Region, "31.75.04.1001").parent_code == "31.75.04"


def test_import_regions_into_an_empty_table_gives_exact_counts(session, runner):
    for level in (4, 3, 2, 1):  # children first, for the parent foreign key
        session.execute(Region.__table__.delete().where(Region.level == level))
    assert count(session, Region) == 0
    result = runner.invoke(args=["geo", "import-regions"])
    assert result.exit_code == 0, result.output
    assert "province: 38, kabkota: 514, kecamatan: 7285, desa: 83762" in result.output
    assert region_counts(session) == {1: 38, 2: 514, 3: 7285, 4: 83762}


def test_import_regions_twice_changes_nothing(session):
    result = import_regions(session)
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 91599)


def test_import_regions_renames_and_adds(session, tmp_path):
    path = csv_file(tmp_path, "w.csv", "kode,nama\n31.75.04,Kramat Jati\n31.75.04.9001,Kelurahan Baru\n")
    result = import_regions(session, path)
    assert (result.inserted, result.updated) == (1, 1)
    assert session.get(Region, "31.75.04").name == "Kramat Jati"
    assert session.get(Region, "31.75.04.9001").level == 4


def test_bad_region_file_is_refused_with_line_numbers_and_nothing_written(session, tmp_path, runner):
    before = count(session, Region)
    path = csv_file(
        tmp_path,
        "bad.csv",
        """
kode,nama
31.75.04.9001,Fine Desa
3175049002,Undotted
31.75.04.9003,
99.01.01.0001,Orphan
31.75.04.9001,Twice
""",
    )
    with pytest.raises(ImportRejected) as caught:
        import_regions(session, path)
    lines = {p.line for p in caught.value.problems}
    assert lines == {3, 4, 5, 6}
    assert count(session, Region) == before
    assert session.get(Region, "31.75.04.9001") is None

    result = runner.invoke(args=["geo", "import-regions", str(path)])
    assert result.exit_code == 1
    assert "line 3:" in result.output and "line 6:" in result.output
    assert count(session, Region) == before


def test_region_file_without_the_right_columns_is_refused(session, tmp_path):
    path = csv_file(tmp_path, "cols.csv", "code,name\n31,DKI\n")
    with pytest.raises(ImportRejected, match="1 problem") as caught:
        import_regions(session, path)
    assert "missing column(s): kode, nama" in str(caught.value.problems[0])


def test_region_file_that_is_not_utf8_is_refused(session, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("kode,nama\n31.75.04.9001,Kelurahan \xe9\n".encode("latin-1"))
    with pytest.raises(ImportRejected) as caught:
        import_regions(session, path)
    assert "not UTF-8" in str(caught.value.problems[0])


# --- dapil -------------------------------------------------------------------------------------

GOOD_DAPIL = """
contest,dapil_code,dapil_name,region_code
DPR,T-DPR-1,Uji I,31.01
DPD,T-DPD,Uji DPD,31
DPRD_PROV,T-PROV-1,Uji Prov 1,31.01.01
DPRD_PROV,T-PROV-2,Uji Prov 2,31.01.02
"""


def test_import_dapil_loads_and_assigns_tps(session, tmp_path):
    tps = Site(code="TPS-3101011001001", kind="tps", name="TPS 001", region_code="31.01.01.1001", tps_number=1, dpt=200)
    session.add(tps)
    session.flush()
    result = import_dapil(session, csv_file(tmp_path, "d.csv", GOOD_DAPIL))
    assert result.inserted == 4
    assert result.tps_ids == {tps.id}
    assert tps.dapil_for("DPRD_PROV").code == "T-PROV-1"
    assert tps.dapil_for("DPR").code == "T-DPR-1"
    assert tps.dapil_for("DPD").code == "T-DPD"
    again = import_dapil(session, csv_file(tmp_path, "d2.csv", GOOD_DAPIL))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


def test_import_dapil_accepts_kpu_codes_without_dots(session, tmp_path):
    import_dapil(
        session, csv_file(tmp_path, "d.csv", "contest,dapil_code,dapil_name,region_code\nDPRD_PROV,T-P,Uji,310101\n")
    )
    assert session.scalar(select(DapilRegion.region_code).join(Dapil).where(Dapil.code == "T-P")) == "31.01.01"


def test_bad_dapil_file_is_refused_whole(session, tmp_path, runner):
    before = (count(session, Dapil), count(session, DapilRegion), count(session, TpsDapil))
    path = csv_file(
        tmp_path,
        "bad.csv",
        """
contest,dapil_code,dapil_name,region_code
DPR,T-DPR-1,Uji I,31.01
SENATE,T-X,Uji,31.01
DPR,T-DPR-2,Uji II,31.01
DPRD_KAB,T-K,Uji,32.01
DPR,T-DPR-3,Uji III,99.99
DPRD_PROV,T-P,Uji,31.01.01
DPRD_PROV,T-P,Uji,32.01.01
DPR,T-DPR-1,Another name,31.71
""",
    )
    with pytest.raises(ImportRejected) as caught:
        import_dapil(session, path)
    by_line = {p.line: p.message for p in caught.value.problems}
    assert set(by_line) == {3, 4, 5, 6, 8, 9}
    assert "not one of DPR" in by_line[3]
    assert "already in DPR dapil T-DPR-1" in by_line[4]
    assert "kecamatan or desa" in by_line[5]
    assert "not a known region" in by_line[6]
    assert "spans" in by_line[8]
    assert "was given as" in by_line[9]
    assert (count(session, Dapil), count(session, DapilRegion), count(session, TpsDapil)) == before

    result = runner.invoke(args=["geo", "import-dapil", str(path)])
    assert result.exit_code == 1 and "line 4:" in result.output


def test_dapil_that_overlaps_a_stored_one_is_refused(session, tmp_path):
    import_dapil(session, csv_file(tmp_path, "a.csv", "contest,dapil_code,dapil_name,region_code\nDPR,T-A,A,31.01\n"))
    with pytest.raises(ImportRejected, match="1 problem") as caught:
        import_dapil(
            session, csv_file(tmp_path, "b.csv", "contest,dapil_code,dapil_name,region_code\nDPR,T-B,B,31.01\n")
        )
    assert "already in DPR dapil T-A in the database" in caught.value.problems[0].message


# --- TPS ---------------------------------------------------------------------------------------


def test_import_tps_creates_route_sites_and_dapil(session, tmp_path):
    import_dapil(session, csv_file(tmp_path, "d.csv", GOOD_DAPIL))
    path = csv_file(
        tmp_path,
        "tps.csv",
        """
kode_tps,nama,dpt,alamat,dapil_dpr
3101011001001,TPS 001 Pulau Panggang,287,"Jl. Dermaga, RT 01",T-DPR-1
3101011001002,,150,,
3101011001003,,150,-,
""",
    )
    result = import_tps(session, path)
    assert result.inserted == 3
    # KPU's files write a lone "-" where there is no address: no address, not a refused formula.
    assert session.scalar(select(Site.address).where(Site.code == "TPS-3101011001003")) is None
    tps = session.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    assert (tps.dpt, tps.address, tps.tps_number) == (287, "Jl. Dermaga, RT 01", 1)
    assert [s.code for s in (tps.parent, tps.parent.parent, tps.parent.parent.parent)] == [
        "PPS-3101011001",
        "PPK-310101",
        "KPU-3101",
    ]
    assert tps.parent.parent.parent.parent.code == "KPU-31"
    assert tps.dapil_for("DPRD_PROV").code == "T-PROV-1"
    second = session.scalar(select(Site).where(Site.code == "TPS-3101011001002"))
    assert second.name == "TPS 002" and second.dapil_for("DPR").code == "T-DPR-1"
    again = import_tps(session, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_bad_tps_file_is_refused_with_line_numbers(session, tmp_path, runner):
    before = count(session, Site)
    path = csv_file(
        tmp_path,
        "bad.csv",
        """
kode_tps,nama,dpt,dapil_dpr
3101011001001,TPS 001,280,
31010110010,TPS short,280,
9999999999001,TPS nowhere,280,
3101011001003,TPS 003,many,
3101011001004,TPS 004,5000,
3101011001001,TPS again,10,
3101011001006,TPS 006,10,NO-SUCH-DAPIL
3101011001007,TPS 007,10,,extra
TPS-3101011001001,TPS 001 again,10,
3101011001009,TPS 009,2_00,
""",
    )
    with pytest.raises(ImportRejected) as caught:
        import_tps(session, path)
    by_line = {p.line: p.message for p in caught.value.problems}
    assert set(by_line) == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert "already appears on line 2" in by_line[10]  # the same TPS written with its site code
    assert "not a whole number" in by_line[11]
    assert "13 digits" in by_line[3]
    assert "not a known desa" in by_line[4]
    assert "not a whole number" in by_line[5]
    assert "outside 0-1000" in by_line[6]
    assert "already appears on line 2" in by_line[7]
    assert "not a known DPR dapil" in by_line[8]
    assert "more cells than columns" in by_line[9]
    assert count(session, Site) == before

    result = runner.invoke(args=["geo", "import-tps", str(path)])
    assert result.exit_code == 1 and "line 5:" in result.output
    assert count(session, Site) == before


def test_import_from_a_stream(session):
    result = import_regions(session, io.StringIO("kode,nama\n31.75.04.9009,Dari Stream\n"))
    assert result.inserted == 1


SWAP_BEFORE = """
contest,dapil_code,dapil_name,region_code
DPRD_PROV,T-4,Uji 4,31.01.01
DPRD_PROV,T-5,Uji 5,31.01.02
"""
SWAP_AFTER = """
contest,dapil_code,dapil_name,region_code
DPRD_PROV,T-4,Uji 4,31.01.02
DPRD_PROV,T-5,Uji 5,31.01.01
"""


def test_correcting_a_dapil_swap_moves_tps_and_planned_boxes(session, tmp_path, runner):
    """The dapil 4/5 mix-up, corrected by importing the fixed table: TPS and unlabelled boxes follow."""
    from webapp.boxes.models import Box

    assert runner.invoke(args=["geo", "import-dapil", str(csv_file(tmp_path, "a.csv", SWAP_BEFORE))]).exit_code == 0
    result = runner.invoke(
        args=["geo", "import-tps", str(csv_file(tmp_path, "t.csv", "kode_tps,nama,dpt\n3101011001001,TPS 001,280\n"))]
    )
    assert result.exit_code == 0, result.output
    tps = session.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    box = session.scalar(select(Box).where(Box.destination_id == tps.id, Box.contest == "DPRD_PROV"))
    assert box.dapil.code == "T-4"
    result = runner.invoke(args=["geo", "import-dapil", str(csv_file(tmp_path, "b.csv", SWAP_AFTER))])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert tps.dapil_for("DPRD_PROV").code == "T-5"
    assert box.dapil.code == "T-5"
    assert all(line.dapil.code == "T-5" for line in box.lines if line.item_type.per_dapil)


def test_kpu_dapil_links_are_not_overridden_by_the_dapil_table(session, tmp_path):
    import_dapil(session, csv_file(tmp_path, "a.csv", SWAP_BEFORE))
    import_tps(
        session, csv_file(tmp_path, "t.csv", "kode_tps,nama,dpt,dapil_dprd_prov\n3101011001001,TPS 001,280,T-5\n")
    )
    import_dapil(session, csv_file(tmp_path, "b.csv", SWAP_AFTER.replace("Uji 4", "Uji Empat")))
    tps = session.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    assert tps.dapil_for("DPRD_PROV").code == "T-5"


def test_a_dpt_change_replans_unlabelled_boxes(session, tmp_path, runner):
    from webapp.boxes.models import Box

    path = csv_file(tmp_path, "t.csv", "kode_tps,nama,dpt\n3101011001001,TPS 001,299\n")
    runner.invoke(args=["geo", "import-tps", str(path)])
    tps = session.scalar(select(Site).where(Site.code == "TPS-3101011001001"))
    box = session.scalar(select(Box).where(Box.destination_id == tps.id, Box.contest == "DPR"))
    sscc = box.sscc
    ballots = lambda: next(x.quantity for x in box.lines if x.item_type.code == "SURAT_SUARA_DPR")  # noqa: E731
    assert ballots() == 305
    path.write_text("kode_tps,nama,dpt\n3101011001001,TPS 001,280\n")
    result = runner.invoke(args=["geo", "import-tps", str(path)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert ballots() == 286 and box.sscc == sscc


def test_dapil_overlapping_a_stored_one_at_another_level_is_refused(session, tmp_path):
    import_dapil(
        session, csv_file(tmp_path, "a.csv", "contest,dapil_code,dapil_name,region_code\nDPRD_PROV,T-A,A,31.01\n")
    )
    with pytest.raises(ImportRejected) as caught:
        import_dapil(
            session,
            csv_file(tmp_path, "b.csv", "contest,dapil_code,dapil_name,region_code\nDPRD_PROV,T-B,B,31.01.01\n"),
        )
    assert "lies inside 31.01, which is in dapil T-A" in caught.value.problems[0].message
    with pytest.raises(ImportRejected) as caught:
        import_dapil(
            session, csv_file(tmp_path, "c.csv", "contest,dapil_code,dapil_name,region_code\nDPR,T-A,A,31.01\n")
        )
    assert "exists as a DPRD_PROV dapil" in caught.value.problems[0].message


def test_dki_elects_no_dprd_kab(session, tmp_path):
    with pytest.raises(ImportRejected) as caught:
        import_dapil(
            session, csv_file(tmp_path, "a.csv", "contest,dapil_code,dapil_name,region_code\nDPRD_KAB,T-K,K,31.01.01\n")
        )
    assert "elects no DPRD kab/kota" in caught.value.problems[0].message


# --- files that must be refused with line numbers, never a traceback ---------------------------

TPS_HEADER = b"kode_tps,nama,dpt,alamat\n"
BAD_FILES = {
    "nul byte": (
        "import-tps",
        TPS_HEADER + b"3101011001001,TPS 001,280,\n3101011001002,TPS\x00 002,150,\n",
        3,
        "nama contains the control character U+0000",
    ),
    "cell over the csv limit": (
        "import-tps",
        TPS_HEADER + b"3101011001001,TPS 001,280," + b"x" * 131_073 + b"\n",
        2,
        "a cell is longer than 131,072 characters",
    ),
    "alamat over 255": (
        "import-tps",
        TPS_HEADER + b"3101011001001,TPS 001,280," + b"J" * 256 + b"\n",
        2,
        "alamat is 256 characters long; at most 255 fit",
    ),
    "not utf-8": (
        "import-tps",
        TPS_HEADER + b"3101011001001,TPS 001,280,\n3101011001002,TPS 002,150,Jl. Caf\xe9\n",
        3,
        "not UTF-8",
    ),
    "utf-16": ("import-tps", "kode_tps,nama,dpt\n".encode("utf-16"), 1, "UTF-16"),
    "empty file": ("import-tps", b"", 1, "the file is empty"),
    "too few cells": ("import-tps", TPS_HEADER + b"3101011001001,TPS 001\n", 2, "fewer cells than columns (2, not 4)"),
    "a quote left open": (
        "import-tps",
        TPS_HEADER + b'3101011001001,"TPS 001,280,\n3101011001002,TPS 002,150,\n',
        2,
        "fewer cells than columns",
    ),
    "a column twice": (
        "import-tps",
        b"kode_tps,nama,dpt,nama\n3101011001001,A,280,B\n",
        1,
        "column nama appears twice",
    ),
    "superscript digit": ("import-tps", TPS_HEADER + "310101100100²,TPS,1,\n".encode(), 2, "must be 13 digits"),
    "formula in nama": (
        "import-tps",
        TPS_HEADER + b'3101011001001,"=HYPERLINK(""http://evil"",""klik"")",280,\n',
        2,
        "nama starts with '=', which a spreadsheet would run as a formula",
    ),
    "formula in alamat": ("import-tps", TPS_HEADER + b"3101011001001,TPS 001,280,-1+2\n", 2, "alamat starts with '-'"),
    "formula in dapil_name": (
        "import-dapil",
        b"contest,dapil_code,dapil_name,region_code\nDPR,T-1,Uji,31.01\nDPR,T-2,@SUM(A1),31.71\n",
        3,
        "dapil_name starts with '@'",
    ),
    "control character in dapil_code": (
        "import-dapil",
        b"contest,dapil_code,dapil_name,region_code\nDPR,T-\x1b[2J,Uji,31.01\n",
        2,
        "dapil_code contains the control character U+001B",
    ),
    "formula in a region name": (
        "import-regions",
        b"kode,nama\n31.75.04.9001,+62 812\n",
        2,
        "nama starts with '+'",
    ),
    "a region code in other digits": (
        "import-regions",
        "kode,nama\n٣١.٠١.٠١.٩٠٠١,Desa\n".encode(),
        2,
        "is not a dotted region code",
    ),
}


def stored(session) -> tuple:
    """What the imports write, as comparable rows (the region table by its count and its DKI rows)."""
    return (
        count(session, Region),
        session.execute(select(Region.code, Region.name).where(Region.code.like("31.%")).order_by(Region.code)).all(),
        session.execute(select(Dapil.code, Dapil.contest, Dapil.name).order_by(Dapil.code)).all(),
        session.execute(select(DapilRegion.dapil_id, DapilRegion.region_code).order_by(DapilRegion.region_code)).all(),
        session.execute(select(Site.code, Site.name, Site.address, Site.dpt).order_by(Site.code)).all(),
        session.execute(select(TpsDapil.site_id, TpsDapil.contest, TpsDapil.dapil_id).order_by(TpsDapil.site_id)).all(),
    )


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_by_the_command_with_its_line_and_no_traceback(session, runner, tmp_path, case):
    command, content, line, message = BAD_FILES[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = stored(session)
    result = runner.invoke(args=["geo", command, str(path)])
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert result.exit_code == 1
    assert f"line {line}: " in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert stored(session) == before


# --- fuzzing: any file either imports cleanly or is refused with line numbers --------------------

NASTY = [
    "",
    " ",
    '=HYPERLINK("http://evil","klik")',
    "@SUM(A1)",
    "+62",
    "-1+2",
    "\t=1",
    "a\x00b",
    "\x1b[2J",
    "two\nlines",
    'a "quote"',
    "a,b",
    "\ufeffx",
    "²",
    "٣١",
    "x" * 256,
    "é" * 161,
]
DESA = ["3101011001", "3101011002", "3101021001", "9999999999"]
cell = st.one_of(st.text(max_size=12), st.sampled_from(NASTY))


def mostly(good: st.SearchStrategy) -> st.SearchStrategy:
    """A right value seven times in eight (so that whole files get imported), anything else otherwise."""
    return st.integers(0, 7).flatmap(lambda n: cell if n == 0 else good)


def text_or(*names: str) -> st.SearchStrategy:
    """A name column: an ordinary name or any cell, half and half."""
    return st.one_of(st.sampled_from(names), cell)


def mostly_first(choices: list) -> st.SearchStrategy:
    """The first choice seven times in eight, one of the others otherwise."""
    return st.integers(0, 7).flatmap(lambda n: st.sampled_from(choices[1:] if n == 0 else choices[:1]))


COLUMNS = {
    "kode_tps": mostly(
        st.builds(
            lambda desa, n, prefix: f"{prefix}{desa}{n:03d}",
            st.sampled_from(DESA),
            st.integers(1, 999),
            st.sampled_from(["", "TPS-"]),
        )
    ),
    "nama": text_or("TPS 001", "Balai RW 03", ""),
    "dpt": mostly(st.integers(-5, 1100).map(str)),
    "alamat": text_or("Jl. Dermaga, RT 01", ""),
    "dapil_dpr": mostly(st.sampled_from(["", "T-DPR-1"])),
    "dapil_dprd_prov": mostly(st.sampled_from(["", "T-PROV-1", "T-PROV-2"])),
    "contest": mostly(st.sampled_from(["DPR", "DPD", "DPRD_PROV", "DPRD_KAB", "dpr"])),
    "dapil_code": text_or("F-1", "F-2", "T-DPR-1"),
    "dapil_name": text_or("Uji I", "Uji II"),
    "region_code": mostly(st.sampled_from(["31", "31.01", "3101", "31.01.01", "31.01.01.1001", "31.71"])),
    "kode": mostly(st.sampled_from(["31.01.01.1001", "31.01.01.9001", "31.01.03", "31.01.03.9001", "31.01", "99"])),
}
HEADERS = {  # the first is the usual one
    "import_tps": [
        ["kode_tps", "nama", "dpt", "alamat", "dapil_dpr", "dapil_dprd_prov"],
        ["kode_tps", "nama", "dpt"],
        ["dpt", "alamat", "kode_tps", "nama"],
        ["kode_tps", "nama"],
    ],
    "import_dapil": [["contest", "dapil_code", "dapil_name", "region_code"], ["region_code", "contest", "dapil_code"]],
    "import_regions": [["kode", "nama"], ["nama", "kode", "alamat"], ["kode"]],
}
IMPORTERS = {"import_tps": import_tps, "import_dapil": import_dapil, "import_regions": import_regions}
FUZZ = settings(
    max_examples=50,
    derandomize=True,  # the same examples in every run: CI does not fail by chance (run with a seed to explore)
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def csv_files(draw, importer: str) -> bytes:
    """A CSV as a person or a program might write it: mostly the right columns, some cells and rows off."""
    header = draw(mostly_first(HEADERS[importer]))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(COLUMNS[name]) if name in COLUMNS else draw(cell) for name in header]
        cut = draw(st.sampled_from([0] * 8 + [-1, 1]))  # now and then a cell too few or too many
        rows.append(row[:cut] if cut < 0 else row + [draw(cell)] * cut)
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"]))).writerows([header, *rows])
    encoding = draw(mostly_first(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return out.getvalue().encode(encoding, errors="replace")


@st.composite
def raw_files(draw, importer: str) -> bytes:
    """Random bytes, after a right header half of the time (so the rows get read)."""
    header = ",".join(HEADERS[importer][0]).encode() + b"\n"
    return draw(st.sampled_from([b"", header])) + draw(st.binary(max_size=200))


def clean(text: str) -> bool:
    """Text that fits every name column, has no control characters and does not start a formula."""
    return (
        len(text) <= 255
        and text == text.strip()
        and not text.startswith(("=", "+", "-", "@"))
        and all(unicodedata.category(c) not in ("Cc", "Cs") for c in text)
    )


def check_import(session, importer: str, path) -> None:
    """Import `path` in a savepoint: either it succeeds and what it stored is clean, or it is refused with
    line-numbered, printable problems and nothing was written. Any other exception fails the test."""
    before = stored(session)
    savepoint = session.begin_nested()
    try:
        IMPORTERS[importer](session, path)
    except ImportRejected as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and str(problem).startswith(f"line {problem.line}: ")
            assert str(problem).isprintable(), str(problem)  # no control characters sent to the terminal
        assert stored(session) == before
    else:
        _regions, region_rows, dapils, _links, sites, _tps_links = stored(session)
        names = [name for _code, name in region_rows] + [name for _code, _contest, name in dapils]
        names += [code for code, _contest, _name in dapils] + [s.name for s in sites] + [s.address or "" for s in sites]
        assert [name for name in names if not clean(name)] == []
    finally:
        savepoint.rollback()


@pytest.fixture
def fuzz_dapil(session, tmp_path):
    """The dapil the TPS files may name."""
    import_dapil(session, csv_file(tmp_path, "d.csv", GOOD_DAPIL))
    return session


def test_an_invisible_character_in_a_refused_name_is_shown_as_its_code_point(fuzz_dapil, tmp_path):
    """Found by the fuzzer: a dapil name starting with a stray BOM was echoed raw into the problem."""
    bad = "contest,dapil_code,dapil_name,region_code\nDPR,\ufeffx,\ufeffx,31.01.01\n"
    with pytest.raises(ImportRejected) as refused:
        import_dapil(fuzz_dapil, csv_file(tmp_path, "bom.csv", bad))
    shown = [str(problem) for problem in refused.value.problems]
    assert all(line.isprintable() for line in shown), shown
    assert any("\\ufeffx" in line for line in shown), shown


@pytest.mark.parametrize("importer", IMPORTERS)
def test_fuzzed_csv_files_import_or_are_refused_with_line_numbers(fuzz_dapil, tmp_path, importer):
    @FUZZ
    @given(content=csv_files(importer))
    def run(content):
        path = tmp_path / "fuzz.csv"
        path.write_bytes(content)
        check_import(fuzz_dapil, importer, path)

    run()


@pytest.mark.parametrize("importer", IMPORTERS)
def test_random_bytes_import_or_are_refused_with_line_numbers(fuzz_dapil, tmp_path, importer):
    @FUZZ
    @given(content=raw_files(importer))
    def run(content):
        path = tmp_path / "fuzz.csv"
        path.write_bytes(content)
        check_import(fuzz_dapil, importer, path)

    run()
