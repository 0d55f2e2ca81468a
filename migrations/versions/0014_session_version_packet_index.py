"""a per-user session version, and the index on packet.packed_event_id

`users.session_version` is stored in every browser session at login and compared on every
request: logout, a password change and disabling the account raise it, which ends every session
of that user at once (issue 12). The EPCIS export and the stock page join packets to their packing
event; without this index that join reads the whole packet table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.create_index(op.f('ix_packet_packed_event_id'), 'packet', ['packed_event_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_packet_packed_event_id'), table_name='packet')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
