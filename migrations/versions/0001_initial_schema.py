"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 22:25:23.854201

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('item_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('contest', sa.String(length=12), nullable=True),
    sa.Column('basis', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reserve_pct', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('packed_in_box', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('per_dapil', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.CheckConstraint("basis IN ('per_tps', 'per_box', 'per_voter')", name=op.f('ck_item_type_basis_valid')),
    sa.CheckConstraint("contest IS NULL OR contest IN ('PRESIDEN', 'DPR', 'DPD', 'DPRD_PROV', 'DPRD_KAB')", name=op.f('ck_item_type_contest_valid')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_item_type_quantity_nonnegative')),
    sa.CheckConstraint('reserve_pct >= 0', name=op.f('ck_item_type_reserve_nonnegative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_type')),
    sa.UniqueConstraint('code', name=op.f('uq_item_type_code'))
    )
    with op.batch_alter_table('item_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_type_contest'), ['contest'], unique=False)

    op.create_table('region',
    sa.Column('code', sa.String(length=13), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('parent_code', sa.String(length=13), nullable=True),
    sa.CheckConstraint('level BETWEEN 1 AND 4', name=op.f('ck_region_level_range')),
    sa.ForeignKeyConstraint(['parent_code'], ['region.code'], name=op.f('fk_region_parent_code_region'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_region'))
    )
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_region_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_region_parent_code'), ['parent_code'], unique=False)

    op.create_table('sscc_counter',
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('next_serial', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_sscc_counter'))
    )
    op.create_table('dapil',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('contest', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('within_code', sa.String(length=13), nullable=False),
    sa.CheckConstraint("contest IN ('DPR', 'DPD', 'DPRD_PROV', 'DPRD_KAB')", name=op.f('ck_dapil_contest_valid')),
    sa.ForeignKeyConstraint(['within_code'], ['region.code'], name=op.f('fk_dapil_within_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dapil')),
    sa.UniqueConstraint('code', name=op.f('uq_dapil_code'))
    )
    with op.batch_alter_table('dapil', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dapil_contest'), ['contest'], unique=False)
        batch_op.create_index(batch_op.f('ix_dapil_within_code'), ['within_code'], unique=False)

    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('region_code', sa.String(length=13), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('tps_number', sa.Integer(), nullable=True),
    sa.Column('dpt', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("(kind = 'tps') = (tps_number IS NOT NULL)", name=op.f('ck_site_tps_number_for_tps')),
    sa.CheckConstraint("kind IN ('printer', 'warehouse_prov', 'warehouse_kab', 'ppk', 'pps', 'tps')", name=op.f('ck_site_kind_valid')),
    sa.CheckConstraint('dpt IS NULL OR dpt >= 0', name=op.f('ck_site_dpt_nonnegative')),
    sa.ForeignKeyConstraint(['parent_id'], ['site.id'], name=op.f('fk_site_parent_id_site')),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_site_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('code', name=op.f('uq_site_code'))
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index('ix_site_kind_region', ['kind', 'region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_site_region_code'), ['region_code'], unique=False)

    op.create_table('dapil_region',
    sa.Column('dapil_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=13), nullable=False),
    sa.Column('contest', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['dapil_id'], ['dapil.id'], name=op.f('fk_dapil_region_dapil_id_dapil'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_dapil_region_region_code_region')),
    sa.PrimaryKeyConstraint('dapil_id', 'region_code', name=op.f('pk_dapil_region')),
    sa.UniqueConstraint('contest', 'region_code', name=op.f('uq_dapil_region_contest'))
    )
    op.create_table('tps_dapil',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('contest', sa.String(length=12), nullable=False),
    sa.Column('dapil_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dapil_id'], ['dapil.id'], name=op.f('fk_tps_dapil_dapil_id_dapil')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_tps_dapil_site_id_site'), ondelete='CASCADE'),
    sa.Column('source', sa.String(length=8), server_default='derived', nullable=False),
    sa.CheckConstraint("source IN ('kpu', 'derived')", name=op.f('ck_tps_dapil_source_valid')),
    sa.PrimaryKeyConstraint('site_id', 'contest', name=op.f('pk_tps_dapil'))
    )
    with op.batch_alter_table('tps_dapil', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tps_dapil_dapil_id'), ['dapil_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('scope_region_code', sa.String(length=13), nullable=True),
    sa.Column('scope_site_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'supervisor', 'warehouse', 'courier', 'officer', 'observer')", name=op.f('ck_users_role_valid')),
    sa.CheckConstraint('scope_region_code IS NULL OR scope_site_id IS NULL', name=op.f('ck_users_one_scope_kind')),
    sa.ForeignKeyConstraint(['scope_region_code'], ['region.code'], name=op.f('fk_users_scope_region_code_region')),
    sa.ForeignKeyConstraint(['scope_site_id'], ['site.id'], name=op.f('fk_users_scope_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_scope_region_code'), ['scope_region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_scope_site_id'), ['scope_site_id'], unique=False)

    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_token_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('box',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('contest', sa.String(length=12), nullable=True),
    sa.Column('dapil_id', sa.Integer(), nullable=True),
    sa.Column('destination_id', sa.Integer(), nullable=False),
    sa.Column('set_index', sa.SmallInteger(), nullable=False),
    sa.Column('set_size', sa.SmallInteger(), nullable=False),
    sa.Column('seals', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('holder_site_id', sa.Integer(), nullable=True),
    sa.Column('holder_user_id', sa.Integer(), nullable=True),
    sa.Column('current_site_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("kind IN ('ballot_box', 'supplies', 'vendor_carton')", name=op.f('ck_box_kind_valid')),
    sa.CheckConstraint("status IN ('planned', 'commissioned', 'packed', 'sealed', 'in_transit', 'held', 'opened', 'damaged', 'lost', 'voided')", name=op.f('ck_box_status_valid')),
    sa.CheckConstraint('length(sscc) = 18', name=op.f('ck_box_sscc_length')),
    sa.CheckConstraint('set_index >= 1 AND set_index <= set_size', name=op.f('ck_box_set_index_range')),
    sa.ForeignKeyConstraint(['current_site_id'], ['site.id'], name=op.f('fk_box_current_site_id_site')),
    sa.ForeignKeyConstraint(['dapil_id'], ['dapil.id'], name=op.f('fk_box_dapil_id_dapil')),
    sa.ForeignKeyConstraint(['destination_id'], ['site.id'], name=op.f('fk_box_destination_id_site')),
    sa.ForeignKeyConstraint(['holder_site_id'], ['site.id'], name=op.f('fk_box_holder_site_id_site')),
    sa.ForeignKeyConstraint(['holder_user_id'], ['users.id'], name=op.f('fk_box_holder_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_box')),
    sa.UniqueConstraint('destination_id', 'kind', 'contest', 'set_index', name='uq_box_slot'),
    sa.UniqueConstraint('sscc', name=op.f('uq_box_sscc'))
    )
    with op.batch_alter_table('box', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_box_current_site_id'), ['current_site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_dapil_id'), ['dapil_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_destination_id'), ['destination_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_holder_site_id'), ['holder_site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_holder_user_id'), ['holder_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_box_status'), ['status'], unique=False)

    op.create_table('manifest_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('dapil_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_manifest_line_quantity_nonnegative')),
    sa.ForeignKeyConstraint(['box_id'], ['box.id'], name=op.f('fk_manifest_line_box_id_box'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dapil_id'], ['dapil.id'], name=op.f('fk_manifest_line_dapil_id_dapil')),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_type.id'], name=op.f('fk_manifest_line_item_type_id_item_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifest_line')),
    sa.UniqueConstraint('box_id', 'item_type_id', name='uq_manifest_line_box_item')
    )
    with op.batch_alter_table('manifest_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_line_box_id'), ['box_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifest_line_item_type_id'), ['item_type_id'], unique=False)

    


def downgrade():
    
    with op.batch_alter_table('manifest_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_line_item_type_id'))
        batch_op.drop_index(batch_op.f('ix_manifest_line_box_id'))

    op.drop_table('manifest_line')
    with op.batch_alter_table('box', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_box_status'))
        batch_op.drop_index(batch_op.f('ix_box_holder_user_id'))
        batch_op.drop_index(batch_op.f('ix_box_holder_site_id'))
        batch_op.drop_index(batch_op.f('ix_box_destination_id'))
        batch_op.drop_index(batch_op.f('ix_box_dapil_id'))
        batch_op.drop_index(batch_op.f('ix_box_current_site_id'))

    op.drop_table('box')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_scope_site_id'))
        batch_op.drop_index(batch_op.f('ix_users_scope_region_code'))

    op.drop_table('users')
    with op.batch_alter_table('tps_dapil', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tps_dapil_dapil_id'))

    op.drop_table('tps_dapil')
    op.drop_table('dapil_region')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_region_code'))
        batch_op.drop_index(batch_op.f('ix_site_parent_id'))
        batch_op.drop_index(batch_op.f('ix_site_name'))
        batch_op.drop_index('ix_site_kind_region')

    op.drop_table('site')
    with op.batch_alter_table('dapil', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dapil_within_code'))
        batch_op.drop_index(batch_op.f('ix_dapil_contest'))

    op.drop_table('dapil')
    op.drop_table('sscc_counter')
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_region_parent_code'))
        batch_op.drop_index(batch_op.f('ix_region_name'))

    op.drop_table('region')
    with op.batch_alter_table('item_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_type_contest'))

    op.drop_table('item_type')
    
