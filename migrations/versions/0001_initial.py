"""Initial ledger: orders, order events, fills, positions, audit log, append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out in full rather than from ``engine.ledger.schema`` so that this revision
stays what it was when later revisions change the schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("order_events", "audit_log")

_PG_REFUSE_FUNCTION = """
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def _create_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(_PG_REFUSE_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
            # TRUNCATE skips row triggers, so it gets a statement trigger of its own.
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )
    else:
        raise NotImplementedError(f"ledger migrations support sqlite and postgresql, not {dialect}")


def _drop_triggers(dialect: str) -> None:
    if dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")


def upgrade() -> None:
    """Create every ledger table, its indexes and the append-only triggers."""
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(20), nullable=False),
        sa.Column("broker_order_id", sa.String(64), nullable=True),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("exchange", sa.String(16), nullable=False),
        sa.Column("tradingsymbol", sa.String(64), nullable=False),
        sa.Column("instrument_token", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("product", sa.String(16), nullable=False),
        sa.Column("validity", sa.String(16), nullable=False),
        sa.Column("variety", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("trigger_price", sa.Double(), nullable=False),
        sa.Column("market_protection", sa.Double(), nullable=False),
        sa.Column("filled_quantity", sa.Integer(), nullable=False),
        sa.Column("average_price", sa.Double(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("created_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.Column("modifications", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_order_id", name="pk_orders"),
        sa.CheckConstraint(
            "length(client_order_id) BETWEEN 1 AND 20",
            name=op.f("ck_orders_client_order_id_length"),
        ),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_broker_order_id", "orders", ["broker_order_id"])
    op.create_index("ix_orders_strategy_id", "orders", ["strategy_id"])

    op.create_table(
        "order_events",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_order_events"),
    )
    op.create_index(
        "ix_order_events_client_order_id_seq", "order_events", ["client_order_id", "seq"]
    )
    op.create_index("ix_order_events_ts_ns", "order_events", ["ts_ns"])

    op.create_table(
        "fills",
        sa.Column("client_order_id", sa.String(20), nullable=False),
        sa.Column("trade_id", sa.String(64), nullable=False),
        sa.Column("broker_order_id", sa.String(64), nullable=True),
        sa.Column("instrument_token", sa.BigInteger(), nullable=False),
        sa.Column("exchange", sa.String(16), nullable=False),
        sa.Column("tradingsymbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("product", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("client_order_id", "trade_id", name="pk_fills"),
    )
    op.create_index("ix_fills_ts_ns", "fills", ["ts_ns"])

    op.create_table(
        "positions",
        sa.Column("instrument_token", sa.BigInteger(), nullable=False),
        sa.Column("product", sa.String(16), nullable=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("net_quantity", sa.Integer(), nullable=False),
        sa.Column("average_price", sa.Double(), nullable=False),
        sa.Column("realized_pnl", sa.Double(), nullable=False),
        sa.Column("charges", sa.Double(), nullable=False),
        sa.Column("updated_ns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("instrument_token", "product", "strategy_id", name="pk_positions"),
    )

    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("session", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_ts_ns", "audit_log", ["ts_ns"])
    op.create_index("ix_audit_log_user_ts_ns", "audit_log", ["user", "ts_ns"])

    _create_triggers(op.get_context().dialect.name)


def downgrade() -> None:
    """Drop the triggers and every ledger table (this deletes the ledger's data)."""
    _drop_triggers(op.get_context().dialect.name)
    for table in ("audit_log", "positions", "fills", "order_events", "orders"):
        op.drop_table(table)
