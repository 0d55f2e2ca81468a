"""checkpoints as C2SP signed notes, and the stored Merkle tree behind O(log n) proofs

- `ledger_checkpoint.note`: the checkpoint as a signed note (c2sp.org/tlog-checkpoint text signed with
  c2sp.org/signed-note), as GET /api/v1/ledger/checkpoint serves it.
- `ledger_tree_leaf` (leaf_index, event_id, hash) and `ledger_tree_node` (level, idx, hash): every leaf and
  every complete subtree hash of the RFC 6962/9162 tree over the events in id order, written by
  make_checkpoint as it adds leaves (webapp/custody/tree.py).

Checkpoints made before this revision ("legacy") cannot be signed here: a migration has no signing key.
They keep their JSON signature (still verified by `flask ledger verify`) and get no note; the tables are
append-only, so none is added to them later either. Both new tables start empty. The first checkpoint
after the upgrade (`flask ledger checkpoint`, the periodic job, or the scans API) builds the stored tree
from the first event on, checks on the way that the tree's root at each legacy checkpoint's size is the
root that checkpoint signed (refusing to sign anything if one is not: the events were changed), and then
signs the current tree as a note, also when no event came since the last legacy checkpoint. That new row
then has the same upto_event_id as the legacy one, so the unique constraint on upto_event_id becomes a
unique index over signed notes only (and another makes a tree size's signed note unique), beside a plain
index for the newest-first reads. Until that first checkpoint, the public endpoints answer that there is
no signed checkpoint (404). Proofs are served only for sizes with a signed note.

On SQLite, dropping the unique constraint rebuilds the table (batch mode, key checks off:
migrations/env.py); the append-only triggers go with the old table and are made again. Downgrading
drops the notes and the tree; it fails when a note re-signed a legacy checkpoint's tree (two rows for one
upto_event_id, which the old unique constraint forbids and the append-only triggers keep).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

SIGNED = sa.text('note IS NOT NULL')


def _sqlite_triggers(create: bool) -> None:
    for verb in ('UPDATE', 'DELETE'):
        name = f"ledger_checkpoint_no_{verb.lower()}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        if create:
            op.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON ledger_checkpoint BEGIN SELECT RAISE(ABORT, 'ledger_checkpoint is append-only: {verb} refused'); END")


def upgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        _sqlite_triggers(create=False)
    with op.batch_alter_table('ledger_checkpoint', recreate='always' if sqlite else 'auto') as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_ledger_checkpoint_upto_event_id'), type_='unique')
    if sqlite:
        _sqlite_triggers(create=True)
    op.create_index(op.f('ix_ledger_checkpoint_upto_event_id'), 'ledger_checkpoint', ['upto_event_id'], unique=False)
    for name, column in (('uq_ledger_checkpoint_signed_size', 'event_count'), ('uq_ledger_checkpoint_signed_upto', 'upto_event_id')):
        op.create_index(name, 'ledger_checkpoint', [column], unique=True, sqlite_where=SIGNED, postgresql_where=SIGNED)

    op.create_table(
        'ledger_tree_leaf',
        sa.Column('leaf_index', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint('leaf_index', name=op.f('pk_ledger_tree_leaf')),
        sa.UniqueConstraint('event_id', name=op.f('uq_ledger_tree_leaf_event_id')),
    )
    op.create_table(
        'ledger_tree_node',
        sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_ledger_tree_node')),
    )


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_table('ledger_tree_node')
    op.drop_table('ledger_tree_leaf')
    for name in ('uq_ledger_checkpoint_signed_upto', 'uq_ledger_checkpoint_signed_size', op.f('ix_ledger_checkpoint_upto_event_id')):
        op.drop_index(name, table_name='ledger_checkpoint')
    if sqlite:
        _sqlite_triggers(create=False)
    with op.batch_alter_table('ledger_checkpoint', recreate='always' if sqlite else 'auto') as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_checkpoint_upto_event_id'), ['upto_event_id'])
        batch_op.drop_column('note')
    if sqlite:
        _sqlite_triggers(create=True)
