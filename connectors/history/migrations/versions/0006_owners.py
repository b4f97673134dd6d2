"""Owners: the name and team of each CRM user as a run read them, so pages show people, not ids.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the owners table."""
    op.create_table(
        "owners",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=True),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "owner"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("owners")
