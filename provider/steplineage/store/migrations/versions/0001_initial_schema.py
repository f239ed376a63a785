"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('asset_tables',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('asset_types',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('datasets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('resources',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('workflows',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('workflow_type', sa.String(length=32), nullable=False),
    sa.Column('version', sa.String(length=255), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('checksum', sa.String(length=128), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('dirty', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.create_index('ix_workflows_name', ['name'], unique=False)

    op.create_table('assets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('asset_table', sa.String(length=128), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('filename', sa.Text(), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_table'], ['asset_tables.name'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('asset_table', 'sha256', 'filename', name='uq_assets_content')
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index('ix_assets_sha256', ['sha256'], unique=False)

    op.create_table('dataset_versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dataset_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'version', name='uq_dataset_versions')
    )
    op.create_table('executions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('workflow_id', sa.String(length=36), nullable=True),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stop_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('watermark', sa.Text(), nullable=True),
    sa.Column('next_watermark', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('user', sa.String(length=255), nullable=True),
    sa.Column('working_dir', sa.Text(), nullable=True),
    sa.Column('orchestrator', sa.String(length=16), nullable=True),
    sa.Column('dag_id', sa.String(length=250), nullable=True),
    sa.Column('run_id', sa.String(length=250), nullable=True),
    sa.Column('task_id', sa.String(length=250), nullable=True),
    sa.Column('map_index', sa.Integer(), nullable=True),
    sa.Column('try_number', sa.Integer(), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('task_run_id', sa.String(length=64), nullable=True),
    sa.Column('run_count', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['executions.id'], ),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.create_index('ix_executions_dag_created', ['dag_id', 'created_at'], unique=False)
        batch_op.create_index('ix_executions_flow_run', ['flow_run_id'], unique=False)
        batch_op.create_index('ix_executions_parent', ['parent_id'], unique=False)
        batch_op.create_index('ix_executions_status', ['status'], unique=False)
        batch_op.create_index('ix_executions_workflow_created', ['workflow_id', 'created_at'], unique=False)

    op.create_table('versions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('subpath', sa.Text(), nullable=False),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('resource_id', 'subpath', 'hash', name='uq_versions_ref_hash')
    )
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.create_index('ix_versions_ref', ['resource_id', 'subpath'], unique=False)

    op.create_table('asset_type_links',
    sa.Column('asset_id', sa.String(length=36), nullable=False),
    sa.Column('type_name', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_name'], ['asset_types.name'], ),
    sa.PrimaryKeyConstraint('asset_id', 'type_name')
    )
    op.create_table('dataset_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dataset_version_id', sa.String(length=36), nullable=False),
    sa.Column('asset_id', sa.String(length=36), nullable=True),
    sa.Column('version_id', sa.String(length=36), nullable=True),
    sa.CheckConstraint('(asset_id IS NULL) <> (version_id IS NULL)', name='ck_member_one_target'),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_versions.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dataset_members', schema=None) as batch_op:
        batch_op.create_index('ix_dataset_members_dv', ['dataset_version_id'], unique=False)

    op.create_table('execution_agents',
    sa.Column('execution_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ),
    sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('execution_id', 'agent_id')
    )
    op.create_table('lineage_edges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('execution_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=True),
    sa.Column('subpath', sa.Text(), nullable=True),
    sa.Column('version_id', sa.String(length=36), nullable=True),
    sa.Column('asset_id', sa.String(length=36), nullable=True),
    sa.Column('dataset_version_id', sa.String(length=36), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(CASE WHEN asset_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN dataset_version_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN resource_id IS NULL THEN 0 ELSE 1 END) = 1', name='ck_edge_one_target'),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], ),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_versions.id'], ),
    sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['resources.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lineage_edges', schema=None) as batch_op:
        batch_op.create_index('ix_edges_asset', ['asset_id', 'role'], unique=False)
        batch_op.create_index('ix_edges_dataset_version', ['dataset_version_id', 'role'], unique=False)
        batch_op.create_index('ix_edges_execution', ['execution_id', 'role'], unique=False)
        batch_op.create_index('ix_edges_ref', ['resource_id', 'subpath'], unique=False)
        batch_op.create_index('ix_edges_version', ['version_id', 'role'], unique=False)

    op.create_table('status_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('execution_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['execution_id'], ['executions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('execution_id', 'seq', name='uq_status_history_seq')
    )

    # Built-in vocabulary: where execution metadata and table files are filed on upload.
    asset_tables = sa.table("asset_tables", sa.column("name"), sa.column("description"))
    op.bulk_insert(asset_tables, [
        {"name": "Execution_Asset", "description": "Files an execution produced."},
        {"name": "Execution_Metadata", "description": "Configuration, logs and environment of an execution."},
        {"name": "Execution_Table", "description": "Table values (CSV) an execution produced."},
    ])
    asset_types = sa.table("asset_types", sa.column("name"), sa.column("description"))
    op.bulk_insert(asset_types, [
        {"name": "Execution_Config", "description": "Configuration an execution ran with."},
        {"name": "Runtime_Env", "description": "Description of the runtime environment."},
        {"name": "Execution_Log", "description": "Log output of an execution."},
    ])


def downgrade() -> None:
    op.drop_table('status_history')
    with op.batch_alter_table('lineage_edges', schema=None) as batch_op:
        batch_op.drop_index('ix_edges_version')
        batch_op.drop_index('ix_edges_ref')
        batch_op.drop_index('ix_edges_execution')
        batch_op.drop_index('ix_edges_dataset_version')
        batch_op.drop_index('ix_edges_asset')

    op.drop_table('lineage_edges')
    op.drop_table('execution_agents')
    with op.batch_alter_table('dataset_members', schema=None) as batch_op:
        batch_op.drop_index('ix_dataset_members_dv')

    op.drop_table('dataset_members')
    op.drop_table('asset_type_links')
    with op.batch_alter_table('versions', schema=None) as batch_op:
        batch_op.drop_index('ix_versions_ref')

    op.drop_table('versions')
    with op.batch_alter_table('executions', schema=None) as batch_op:
        batch_op.drop_index('ix_executions_workflow_created')
        batch_op.drop_index('ix_executions_status')
        batch_op.drop_index('ix_executions_parent')
        batch_op.drop_index('ix_executions_flow_run')
        batch_op.drop_index('ix_executions_dag_created')

    op.drop_table('executions')
    op.drop_table('dataset_versions')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_sha256')

    op.drop_table('assets')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_index('ix_workflows_name')

    op.drop_table('workflows')
    op.drop_table('resources')
    op.drop_table('datasets')
    op.drop_table('asset_types')
    op.drop_table('asset_tables')
    op.drop_table('agents')
