"""CSV and XLSX downloads: text someone typed or imported is never run as a formula by a spreadsheet."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import TPS
from tests.custody.conftest import world as world  # the fixture, re-exported
from webapp.core.exports import csv_response, xlsx_response
from webapp.custody.handovers import start_handover
from webapp.custody.models import Alert
from webapp.geo.models import Dapil, Site
from webapp.planning.models import ItemType

# One per character that starts a formula (OWASP): =, @, +, -, tab, carriage return.
HOSTILE = [
    '=HYPERLINK("http://evil","klik")',
    '@SUM(1+1)*cmd|"/C calc"!A0',
    '+1+cmd|"/C calc"!A0',
    '-2+3+cmd|"/C calc"!A0',
    "\t=1+2",
    "\r=1+2",
]


def csv_cells(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    rows = csv.reader(io.StringIO(response.get_data(as_text=True), newline=""))
    return [cell for row in rows for cell in row]


def xlsx_cells(response) -> list:
    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [cell for row in sheet.iter_rows() for cell in row]


def shown(text: str) -> str:
    """XML turns a carriage return into a line feed: what openpyxl reads back."""
    return text.replace("\r", "\n")


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_would_start_a_formula_is_written_as_text(app, text):
    header = ["Nama", "Angka"]
    rows = [[text, -5], ["-1+2", 2.5], ["=1+2", 0]]
    with app.test_request_context():
        as_csv, as_xlsx = csv_response("t", header, rows), xlsx_response("t", "T", header, rows, freeze="A2")
    assert csv_cells(as_csv) == ["Nama", "Angka", "'" + text, "-5", "'-1+2", "2.5", "'=1+2", "0"]
    cells = xlsx_cells(as_xlsx)
    assert [(c.value, c.data_type) for c in cells] == [
        ("Nama", "s"),
        ("Angka", "s"),
        (shown("'" + text), "s"),
        (-5, "n"),  # a real negative number stays a number
        ("'-1+2", "s"),
        (2.5, "n"),
        ("'=1+2", "s"),
        (0, "n"),
    ]


# --- every export of the app, with hostile text where each shows typed or imported text -----------


def _alert_notes(world) -> list[str]:
    """Resolved alerts at the TPS; the first resolved through the alerts page, as a supervisor would."""
    session = world.session
    site = session.scalar(select(Site).where(Site.code == TPS))
    now = datetime.now(UTC)
    alerts = [Alert(kind="damaged", state="open", site_id=site.id, details={}, created_at=now) for _ in HOSTILE]
    session.add_all(alerts)
    for alert, note in zip(alerts[1:], HOSTILE[1:], strict=True):
        alert.state, alert.resolved_at, alert.resolution_note = "resolved", now, note
    session.commit()
    return [alerts[0].id]


def _tps_names(world) -> None:
    sites = world.session.scalars(
        select(Site).where(Site.kind == "tps", Site.region_code == "31.01.01.1001").order_by(Site.code)
    ).all()
    for site, name in zip(sites, HOSTILE, strict=False):
        site.name = name
    world.session.commit()


def _dapil_and_item_codes(world) -> None:
    session = world.session
    dapils = session.scalars(select(Dapil).where(Dapil.code.in_(["DPD-31", "DPR-31-03", "DPRD_PROV-31-03"]))).all()
    items = session.scalars(select(ItemType).where(ItemType.code.in_(["TINTA", "SEGEL", "BILIK_SUARA"]))).all()
    for row, code in zip([*dapils, *items], HOSTILE, strict=True):
        row.code = code
    session.commit()


def _handover_numbers(world) -> None:
    for number in HOSTILE:
        handover = start_handover(
            world.session, actor=world.gudang, token=str(uuid.uuid4()), site_code="KPU-3101", to="PPK-310101"
        )
        handover.number = number
    world.session.commit()


EXPORTS = {
    "alerts": ("/alerts", _alert_notes),
    "readiness": ("/dashboard/31.01.01.1001", _tps_names),
    "needs": ("/needs/31.01.01.1001", _tps_names),
    "stock": ("/stock/31.01", _dapil_and_item_codes),
    "handovers": ("/handovers", _handover_numbers),
}


@pytest.mark.parametrize("export", EXPORTS)
def test_every_export_writes_hostile_text_as_text(client, world, export):
    path, plant = EXPORTS[export]
    to_resolve = plant(world)
    login(client, world.supervisor.username)
    for alert_id in to_resolve or []:  # the alerts page's own form, with the audit's note
        answer = client.post(f"/alerts/{alert_id}", data={"action": "resolve", "note": HOSTILE[0]})
        assert answer.status_code == 302
    texts = csv_cells(client.get(f"{path}.csv"))
    for text in HOSTILE:
        assert "'" + text in texts
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@", "\t", "\r"))]
    cells = xlsx_cells(client.get(f"{path}.xlsx"))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = [c.value for c in cells]
    for text in HOSTILE:
        assert shown("'" + text) in values
    assert not [v for v in values if isinstance(v, str) and v.startswith(("=", "+", "-", "@", "\t", "\n"))]


def test_a_note_with_a_control_character_still_downloads_as_xlsx(client, world):
    """XML cannot hold most control characters; a pasted escape sequence must not break the download."""
    ids = _alert_notes(world)
    login(client, world.supervisor.username)
    client.post(f"/alerts/{ids[0]}", data={"action": "resolve", "note": "Kotak basah \x1b[31m\x07"})
    values = [c.value for c in xlsx_cells(client.get("/alerts.xlsx"))]
    assert "Kotak basah \ufffd[31m\ufffd" in values
    assert "Kotak basah \x1b[31m\x07" in csv_cells(client.get("/alerts.csv"))  # CSV carries it as typed


def test_downloads_are_not_kept_by_the_browser_or_a_proxy(client, world):
    login(client, world.supervisor.username)
    for path, _plant in EXPORTS.values():
        for suffix in (".csv", ".xlsx"):
            response = client.get(path + suffix)
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "no-store", path + suffix


@pytest.mark.parametrize("export", EXPORTS)
def test_each_table_offers_the_workbook_first_and_its_numbers_open_as_numbers(client, world, export):
    """Excel in an Indonesian locale reads ";" as the list separator and "," as the decimal comma: a comma CSV
    opens as one column there. The page's first download is the workbook, whose cells carry their own types
    (numbers stay numbers, shown with the reader's own separators); the CSV is offered for other systems."""
    path, _plant = EXPORTS[export]
    login(client, world.supervisor.username)
    page = client.get(path).get_data(as_text=True)
    links = re.findall(r'<a class="button secondary small" href="([^"]+)" download>([^<]+)</a>', page)
    assert [text for _, text in links] == ["Unduh untuk Excel (XLSX)", "CSV untuk sistem lain"], links
    workbook, table = (html.unescape(href) for href, _ in links)
    assert urlsplit(workbook).path == f"{path}.xlsx" and urlsplit(table).path == f"{path}.csv"
    sheet = load_workbook(io.BytesIO(client.get(workbook).data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows[0]) >= 3 and all(isinstance(name, str) for name in rows[0])  # one column per heading
    assert len(rows) == len(list(csv.reader(io.StringIO(client.get(table).get_data(as_text=True)))))
    numbers = [value for row in rows[1:] for value in row if isinstance(value, int | float)]
    texts_like_numbers = [
        value for row in rows[1:] for value in row if isinstance(value, str) and value.isdigit() and len(value) < 10
    ]  # codes stay text
    assert numbers or len(rows) == 1, rows  # counts are cells of numbers, not text
    assert not texts_like_numbers, texts_like_numbers
