"""box.change_stamp: when a box's row last changed, for the phones' offline list as a delta

A trigger stamps every insert and update of a box, whoever writes it (the ORM, the scan service's bulk
statement, planning's inserts): on PostgreSQL with the writing transaction's id (txid_current(), 64 bits,
never wraps), so a reader can tell from its snapshot's xmin which changes it may not have seen yet; on
SQLite (one writer at a time) with the next number after the highest stamp. webapp/pwa/cache.py reads it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27 20:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    # Not batch_alter_table: on SQLite it rebuilds the table and drops its triggers (see 0011).
    op.add_column('box', sa.Column('change_stamp', sa.BigInteger(), server_default='0', nullable=False))
    op.create_index(op.f('ix_box_change_stamp'), 'box', ['change_stamp'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION box_change_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN NEW.change_stamp := txid_current(); RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER box_change_stamp BEFORE INSERT OR UPDATE ON box "
            "FOR EACH ROW EXECUTE FUNCTION box_change_stamp()"
        )
        op.execute("UPDATE box SET change_stamp = txid_current()")
    else:
        # SQLite runs one writer at a time, and recursive triggers are off: the trigger's own UPDATE does
        # not fire it again. Stamps from one statement may share a number, which is harmless.
        for event in ('INSERT', 'UPDATE'):
            op.execute(
                f"CREATE TRIGGER box_change_stamp_{event.lower()} AFTER {event} ON box FOR EACH ROW "
                "BEGIN UPDATE box SET change_stamp = (SELECT coalesce(max(change_stamp), 0) + 1 FROM box) "
                "WHERE id = NEW.id; END"
            )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER box_change_stamp ON box")
        op.execute("DROP FUNCTION box_change_stamp()")
    else:
        op.execute("DROP TRIGGER box_change_stamp_insert")
        op.execute("DROP TRIGGER box_change_stamp_update")
    op.drop_index(op.f('ix_box_change_stamp'), table_name='box')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_column('box', 'change_stamp')
    else:  # SQLite 3.35+ drops a plain column in place, keeping the table's other triggers
        op.execute("ALTER TABLE box DROP COLUMN change_stamp")
