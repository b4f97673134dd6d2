"""Fix packages and what later runs found of them; decisions keep their members; clusters say how they matched.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the fix package tables; give cluster decisions their members, clusters how they matched."""
    op.create_table(
        "fix_packages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_id", sa.String(length=200), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=True),
        sa.Column("applied_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", name="uq_fix_packages_package_id"),
    )
    op.create_index("ix_fix_packages_source", "fix_packages", ["source_name", "id"])
    op.create_table(
        "fix_changes",
        sa.Column("package", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("record_key", sa.String(length=200), nullable=False),
        sa.Column("column_name", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("checks", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=True),
        sa.Column("applied_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["package"], ["fix_packages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("package", "entity", "record_key", "column_name"),
    )
    op.create_table(
        "fix_status",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("package", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["package"], ["fix_packages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "package", "entity", "field", "status"),
    )
    with op.batch_alter_table("cluster_decisions") as batch:
        batch.add_column(sa.Column("member_keys", sa.Text(), nullable=True))
    with op.batch_alter_table("duplicate_clusters") as batch:
        batch.add_column(sa.Column("matched_on", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("duplicate_clusters") as batch:
        batch.drop_column("matched_on")
    with op.batch_alter_table("cluster_decisions") as batch:
        batch.drop_column("member_keys")
    op.drop_table("fix_status")
    op.drop_table("fix_changes")
    op.drop_index("ix_fix_packages_source", table_name="fix_packages")
    op.drop_table("fix_packages")
