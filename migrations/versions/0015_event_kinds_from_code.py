"""the kinds of custody events are declared in code (custody/actions.py), not in a CHECK

A new action is one module (custody/actions.py) plus its tests; a CHECK listing the kinds would make
every new action a migration as well. The kind stays guarded where it is written: the scan pipeline
takes only kinds its table declares, the writer is the one place that inserts events
(tests/custody/test_structure.py), the hash covers the kind, and the table stays append-only.

On SQLite, dropping a CHECK rebuilds the table (Alembic's batch mode, with key checks off as SQLite's
own recipe says: migrations/env.py); the append-only triggers go with the old table and are made again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 12:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

KINDS = ('commission', 'pack', 'seal', 'dispatch', 'receive', 'inspect', 'open', 'reseal', 'damage', 'loss', 'void')


def _sqlite_triggers(create: bool) -> None:
    for verb in ('UPDATE', 'DELETE'):
        name = f"custody_event_no_{verb.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        if create:
            op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON custody_event BEGIN SELECT RAISE(ABORT, 'custody_event is append-only: {verb} refused'); END")


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_custody_event_kind_valid'), 'custody_event', type_='check')
        return
    _sqlite_triggers(create=False)
    with op.batch_alter_table('custody_event', recreate='always') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_custody_event_kind_valid'), type_='check')
    _sqlite_triggers(create=True)


def downgrade():
    condition = "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")"
    if op.get_bind().dialect.name == 'postgresql':
        op.create_check_constraint(op.f('ck_custody_event_kind_valid'), 'custody_event', condition)
        return
    _sqlite_triggers(create=False)
    with op.batch_alter_table('custody_event', recreate='always') as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_custody_event_kind_valid'), condition)
    _sqlite_triggers(create=True)
