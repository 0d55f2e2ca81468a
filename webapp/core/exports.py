"""Tables as downloads: CSV (UTF-8) and XLSX (openpyxl), the same rows either way.

Every cell goes through `spreadsheet_cell`, so text someone typed (an alert's note, a site's name, an
imported code) is never run as a formula by the spreadsheet that opens the download.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from decimal import Decimal

from flask import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

# A cell starting with one of these is read as a formula (or, for tab and CR, may be trimmed into one)
# by Excel, LibreOffice and Google Sheets: the OWASP list for CSV injection.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Values a spreadsheet holds as what they are; everything else is written as text.
PLAIN_TYPES = (int, float, Decimal, date, datetime, time)
# Downloads hold names and notes of the user's area: not to be kept by a shared browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}


def spreadsheet_cell(value):
    """A cell as a spreadsheet should show it: numbers and dates as they are, text that would start a
    formula behind a single quote (OWASP), so `=HYPERLINK(...)` or "-1+2" stays the text it was."""
    if value is None or isinstance(value, PLAIN_TYPES):  # bool is an int
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _row(cells: list) -> list:
    return [spreadsheet_cell(value) for value in cells]


def csv_response(filename: str, header: list, rows: list[list]) -> Response:
    """The table as a CSV download, every cell neutralised by `spreadsheet_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_row(header))
    writer.writerows(_row(row) for row in rows)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"', **NO_STORE},
    )


def xlsx_response(filename: str, title: str, header: list, rows: list[list], freeze: str) -> Response:
    """The table as an XLSX download: the same cells as the CSV, text always stored as text."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for number, cells in enumerate([header, *rows], start=1):
        for column, value in enumerate(_row(cells), start=1):
            if isinstance(value, str):
                # XML cannot carry most control characters: openpyxl would refuse the whole file.
                cell = sheet.cell(row=number, column=column, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
                cell.data_type = "s"  # a string, never a formula, whatever it starts with
            else:
                sheet.cell(row=number, column=column, value=value)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = freeze
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"', **NO_STORE},
    )
