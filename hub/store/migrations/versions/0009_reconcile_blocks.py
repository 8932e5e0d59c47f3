"""reconcile blocks: a run's report rows stored as Parquet blocks of up to 50,000 rows
(reconciliation_row_blocks), not one JSON row each: a million rows are a few dozen inserts.
reconciliation_rows stays for the rows of runs stored before.

Revision ID: 0009_reconcile_blocks
Revises: 0008_workflows_b
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_reconcile_blocks"
down_revision: str | Sequence[str] | None = "0008_workflows_b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_row_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("first_position", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["reconciliations.id"],
                                name=op.f("reconciliation_row_blocks_run_id_fkey"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("reconciliation_row_blocks_pkey")),
    )
    with op.batch_alter_table("reconciliation_row_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_reconciliation_row_blocks_run_category",
                              ["run_id", "category", "block"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_row_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_reconciliation_row_blocks_run_category")
    op.drop_table("reconciliation_row_blocks")
