"""The ledger's tables, as SQLAlchemy Core metadata shared by SQLite and PostgreSQL.

Money (prices, P&L, charges) is ``Double`` (IEEE-754 binary64: SQLite ``REAL``,
PostgreSQL ``double precision``) because the engine's records hold ``float``
rupees: a double round-trips every Python float bit for bit on both back-ends,
whereas ``Numeric`` would hand back ``Decimal`` on PostgreSQL and is stored as
``REAL`` by SQLite anyway, so the two back-ends would disagree. See
``docs/ledger.md``. Times are ``BigInteger`` epoch nanoseconds from the
injected clock. JSON payloads are text (encoded by msgspec), not a JSON column
type, so both back-ends store the same bytes.

The migration ``migrations/versions/0001_initial.py`` creates exactly this
schema (a test compares them); change both together, with a new revision.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint and index names, so migrations can name what they drop."""

CLIENT_ORDER_ID_LEN = 20
"""Kite's ``tag`` limit, which carries the client order id."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""All ledger tables."""

# SQLite only auto-increments an ``INTEGER PRIMARY KEY``, not a ``BIGINT`` one.
_AutoId = BigInteger().with_variant(Integer(), "sqlite")

orders = Table(
    "orders",
    metadata,
    Column("client_order_id", String(CLIENT_ORDER_ID_LEN), primary_key=True),
    Column("broker_order_id", String(64), nullable=True),
    Column("strategy_id", String(64), nullable=False),
    Column("user", String(64), nullable=False),
    Column("exchange", String(16), nullable=False),
    Column("tradingsymbol", String(64), nullable=False),
    Column("instrument_token", BigInteger, nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("product", String(16), nullable=False),
    Column("validity", String(16), nullable=False),
    Column("variety", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Double, nullable=False),
    Column("trigger_price", Double, nullable=False),
    Column("market_protection", Double, nullable=False),
    Column("filled_quantity", Integer, nullable=False),
    Column("average_price", Double, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=False),
    Column("created_ns", BigInteger, nullable=False),
    Column("updated_ns", BigInteger, nullable=False),
    Column("modifications", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    # String(20) is not enforced by SQLite; this check is, on both back-ends.
    CheckConstraint(
        f"length(client_order_id) BETWEEN 1 AND {CLIENT_ORDER_ID_LEN}",
        name="client_order_id_length",
    ),
    Index(None, "status"),
    Index(None, "broker_order_id"),
    Index(None, "strategy_id"),
)
"""One row per order: its latest state. Written with optimistic concurrency on ``version``."""

order_events = Table(
    "order_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("client_order_id", String(CLIENT_ORDER_ID_LEN), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("ts_ns", BigInteger, nullable=False),
    Index(None, "client_order_id", "seq"),
    Index(None, "ts_ns"),
)
"""Append-only log of what happened to each order (the database refuses UPDATE and DELETE)."""

fills = Table(
    "fills",
    metadata,
    Column("client_order_id", String(CLIENT_ORDER_ID_LEN), primary_key=True),
    Column("trade_id", String(64), primary_key=True),
    Column("broker_order_id", String(64), nullable=True),
    Column("instrument_token", BigInteger, nullable=False),
    Column("exchange", String(16), nullable=False),
    Column("tradingsymbol", String(64), nullable=False),
    Column("side", String(8), nullable=False),
    Column("product", String(16), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Double, nullable=False),
    Column("ts_ns", BigInteger, nullable=False),
    Column("strategy_id", String(64), nullable=False),
    Index(None, "ts_ns"),
)
"""Every trade against an order, recorded once per (client order id, trade id).

The key includes the order because an exchange trade id is unique only within
its exchange and trading day; the client order id is unique for ever.
"""

positions = Table(
    "positions",
    metadata,
    Column("instrument_token", BigInteger, primary_key=True),
    Column("product", String(16), primary_key=True),
    Column("strategy_id", String(64), primary_key=True),
    Column("net_quantity", Integer, nullable=False),
    Column("average_price", Double, nullable=False),
    Column("realized_pnl", Double, nullable=False),
    Column("charges", Double, nullable=False),
    Column("updated_ns", BigInteger, nullable=False),
)
"""Net position per instrument, product and strategy, as the portfolio last computed it."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _AutoId, primary_key=True, autoincrement=True),
    Column("ts_ns", BigInteger, nullable=False),
    Column("user", String(64), nullable=False),
    Column("session", String(64), nullable=False),
    Column("source", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("result", Text, nullable=False),
    Index(None, "ts_ns"),
    Index(None, "user", "ts_ns"),
)
"""Append-only record of who did what, from where, and what came of it."""

APPEND_ONLY_TABLES = ("order_events", "audit_log")
"""Tables whose rows the database refuses to update or delete."""

CLOSED_STATUSES = ("COMPLETE", "CANCELLED", "REJECTED")
"""Kite's terminal order statuses; every other status is an open order."""
