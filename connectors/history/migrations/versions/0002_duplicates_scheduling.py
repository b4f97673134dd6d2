"""Duplicate clusters and steward decisions; run locks, heartbeats and alert state.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table('alert_state',
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('firing', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('source_name', 'rule')
    )
    op.create_table('cluster_decisions',
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('cluster_id', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('source_name', 'cluster_id')
    )
    op.create_table('heartbeats',
    sa.Column('scheduler_id', sa.String(length=200), nullable=False),
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('beat_at', sa.DateTime(), nullable=False),
    sa.Column('next_runs', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('scheduler_id')
    )
    op.create_table('run_locks',
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('source_name')
    )
    op.create_table('cluster_members',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.String(length=64), nullable=False),
    sa.Column('record_key', sa.String(length=200), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('is_survivor', sa.Integer(), server_default='0', nullable=False),
    sa.Column('match_score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'cluster_id', 'record_key')
    )
    op.create_table('duplicate_clusters',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('survivor_key', sa.String(length=200), nullable=True),
    sa.Column('merge_plan', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'cluster_id')
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table('duplicate_clusters')
    op.drop_table('cluster_members')
    op.drop_table('run_locks')
    op.drop_table('heartbeats')
    op.drop_table('cluster_decisions')
    op.drop_table('alert_state')
