"""overdue alerts name their milestone in `code`

The sweep now finds the TPS not yet alerted for a milestone in SQL, by the alert's `code`
("out:ppk", "back:warehouse"). Alerts raised before kept the milestone only in `details`;
this fills their code so that they are not raised a second time.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 10:05:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

alert = sa.table('alert', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                 sa.column('code', sa.String), sa.column('details', sa.JSON))


def upgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.select(alert.c.id, alert.c.details).where(alert.c.kind == 'overdue', alert.c.code.is_(None)))
    for alert_id, details in rows.all():
        details = json.loads(details) if isinstance(details, str) else details
        if not isinstance(details, dict):
            continue
        if details.get('direction') and details.get('level'):
            code = f"{details['direction']}:{details['level']}"
            bind.execute(sa.update(alert).where(alert.c.id == alert_id).values(code=code))


def downgrade():
    bind = op.get_bind()
    bind.execute(sa.update(alert).where(alert.c.kind == 'overdue').values(code=None))
