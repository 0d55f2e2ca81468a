"""Many rows, several tables, one round trip: the scan service's writes.

On PostgreSQL every step's rows travel as one JSON parameter that `jsonb_to_recordset` turns back into
typed columns, and all steps run as one statement of data-modifying CTEs (WITH ... UPDATE, INSERT ...).
A multi-row VALUES list with one placeholder per value (SQLAlchemy's insertmanyvalues) costs psycopg
about 0.2 ms per row to rewrite its placeholders and the server as much to plan it, and one statement
per table costs a round trip each; docs/performance.md has the figures. Other databases run the steps
one by one through executemany.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import Table, TextClause, bindparam, insert, text, update
from sqlalchemy.orm import Session

_ORDER = "_n"  # a row's position in its list, so that ids follow the order given


@dataclass(frozen=True)
class Link:
    """Fill `column` of each row from an earlier insert: that insert's `value` where its `match` equals ours."""

    column: str
    step: str
    match: str
    value: str


@dataclass
class Insert:
    """INSERT rows (all with the same keys) in the order given.

    With `returning`, its first column must be a key of the rows that is unique among them (a client
    id): PostgreSQL does not promise RETURNING's order, so rows are matched back by it.
    """

    name: str
    table: Table
    rows: list[dict]
    returning: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass
class Update:
    """UPDATE each row found by `key` to the values given (all rows with the same keys)."""

    name: str
    table: Table
    key: str
    rows: list[dict]


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot send {type(value).__name__} to the database as JSON")


def write(session: Session, *steps: Insert | Update) -> dict[str, list[tuple]]:
    """Run the steps in order (steps without rows are skipped); returns each insert's `returning` rows,
    in the order of its rows. On PostgreSQL at most one insert may have `returning`."""
    steps = tuple(step for step in steps if step.rows)
    if not steps:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _write_postgres(session, steps)
    returned: dict[str, list[tuple]] = {}
    for step in steps:
        if isinstance(step, Update):
            columns = [name for name in step.rows[0] if name != step.key]
            session.execute(
                update(step.table)
                .where(step.table.c[step.key] == bindparam(f"b_{step.key}"))
                .values({name: bindparam(f"b_{name}") for name in columns}),
                [{f"b_{name}": value for name, value in row.items()} for row in step.rows],
            )
            continue
        rows = step.rows
        for link in step.links:
            source = _step(steps, link.step)
            found = dict(zip((r[link.match] for r in source.rows), returned[link.step], strict=True)) if source else {}
            position = source.returning.index(link.value) if source else 0
            rows = [{**row, link.column: _linked(found.get(row[link.match]), position)} for row in rows]
        stmt = insert(step.table)
        if step.returning:
            stmt = stmt.returning(*(step.table.c[name] for name in step.returning), sort_by_parameter_order=True)
            returned[step.name] = [tuple(row) for row in session.execute(stmt, rows)]
        else:
            session.execute(stmt, rows)
    return returned


def insert_rows(session: Session, table: Table, rows: list[dict], *, chunk: int = 20_000) -> None:
    """INSERT many rows of one shape (seeding, imports, planning) the fast way: on PostgreSQL one statement
    per chunk through `write` (psycopg's executemany sends a statement per row), elsewhere executemany.
    Python-side column defaults are filled in first, as SQLAlchemy's own INSERT would."""
    if not rows:
        return
    defaults = {
        column.name: column.default
        for column in table.c
        if column.default is not None and not column.default.is_clause_element and column.name not in rows[0]
    }
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        if defaults:
            part = [
                {**row, **{name: d.arg(None) if d.is_callable else d.arg for name, d in defaults.items()}}
                for row in part
            ]
        write(session, Insert(table.name, table, part))


def _step(steps, name: str) -> Insert | None:
    """The step of that name, if it has rows to write."""
    return next((step for step in steps if step.name == name), None)


def _linked(row: tuple | None, position: int):
    return None if row is None else row[position]


def _write_postgres(session: Session, steps: tuple[Insert | Update, ...]) -> dict[str, list[tuple]]:
    with_returning = [step for step in steps if isinstance(step, Insert) and step.returning]
    if len(with_returning) > 1:
        raise ValueError("on PostgreSQL one insert per write may return rows")
    # The statement depends only on the steps' shapes, so it is built (and its types compiled) once per shape.
    present = {step.name for step in steps}
    shape = tuple(
        (
            type(step).__name__,
            step.name,
            step.table,
            getattr(step, "key", None),
            tuple(step.rows[0]),
            getattr(step, "returning", ()),
            tuple(link for link in getattr(step, "links", ()) if link.step in present),
            tuple(link.column for link in getattr(step, "links", ()) if link.step not in present),
        )
        for step in steps
    )
    statement = _statement(session.get_bind().dialect, shape)
    params = {
        f"rows_{n}": json.dumps(
            [{**row, _ORDER: i} for i, row in enumerate(step.rows)], default=_json_default, separators=(",", ":")
        )
        for n, step in enumerate(steps)
    }
    result = session.execute(statement, params)
    if not with_returning:
        return {}
    step = with_returning[0]
    found = {row[0]: tuple(row) for row in result}
    return {step.name: [found[row[step.returning[0]]] for row in step.rows]}


@functools.lru_cache(maxsize=64)
def _statement(dialect, shape: tuple) -> TextClause:
    """One statement of data-modifying CTEs for steps of this shape; the rows are parameters rows_0, rows_1..."""
    parts = []
    final = "SELECT 1"
    for n, (kind, name, table, key, columns, returning, links, nothing) in enumerate(shape):

        def recordset(names, n=n, table=table) -> str:
            types = ", ".join(f'"{column}" {table.c[column].type.compile(dialect=dialect)}' for column in names)
            return f'jsonb_to_recordset(CAST(:rows_{n} AS jsonb)) AS x({types}, "{_ORDER}" integer)'

        quoted = f'"{table.name}"'
        if kind == "Update":
            values = [column for column in columns if column != key]
            assignments = ", ".join(f'"{column}" = x."{column}"' for column in values)
            parts.append(
                f"{name} AS (UPDATE {quoted} SET {assignments} FROM {recordset([key, *values])} "
                f'WHERE {quoted}."{key}" = x."{key}")'
            )
            continue
        linked = {link.column: link for link in links}
        source = recordset([column for column in columns if column not in linked and column not in nothing])
        values = ", ".join(
            f'(SELECT s."{linked[column].value}" FROM {linked[column].step} s '
            f'WHERE s."{linked[column].match}" = x."{linked[column].match}")'
            if column in linked
            else "NULL"
            if column in nothing
            else f'x."{column}"'
            for column in columns
        )
        names = ", ".join(f'"{column}"' for column in columns)
        back = f" RETURNING {', '.join(returning)}" if returning else ""
        parts.append(
            f'{name} AS (INSERT INTO {quoted} ({names}) SELECT {values} FROM {source} ORDER BY x."{_ORDER}"{back})'
        )
        if returning:
            final = f"SELECT {', '.join(returning)} FROM {name}"
    return text(f"WITH {', '.join(parts)} {final}")
