"""site.gln: each site's GS1 location number (GLN), for the EPCIS export's places

Filled here for every site from the configured prefix (GS1_GLN_PREFIX, by default GS1_COMPANY_PREFIX) and
the site's id, with the GS1 check digit (webapp/geo/gln.py); new sites get theirs when stored. Unique, as a
unique index (SQLite cannot add a unique column in place).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27 23:40:00

"""
from alembic import op
import sqlalchemy as sa

from webapp.geo.gln import configured_prefix, make_gln


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    # Not batch_alter_table: a plain ADD COLUMN keeps the table as it is on SQLite.
    op.add_column('site', sa.Column('gln', sa.String(length=13), nullable=True))
    site = sa.table('site', sa.column('id', sa.Integer), sa.column('gln', sa.String))
    bind = op.get_bind()
    prefix = configured_prefix()
    ids = [row.id for row in bind.execute(sa.select(site.c.id).order_by(site.c.id))]
    for start in range(0, len(ids), 5000):
        bind.execute(
            site.update().where(site.c.id == sa.bindparam('site_id')).values(gln=sa.bindparam('number')),
            [{'site_id': i, 'number': make_gln(prefix, i)} for i in ids[start:start + 5000]],
        )
    op.create_index(op.f('ix_site_gln'), 'site', ['gln'], unique=True)


def downgrade():
    op.drop_index(op.f('ix_site_gln'), table_name='site')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_column('site', 'gln')
    else:  # SQLite 3.35+ drops a plain column in place
        op.execute("ALTER TABLE site DROP COLUMN gln")
