"""readiness counters kept by triggers, and the box's phase (out to the TPS, or back after the count)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 06:45:00

The stage rule below is frozen here as the migration wrote it; webapp/monitor/readiness.py holds the
same rule in SQLAlchemy (stage_expression), and tests/monitor/test_stage_rule.py checks that both agree.

Note for later migrations: on SQLite, `batch_alter_table('box')` rebuilds the table and drops its
triggers; such a migration must create them again (`_create_sqlite_triggers`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def stage_sql(row: str, holder_kind: str) -> str:
    """The stage of a box `row` (NEW, OLD or a table alias) whose holder site's kind is `holder_kind`;
    NULL for a box that is not counted (voided)."""
    return f"""CASE
        WHEN {row}.status = 'voided' THEN NULL
        WHEN {row}.status = 'planned' THEN 'planned'
        WHEN {row}.status IN ('damaged', 'lost') THEN 'problem'
        WHEN {row}.phase = 'back' THEN CASE
            WHEN {row}.status = 'in_transit' OR {row}.holder_site_id IS NULL THEN 'back_transit'
            WHEN {row}.status = 'opened' OR {holder_kind} = 'tps' THEN 'back_tps'
            WHEN {holder_kind} = 'pps' THEN 'back_pps'
            WHEN {holder_kind} = 'ppk' THEN 'back_ppk'
            ELSE 'back_warehouse' END
        WHEN {row}.status = 'in_transit' OR {row}.holder_site_id IS NULL THEN 'in_transit'
        WHEN {row}.status = 'opened' OR {holder_kind} = 'tps' THEN 'tps'
        WHEN {holder_kind} = 'pps' THEN 'pps'
        WHEN {holder_kind} = 'ppk' THEN 'ppk'
        ELSE 'warehouse' END"""


def _holder_kind(row: str) -> str:
    return f"(SELECT kind FROM site WHERE id = {row}.holder_site_id)"


def _desa(row: str) -> str:
    """The desa of the box's destination when it is a TPS box (NULL otherwise: not counted)."""
    return (
        f"(SELECT region_code FROM site WHERE id = {row}.destination_id AND kind = 'tps' "
        f"AND {row}.kind <> 'vendor_carton')"
    )


WATCHED = "status, holder_site_id, holder_user_id, phase, destination_id, kind"
# SQLite (row-level triggers): most updates of a box (an inspection, a new chain head) change none of
# these, and the trigger is skipped.
CHANGED_SQLITE = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED.split(", "))

def _counted(rows: str, sign: int) -> str:
    """The TPS boxes of a transition table with their desa and stage, each counting `sign`."""
    return (
        f"SELECT d.region_code AS region_code, {stage_sql('b', 'h.kind')} AS stage, {sign} AS n "
        f"FROM {rows} b JOIN site d ON d.id = b.destination_id AND d.kind = 'tps' "
        "LEFT JOIN site h ON h.id = b.holder_site_id WHERE b.kind <> 'vendor_carton'"
    )


def _apply(*parts: str) -> str:
    """Add the net change per desa and stage to the counters, in key order (so that two transactions
    lock the same counters in the same order and never deadlock)."""
    return f"""INSERT INTO readiness_count (region_code, stage, boxes)
        SELECT region_code, stage, sum(n) FROM ({' UNION ALL '.join(parts)}) moved
        WHERE stage IS NOT NULL GROUP BY region_code, stage HAVING sum(n) <> 0 ORDER BY region_code, stage
        ON CONFLICT (region_code, stage) DO UPDATE SET boxes = readiness_count.boxes + EXCLUDED.boxes;"""


# PostgreSQL: statement-level triggers over transition tables, so a batch of 500 scans updates each
# counter it touches once, with one grouped statement, instead of twice per box.
POSTGRES = f"""
CREATE FUNCTION readiness_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_apply(_counted('new_rows', 1))}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply(_counted('old_rows', -1))}
    ELSE
        {_apply(_counted('old_rows', -1), _counted('new_rows', 1))}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER readiness_count_insert AFTER INSERT ON box
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION readiness_count_apply();
CREATE TRIGGER readiness_count_update AFTER UPDATE ON box
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION readiness_count_apply();
CREATE TRIGGER readiness_count_delete AFTER DELETE ON box
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION readiness_count_apply();
"""


def _sqlite_add(row: str) -> str:
    stage = stage_sql(row, _holder_kind(row))
    return f"""INSERT INTO readiness_count (region_code, stage, boxes)
        SELECT {_desa(row)}, {stage}, 1 WHERE {_desa(row)} IS NOT NULL AND ({stage}) IS NOT NULL
        ON CONFLICT (region_code, stage) DO UPDATE SET boxes = boxes + 1;"""


def _sqlite_remove(row: str) -> str:
    return f"""UPDATE readiness_count SET boxes = boxes - 1
        WHERE region_code = {_desa(row)} AND stage = ({stage_sql(row, _holder_kind(row))});"""


SQLITE = [
    f"CREATE TRIGGER readiness_count_insert AFTER INSERT ON box BEGIN {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER readiness_count_update AFTER UPDATE OF {WATCHED} ON box FOR EACH ROW WHEN {CHANGED_SQLITE} BEGIN "
    f"{_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER readiness_count_delete AFTER DELETE ON box BEGIN {_sqlite_remove('OLD')} END",
]

BACKFILL = f"""
INSERT INTO readiness_count (region_code, stage, boxes)
SELECT region_code, stage, count(*) FROM (
    SELECT d.region_code AS region_code, {stage_sql('b', 'h.kind')} AS stage
    FROM box b JOIN site d ON d.id = b.destination_id LEFT JOIN site h ON h.id = b.holder_site_id
    WHERE d.kind = 'tps' AND b.kind <> 'vendor_carton'
) counted WHERE stage IS NOT NULL GROUP BY region_code, stage
"""


def _create_sqlite_triggers():
    for statement in SQLITE:
        op.execute(statement)


def upgrade():
    with op.batch_alter_table('box', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phase', sa.String(length=4), server_default='out', nullable=False))
        batch_op.create_check_constraint(op.f('ck_box_phase_valid'), "phase IN ('out', 'back')")
    op.create_table('readiness_count',
    sa.Column('region_code', sa.String(length=13), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('boxes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'stage', name=op.f('pk_readiness_count'))
    )
    # A box opened at its TPS before this migration has been counted: it is on its way back.
    op.execute("UPDATE box SET phase = 'back' WHERE id IN (SELECT box_id FROM custody_event WHERE kind = 'open')"
               " AND kind <> 'vendor_carton'")
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRES)
    else:
        _create_sqlite_triggers()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER readiness_count_{name} ON box")
        op.execute("DROP FUNCTION readiness_count_apply()")
    else:
        for name in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER readiness_count_{name}")
    op.drop_table('readiness_count')
    with op.batch_alter_table('box', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_box_phase_valid'), type_='check')
        batch_op.drop_column('phase')
