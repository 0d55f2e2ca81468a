"""What a request wrote: every table's rows before and after it (the static region table aside).

Read with plain SQL through the test's connection: the matrix takes two snapshots per write, so they
must cost milliseconds, not the ORM's tens of them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import LargeBinary
from sqlalchemy.orm import Session

from webapp.extensions import db

SKIP = {"region", "alembic_version"}
# Append-only (or large and only ever written with their parents): an integer id's count and maximum
# show a new row; the rest by their keys.
COUNTED = {"custody_event", "alert_action", "norm_change", "manifest_line", "ledger_checkpoint"}
KEYED = {"scan_receipt", "dapil_region", "tps_dapil"}
# A thousand packets wait to be packed: only packed ones (or counted from a carton) can change.
FILTERED = {"packet": "box_id IS NOT NULL OR carton_id IS NOT NULL"}


@functools.cache
def _tables() -> list[tuple[str, list[str], int]]:
    """(name, readable columns, how many of them form the primary key, which come first)."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name in SKIP:
            continue
        pk = [c.name for c in table.primary_key.columns]
        rest = [c.name for c in table.columns if c.name not in pk and not isinstance(c.type, LargeBinary)]
        found.append((table.name, pk + rest, len(pk)))
    return found


def _quote(name: str) -> str:
    return f'"{name}"'


def _rows(session: Session, sql: str, params: tuple = ()) -> list[tuple]:
    """Plain rows from the DBAPI cursor of the test's connection (no result processing)."""
    connection = session.connection()
    if params and connection.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


@functools.cache
def _parts() -> list[tuple[str, str, str]]:
    """The queries of a snapshot: (table, what the rows are, SQL)."""
    parts = []
    for name, columns, n_pk in _tables():
        table = _quote(name)
        if name in COUNTED:
            parts.append((name, "n", f"SELECT count(*), max(id) FROM {table}"))
        elif name in KEYED:
            parts.append((name, "keys", f"SELECT {', '.join(map(_quote, columns[:n_pk]))} FROM {table}"))
        else:
            sql = f"SELECT {', '.join(map(_quote, columns))} FROM {table}"
            if name in FILTERED:  # the rows that can change, and a count for the rest
                parts.append((name, "count", f"SELECT count(*) FROM {table}"))
                sql += f" WHERE {FILTERED[name]}"
            parts.append((name, "rows", sql))
    return parts


def _results(session: Session) -> list[list[tuple]]:
    """Every part's rows. PostgreSQL gets them in one round trip (each part as JSON), SQLite part by part."""
    parts = _parts()
    if session.connection().dialect.name != "postgresql":
        return [_rows(session, sql) for _name, _kind, sql in parts]
    columns = ", ".join(f"(SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({sql}) AS q)" for _, _, sql in parts)
    (row,) = _rows(session, f"SELECT {columns}")
    return [[tuple(item.values()) for item in part] for part in row]


def snapshot(session: Session) -> dict[str, dict]:
    """{table: {primary key: row}}; KEYED tables {primary key: None}; COUNTED tables {"n": (count, max id)}."""
    state: dict[str, dict] = {name: {} for name, _columns, _n in _tables()}
    n_pk = {name: n for name, _columns, n in _tables()}
    for (name, kind, _sql), rows in zip(_parts(), _results(session), strict=True):
        if kind == "n":
            state[name]["n"] = rows[0]
        elif kind == "count":
            state[name][("count",)] = rows[0]
        elif kind == "keys":
            state[name] = dict.fromkeys(rows)
        else:
            state[name] |= {row[: n_pk[name]]: row for row in rows}
    session.rollback()  # end the read's savepoint: the request begins its own
    return state


@dataclass
class Diff:
    """Rows added, changed and removed, per table (rows as {column: value})."""

    added: dict[str, list[dict]] = field(default_factory=dict)
    changed: dict[str, list[tuple[dict, dict]]] = field(default_factory=dict)
    removed: dict[str, list] = field(default_factory=dict)

    @property
    def tables(self) -> set[str]:
        return set(self.added) | set(self.changed) | set(self.removed)

    def __bool__(self) -> bool:
        return bool(self.tables)

    def describe(self) -> str:
        """One line per table, naming the rows (and the columns that changed)."""
        lines = []
        for name, rows in self.added.items():
            lines.append(f"{name}: {len(rows)} added: " + "; ".join(_brief(r) for r in rows[:4]))
        for name, pairs in self.changed.items():
            parts = []
            for old, new in pairs[:4]:
                cols = [k for k in new if old.get(k) != new.get(k)]
                parts.append(
                    f"id {new.get('id', '?')}: " + ", ".join(f"{k} {old.get(k)!r}->{new.get(k)!r}" for k in cols)
                )
            lines.append(f"{name}: {len(pairs)} changed: " + "; ".join(parts))
        for name, keys in self.removed.items():
            lines.append(f"{name}: {len(keys)} removed: {keys[:4]}")
        return "\n      ".join(lines)


def _brief(row: dict) -> str:
    keep = ("id", "kind", "box_id", "site_id", "actor_id", "verdict", "reason", "state", "username", "code", "status")
    return ", ".join(f"{k}={row[k]!r}" for k in keep if k in row)


def diff(session: Session, before: dict[str, dict]) -> Diff:
    """What changed since `before` (a snapshot)."""
    after = snapshot(session)
    result = Diff()
    for name, columns, n_pk in _tables():
        old, new = before[name], after[name]
        if old == new:
            continue
        select = f"SELECT {', '.join(map(_quote, columns))} FROM {_quote(name)}"
        if name in COUNTED:
            (count_before, max_before), (count_after, _max) = old["n"], new["n"]
            rows = _rows(session, f"{select} WHERE id > ?", (max_before or 0,))
            if rows:
                result.added[name] = [dict(zip(columns, row, strict=True)) for row in rows]
            if count_after - count_before != len(rows):
                result.removed[name] = [f"{count_before + len(rows) - count_after} rows"]
            continue
        added_keys = [k for k in new if k not in old]
        removed = [k for k in old if k not in new]
        if removed:
            result.removed[name] = removed
        if name in KEYED:
            if added_keys:
                pk = columns[:n_pk]
                where = " OR ".join("(" + " AND ".join(f"{_quote(c)} = ?" for c in pk) + ")" for _ in added_keys)
                rows = _rows(session, f"{select} WHERE {where}", tuple(v for key in added_keys for v in key))
                result.added[name] = [dict(zip(columns, row, strict=True)) for row in rows]
            continue
        if name in FILTERED and old[("count",)] == new[("count",)]:  # a packet packed: a change, not a new row
            pairs = [
                (dict(zip(columns, old[k], strict=True)) if k in old else {}, dict(zip(columns, new[k], strict=True)))
                for k in added_keys
            ]
            result.changed[name] = pairs
            added_keys = []
        if added_keys:
            result.added[name] = [dict(zip(columns, new[k], strict=True)) for k in added_keys]
        changed = [
            (dict(zip(columns, old[k], strict=True)), dict(zip(columns, new[k], strict=True)))
            for k in new
            if k in old and old[k] != new[k]
        ]
        if changed:
            result.changed[name] = changed
    session.rollback()
    return result
