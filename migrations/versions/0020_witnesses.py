"""witnesses: registered witness keys (ledger_witness) and their cosignatures of checkpoints (ledger_cosignature)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ledger_witness',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('vkey', sa.String(length=300), nullable=False),
        sa.Column('key_id', sa.String(length=8), nullable=False),
        sa.Column('organisation', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_witness')),
        sa.UniqueConstraint('name', name=op.f('uq_ledger_witness_name')),
        sa.UniqueConstraint('vkey', name=op.f('uq_ledger_witness_vkey')),
    )
    op.create_table(
        'ledger_cosignature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('witness_id', sa.Integer(), nullable=False),
        sa.Column('checkpoint_id', sa.Integer(), nullable=False),
        sa.Column('timestamp', sa.BigInteger(), nullable=False),
        sa.Column('line', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['checkpoint_id'], ['ledger_checkpoint.id'], name=op.f('fk_ledger_cosignature_checkpoint_id_ledger_checkpoint')
        ),
        sa.ForeignKeyConstraint(
            ['witness_id'], ['ledger_witness.id'], name=op.f('fk_ledger_cosignature_witness_id_ledger_witness')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_cosignature')),
        sa.UniqueConstraint('witness_id', 'checkpoint_id', name=op.f('uq_ledger_cosignature_witness_id')),
    )
    op.create_index(
        op.f('ix_ledger_cosignature_checkpoint_id'), 'ledger_cosignature', ['checkpoint_id'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_ledger_cosignature_checkpoint_id'), table_name='ledger_cosignature')
    op.drop_table('ledger_cosignature')
    op.drop_table('ledger_witness')
