"""label jobs on the task queue: their PDF in the database, attempts and a heartbeat

A label job is now a task of the job queue (webapp/core/jobs.py), run by whichever worker takes it, and
its PDF is served by whichever app server is asked: so the PDF is kept in the database, in pieces
(label_job_pdf), not on one machine's disk. `attempts` counts the runs started (a failed one is retried),
`heartbeat_at` is the last sign of life of the run in progress (a job whose worker died is run again).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('label_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pdf_size', sa.Integer(), nullable=True))
    op.create_table(
        'label_job_pdf',
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['job_id'], ['label_job.id'], name=op.f('fk_label_job_pdf_job_id_label_job'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('job_id', 'seq', name=op.f('pk_label_job_pdf')),
    )


def downgrade():
    op.drop_table('label_job_pdf')
    with op.batch_alter_table('label_job', schema=None) as batch_op:
        batch_op.drop_column('pdf_size')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('attempts')
