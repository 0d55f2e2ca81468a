"""The custody house keeps its shape: small functions, one writer of the ledger's tables, one transaction
rule, and the event declared once (docs/ledger.md agrees with the declaration)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from webapp.custody import event
from webapp.custody.actions import ACTIONS

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"
LEDGER_TABLES = {"CustodyEvent", "ScanReceipt", "Alert"}
LEDGER_TABLE_NAMES = ("custody_event", "scan_receipt", "alert")
WRITER = WEBAPP / "custody" / "writer.py"


def _modules(under: Path = WEBAPP):
    for path in sorted(under.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def test_no_function_in_custody_is_longer_than_sixty_lines():
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path, tree in _modules(WEBAPP / "custody")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long == []


def _ledger_inserts(tree: ast.AST) -> list[int]:
    """Lines that create a row of the ledger's tables: a model constructed, an insert() of one, an Insert
    step or a .insert() naming one, or SQL text inserting into one."""
    found = []
    sql = re.compile(r"insert\s+into\s+(" + "|".join(LEDGER_TABLE_NAMES) + r")\b", re.I)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value):
            found.append(node.lineno)  # SQL text
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        constructed = called in LEDGER_TABLES  # Alert(...), CustodyEvent(...)
        inserted = called in ("insert", "Insert", "insert_rows") and _names(node) & LEDGER_TABLES
        method = isinstance(func, ast.Attribute) and func.attr == "insert" and _names(func.value) & LEDGER_TABLES
        if constructed or inserted or method:
            found.append(node.lineno)
    return found


def test_only_the_writer_inserts_events_receipts_and_alerts():
    elsewhere = [
        f"{path.relative_to(ROOT)}:{line}"
        for path, tree in _modules()
        if path != WRITER
        for line in _ledger_inserts(tree)
    ]
    assert elsewhere == []
    assert _ledger_inserts(ast.parse(WRITER.read_text())), "the check must see the writer's own inserts"


def test_the_check_would_catch_an_insert_outside_the_writer():
    """The grep is not blind: the forms an author would write are all seen."""
    for source in (
        "session.add(Alert(kind='x'))",
        "session.execute(insert(CustodyEvent), rows)",
        "write(session, Insert('alerts', Alert.__table__, rows))",
        "session.execute(ScanReceipt.__table__.insert().values(client_id='x'))",
        "session.execute(text('INSERT INTO alert (kind) VALUES (1)'))",
    ):
        assert _ledger_inserts(ast.parse(source)), source


def test_only_the_transaction_helper_and_commands_commit():
    """Services and views never commit: the request's transaction (core/database.py) does, once; a command
    line tool is its own transaction."""
    commits = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _modules()
        if path.name != "cli.py" and path != WEBAPP / "core" / "database.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]
    assert commits == []


def test_the_ledger_doc_lists_the_declared_hashed_fields_and_kinds():
    """docs/ledger.md section 2 names every hashed field, in the declared order, with its type, and every
    kind of event the actions table declares."""
    text = (ROOT / "docs" / "ledger.md").read_text(encoding="utf-8")
    section = text.split("## 2.", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented, types = [], {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for name in re.findall(r"`([a-z_]+)`", cells[0]):
            documented.append(name)
            types[name] = cells[1]
    assert documented == list(event.HASHED_FIELDS)
    for name in event.HASHED_FIELDS:
        encoding = event.BY_NAME[name].encoding
        expected = {"int": "integer", "list": "array"}.get(encoding, "string")
        assert types[name].startswith(expected), (name, types[name])
    kinds_row = next(row for row in rows if row.startswith("| `kind`"))
    assert set(re.findall(r"`([a-z_]+)`", kinds_row.split("|")[3])) == {str(kind) for kind in ACTIONS}


def test_every_stored_column_of_an_event_is_declared():
    """The custody_event table holds the declared fields and nothing undeclared (but its id)."""
    from webapp.custody.models import CustodyEvent

    assert {c.name for c in CustodyEvent.__table__.columns} == set(event.READ_COLUMNS)
