"""epcis_capture: EPCIS 2.0 documents sent to POST /api/v1/epcis/capture, captured by a job of the queue

Each row is one capture job: its document (until captured), its progress, the boxes by verdict and each
refused or unreadable event (custody/capture_jobs.py).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28 02:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('epcis_capture',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capture_id', sa.String(length=32), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('document', sa.Text(), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_epcis_capture_state_valid')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_epcis_capture_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_epcis_capture')),
    sa.UniqueConstraint('capture_id', name=op.f('uq_epcis_capture_capture_id'))
    )
    with op.batch_alter_table('epcis_capture', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_epcis_capture_submitted_by_id'), ['submitted_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('epcis_capture', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_epcis_capture_submitted_by_id'))

    op.drop_table('epcis_capture')
