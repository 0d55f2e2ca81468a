"""custody ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:53:42.081575

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


APPEND_ONLY = ('custody_event', 'scan_receipt', 'ledger_checkpoint')


def drop_append_only_triggers():
    """Remove the triggers (downgrade only)."""
    for table in APPEND_ONLY:
        if op.get_bind().dialect.name == 'postgresql':
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def upgrade():
    
    op.create_table('ledger_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upto_event_id', sa.BigInteger(), nullable=False),
    sa.Column('event_count', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('peaks', sa.JSON(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoint')),
    sa.UniqueConstraint('upto_event_id', name=op.f('uq_ledger_checkpoint_upto_event_id'))
    )
    op.create_table('custody_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=False),
    sa.Column('box_seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('from_holder', sa.String(length=80), nullable=True),
    sa.Column('to_holder', sa.String(length=80), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('device_seq', sa.BigInteger(), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('lon', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('accuracy', sa.Integer(), nullable=True),
    sa.Column('seals', sa.JSON(), nullable=False),
    sa.Column('condition', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('witness', sa.String(length=120), nullable=True),
    sa.Column('handover', sa.String(length=36), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('commission', 'pack', 'seal', 'dispatch', 'receive', 'inspect', 'open', 'reseal', 'damage', 'loss', 'void')", name=op.f('ck_custody_event_kind_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_custody_event_actor_id_users')),
    sa.ForeignKeyConstraint(['box_id'], ['box.id'], name=op.f('fk_custody_event_box_id_box')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_custody_event_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_event')),
    sa.UniqueConstraint('box_id', 'box_seq', name='uq_custody_event_box_seq'),
    sa.UniqueConstraint('client_id', name=op.f('uq_custody_event_client_id'))
    )
    with op.batch_alter_table('custody_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_event_box_id'), ['box_id'], unique=False)
        batch_op.create_index('ix_custody_event_device', ['device_id', 'device_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_event_handover'), ['handover'], unique=False)
        batch_op.create_index(batch_op.f('ix_custody_event_site_id'), ['site_id'], unique=False)

    op.create_table('alert',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('code', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name=op.f('ck_alert_state_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_alert_actor_id_users')),
    sa.ForeignKeyConstraint(['box_id'], ['box.id'], name=op.f('fk_alert_box_id_box')),
    sa.ForeignKeyConstraint(['event_id'], ['custody_event.id'], name=op.f('fk_alert_event_id_custody_event')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_alert_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_alert_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_box_id'), ['box_id'], unique=False)
        batch_op.create_index('ix_alert_kind_state', ['kind', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_site_id'), ['site_id'], unique=False)

    op.create_table('scan_receipt',
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_scan_receipt_actor_id_users')),
    sa.ForeignKeyConstraint(['box_id'], ['box.id'], name=op.f('fk_scan_receipt_box_id_box')),
    sa.ForeignKeyConstraint(['event_id'], ['custody_event.id'], name=op.f('fk_scan_receipt_event_id_custody_event')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_scan_receipt'))
    )
    with op.batch_alter_table('scan_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_receipt_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_receipt_box_id'), ['box_id'], unique=False)

    # Plain ADD COLUMN, so SQLite need not rebuild the box table (its rows are referenced).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE box ADD COLUMN transit_site_id INTEGER REFERENCES site (id)')
        op.execute('ALTER TABLE box ADD COLUMN transit_user_id INTEGER REFERENCES users (id)')
    else:
        op.add_column('box', sa.Column('transit_site_id', sa.Integer(), nullable=True))
        op.add_column('box', sa.Column('transit_user_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_box_transit_site_id_site'), 'box', 'site', ['transit_site_id'], ['id'])
        op.create_foreign_key(op.f('fk_box_transit_user_id_users'), 'box', 'users', ['transit_user_id'], ['id'])
    op.add_column('box', sa.Column('chain_length', sa.Integer(), server_default='0', nullable=False))
    op.add_column('box', sa.Column('chain_head', sa.String(length=64), nullable=True))
    op.add_column('box', sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_box_transit_site_id'), 'box', ['transit_site_id'], unique=False)
    op.create_index(op.f('ix_box_transit_user_id'), 'box', ['transit_user_id'], unique=False)

    # The ledger is append-only, enforced by the database itself (DESIGN.md section 5, invariant 2).
    for table in APPEND_ONLY:
        if op.get_bind().dialect.name == 'postgresql':
            op.execute(f"""
                CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '{table} is append-only: % refused', TG_OP USING ERRCODE = 'raise_exception';
                END $$""")
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()")
        else:
            for verb in ('UPDATE', 'DELETE'):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")

    


def downgrade():
    drop_append_only_triggers()
    
    with op.batch_alter_table('box', schema=None) as batch_op:
        if op.get_bind().dialect.name != 'sqlite':  # SQLite's inline keys are unnamed; the rebuild drops them
            batch_op.drop_constraint(batch_op.f('fk_box_transit_site_id_site'), type_='foreignkey')
            batch_op.drop_constraint(batch_op.f('fk_box_transit_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_box_transit_user_id'))
        batch_op.drop_index(batch_op.f('ix_box_transit_site_id'))
        batch_op.drop_column('last_event_at')
        batch_op.drop_column('chain_head')
        batch_op.drop_column('chain_length')
        batch_op.drop_column('transit_user_id')
        batch_op.drop_column('transit_site_id')

    with op.batch_alter_table('scan_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_receipt_box_id'))
        batch_op.drop_index(batch_op.f('ix_scan_receipt_actor_id'))

    op.drop_table('scan_receipt')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_site_id'))
        batch_op.drop_index('ix_alert_kind_state')
        batch_op.drop_index(batch_op.f('ix_alert_box_id'))
        batch_op.drop_index(batch_op.f('ix_alert_actor_id'))

    op.drop_table('alert')
    with op.batch_alter_table('custody_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_custody_event_site_id'))
        batch_op.drop_index(batch_op.f('ix_custody_event_handover'))
        batch_op.drop_index('ix_custody_event_device')
        batch_op.drop_index(batch_op.f('ix_custody_event_box_id'))
        batch_op.drop_index(batch_op.f('ix_custody_event_actor_id'))

    op.drop_table('custody_event')
    op.drop_table('ledger_checkpoint')
    
