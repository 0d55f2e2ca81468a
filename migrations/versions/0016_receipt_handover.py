"""a scan's receipt keeps the handover it was made under

A refused scan writes no event, only its receipt (and an alert). The BAST lists the boxes refused at
the door beside the received, missing and unexpected ones, so the receipt keeps the handover token the
scan carried (NULL for scans outside a handover).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 15:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scan_receipt') as batch_op:
        batch_op.add_column(sa.Column('handover', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_scan_receipt_handover'), ['handover'], unique=False)


def downgrade():
    with op.batch_alter_table('scan_receipt') as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_receipt_handover'))
        batch_op.drop_column('handover')
