"""Indexes for downstream lineage walks (dataset membership, agents).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dataset_members_version", "dataset_members", ["version_id"])
    op.create_index("ix_dataset_members_asset", "dataset_members", ["asset_id"])
    op.create_index("ix_execution_agents_agent", "execution_agents", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_execution_agents_agent", "execution_agents")
    op.drop_index("ix_dataset_members_asset", "dataset_members")
    op.drop_index("ix_dataset_members_version", "dataset_members")
