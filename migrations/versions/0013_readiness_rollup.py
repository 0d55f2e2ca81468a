"""readiness per kecamatan, kept from the desa counters by triggers

The national page summed every desa's counters (about 83,000 desas, 12 stages each: a million
rows) and took seconds. `readiness_rollup` holds the same figures per kecamatan (7,285), kept
by triggers on `readiness_count` in the same transaction as the box change that moved the counter.
The country, a province and a kab/kota read the rollup; a kecamatan reads its desas' counters.

Note for later migrations: on SQLite, `batch_alter_table('readiness_count')` rebuilds the table and
drops these triggers; such a migration must create them again (`SQLITE`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 09:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

KECAMATAN = "substr({}.region_code, 1, 8)"  # 31.75.04.1001 -> 31.75.04


def _apply(*parts: str) -> str:
    """Add the net change per kecamatan and stage, in key order (two transactions take the same rows
    in the same order: no deadlock between them)."""
    return f"""INSERT INTO readiness_rollup (region_code, stage, boxes)
        SELECT region_code, stage, sum(n) FROM ({' UNION ALL '.join(parts)}) moved
        GROUP BY region_code, stage HAVING sum(n) <> 0 ORDER BY region_code, stage
        ON CONFLICT (region_code, stage) DO UPDATE SET boxes = readiness_rollup.boxes + EXCLUDED.boxes;"""


def _rows(table: str, sign: str) -> str:
    return f"SELECT {KECAMATAN.format('c')} AS region_code, c.stage AS stage, {sign}c.boxes AS n FROM {table} c"


# PostgreSQL: statement-level, over transition tables (an upsert into readiness_count fires the
# INSERT trigger for the rows it inserted and the UPDATE trigger for those it updated).
POSTGRES = f"""
CREATE FUNCTION readiness_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_apply(_rows('new_rows', ''))}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply(_rows('old_rows', '-'))}
    ELSE
        {_apply(_rows('old_rows', '-'), _rows('new_rows', ''))}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER readiness_rollup_insert AFTER INSERT ON readiness_count
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION readiness_rollup_apply();
CREATE TRIGGER readiness_rollup_update AFTER UPDATE ON readiness_count
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION readiness_rollup_apply();
CREATE TRIGGER readiness_rollup_delete AFTER DELETE ON readiness_count
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION readiness_rollup_apply();
"""


def _sqlite_add(row: str, amount: str) -> str:
    return f"""INSERT INTO readiness_rollup (region_code, stage, boxes)
        VALUES ({KECAMATAN.format(row)}, {row}.stage, {amount})
        ON CONFLICT (region_code, stage) DO UPDATE SET boxes = boxes + ({amount});"""


SQLITE = [
    f"CREATE TRIGGER readiness_rollup_insert AFTER INSERT ON readiness_count BEGIN {_sqlite_add('NEW', 'NEW.boxes')} END",
    "CREATE TRIGGER readiness_rollup_update AFTER UPDATE OF boxes ON readiness_count BEGIN "
    f"{_sqlite_add('NEW', 'NEW.boxes - OLD.boxes')} END",
    f"CREATE TRIGGER readiness_rollup_delete AFTER DELETE ON readiness_count BEGIN {_sqlite_add('OLD', '-OLD.boxes')} END",
]


def upgrade():
    op.create_table('readiness_rollup',
    sa.Column('region_code', sa.String(length=8), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('boxes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'stage', name=op.f('pk_readiness_rollup'))
    )
    if op.get_bind().dialect.name == 'postgresql':  # no counter may move between the sums and the triggers
        op.execute("LOCK TABLE readiness_count IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO readiness_rollup (region_code, stage, boxes) "
        f"SELECT {KECAMATAN.format('c')}, c.stage, sum(c.boxes) FROM readiness_count c "
        f"GROUP BY {KECAMATAN.format('c')}, c.stage"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRES)
    else:
        for statement in SQLITE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER readiness_rollup_{name} ON readiness_count")
        op.execute("DROP FUNCTION readiness_rollup_apply()")
    else:
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER readiness_rollup_{name}")
    op.drop_table('readiness_rollup')
