"""corrections of mistaken scans: custody_event.corrects and the correction_request table

A correction is a new ledger event (kind `correct`) naming the hash of the event it corrects in
`corrects`, a hashed field left out of the canonical bytes when null, so every event hashed before
keeps its hash (docs/ledger.md). The column is added in place (ALTER TABLE ... ADD COLUMN on SQLite
too), so the append-only triggers on custody_event stay as they are.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('custody_event', sa.Column('corrects', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_custody_event_corrects'), 'custody_event', ['corrects'], unique=False)
    op.create_table(
        'correction_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('box_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('correction_client_id', sa.String(length=36), nullable=True),
        sa.Column('correction_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name=op.f('ck_correction_request_state_valid')),
        sa.ForeignKeyConstraint(['box_id'], ['box.id'], name=op.f('fk_correction_request_box_id_box')),
        sa.ForeignKeyConstraint(['correction_event_id'], ['custody_event.id'], name=op.f('fk_correction_request_correction_event_id_custody_event')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_correction_request_decided_by_id_users')),
        sa.ForeignKeyConstraint(['event_id'], ['custody_event.id'], name=op.f('fk_correction_request_event_id_custody_event')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_correction_request_requested_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_correction_request')),
        sa.UniqueConstraint('correction_client_id', name=op.f('uq_correction_request_correction_client_id')),
    )
    for column in ('event_id', 'box_id', 'state', 'requested_by_id'):
        op.create_index(op.f(f'ix_correction_request_{column}'), 'correction_request', [column], unique=False)


def downgrade():
    op.drop_table('correction_request')
    op.drop_index(op.f('ix_custody_event_corrects'), table_name='custody_event')
    op.drop_column('custody_event', 'corrects')
