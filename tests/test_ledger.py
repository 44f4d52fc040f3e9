"""The ledger on both back-ends: the embedded SQLite file and a real PostgreSQL server.

Every test that takes ``db_url`` runs twice. PostgreSQL comes from the
``postgres_url`` fixture of tests/services.py (``ALPHAPT_TEST_PG_URL``, the local
server, or a throwaway cluster it starts); each test gets a freshly created database
of its own, dropped afterwards. If no server can be had the PostgreSQL cases fail
under CI and are skipped elsewhere.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc, inspect, pool, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from engine.clock import TestClock
from engine.ledger import (
    Ledger,
    LedgerError,
    LedgerSettings,
    LedgerUnavailable,
    SchemaAhead,
    SchemaBehind,
    ensure_schema,
    event_row,
    open_ledger,
)
from engine.ledger.connect import open_runner
from engine.ledger.migrate import (
    SCHEMA_HEAD,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from engine.ledger.schema import fills, metadata, orders
from engine.ledger.urls import URL_ENV, async_url
from engine.orders.commands import SubmitOrder
from engine.orders.events import (
    OrderAccepted,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderSubmitted,
)
from engine.orders.model import Fill, Order, OrderStatus, OrderType, Product, Side
from engine.orders.state import apply, initial_order
from tests.services import temporary_database

ROOT = Path(__file__).resolve().parents[1]
LEDGER_TABLES = {"orders", "order_events", "fills", "positions", "audit_log"}


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: an SQLite file under a data dir, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'ledger' / 'ledger.db'}"
        return
    server_url = request.getfixturevalue("postgres_url")  # only the PostgreSQL cases need it
    async with temporary_database(server_url, prefix="alphapt_ledger_test") as url:
        yield url


@pytest.fixture
async def migrated_url(db_url: str) -> str:
    """``db_url`` migrated to the newest revision."""
    await upgrade(db_url)
    return db_url


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
async def ledger(migrated_url: str, clock: TestClock) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(migrated_url, clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def raw(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """A plain engine on the ledger database, for SQL the Ledger does not offer."""
    engine = create_async_engine(async_url(migrated_url), poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


# -- records -------------------------------------------------------------------------------


def make_order(client_order_id: str = "0ABCDEFGH1234000001", **changes: Any) -> Order:
    fields: dict[str, Any] = {
        "client_order_id": client_order_id,
        "user": "AB1234",
        "exchange": "NSE",
        "tradingsymbol": "RELIANCE",
        "instrument_token": 738561,
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "product": Product.MIS,
        "quantity": 10,
        "price": 2934.55,
        "status": OrderStatus.OPEN,
        "created_ns": 1_000,
        "updated_ns": 1_000,
        "version": 1,
    }
    fields.update(changes)
    return Order(**fields)


def make_fill(trade_id: str = "T1", client_order_id: str = "0ABCDEFGH1234000001") -> Fill:
    return Fill(
        trade_id=trade_id,
        client_order_id=client_order_id,
        broker_order_id="250101000000001",
        instrument_token=738561,
        exchange="NSE",
        tradingsymbol="RELIANCE",
        side=Side.BUY,
        product=Product.MIS,
        quantity=5,
        price=2934.05,
        ts_ns=2_000,
    )


def event_mapping(event_id: str = "E1", **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": event_id,
        "client_order_id": "0ABCDEFGH1234000001",
        "seq": 1,
        "kind": "OrderAccepted",
        "payload": {"broker_order_id": "250101000000001"},
        "ts_ns": 1_500,
    }
    fields.update(changes)
    return fields


def position(net: int, updated_ns: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "instrument_token": 738561,
        "product": "MIS",
        "strategy_id": "manual",
        "net_quantity": net,
        "average_price": 2934.05,
        "realized_pnl": -12.5,
        "charges": 3.25,
        "updated_ns": updated_ns,
    }
    fields.update(changes)
    return fields


# -- migrations ----------------------------------------------------------------------------


async def _tables_and_triggers(url: str) -> tuple[set[str], set[str]]:
    engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            if conn.dialect.name == "sqlite":
                sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            else:
                sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            triggers = set((await conn.execute(text(sql))).scalars())
    finally:
        await engine.dispose()
    return tables, triggers


async def test_migrations_upgrade_and_downgrade(db_url: str) -> None:
    assert await current_revision(db_url) is None

    await upgrade(db_url)
    assert await current_revision(db_url) == head_revision()
    tables, triggers = await _tables_and_triggers(db_url)
    assert tables >= LEDGER_TABLES
    assert triggers  # the append-only guards

    await downgrade(db_url, "base")
    assert await current_revision(db_url) is None
    tables, triggers = await _tables_and_triggers(db_url)
    assert not tables & LEDGER_TABLES
    assert not triggers

    await upgrade(db_url)  # and back up again from base
    assert await current_revision(db_url) == head_revision()


def test_schema_head_constant_is_the_newest_migration() -> None:
    # A ledger at SCHEMA_HEAD opens without alembic: a stale constant would accept an old schema.
    assert head_revision() == SCHEMA_HEAD


OPEN_EMBEDDED = """
import asyncio, sys
from engine.ledger.migrate import ensure_schema
print(asyncio.run(ensure_schema(sys.argv[1], embedded=True)), "alembic" in sys.modules)
"""


def test_an_up_to_date_ledger_opens_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    root = str(Path(__file__).resolve().parents[1])

    def open_in_a_new_process() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_EMBEDDED, url],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=root,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert open_in_a_new_process() == [SCHEMA_HEAD, "True"]  # created: alembic migrates it
    assert open_in_a_new_process() == [SCHEMA_HEAD, "False"]  # at the head: alembic stays out


async def test_migrated_schema_matches_the_metadata(migrated_url: str) -> None:
    engine = create_async_engine(async_url(migrated_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


def _alembic(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_alembic_command_line_upgrade_and_downgrade(db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != URL_ENV}
    upgraded = _alembic("-x", f"url={db_url}", "upgrade", "head", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert await current_revision(db_url) == head_revision()

    downgraded = _alembic("downgrade", "base", env={**env, URL_ENV: db_url})
    assert downgraded.returncode == 0, downgraded.stderr
    assert await current_revision(db_url) is None


def test_alembic_without_a_url_names_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != URL_ENV}
    result = _alembic("upgrade", "head", env=env)
    assert result.returncode != 0
    assert URL_ENV in result.stderr


# -- ensure_schema -------------------------------------------------------------------------


async def test_ensure_schema_migrates_the_embedded_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'ledger.db'}"
    assert await ensure_schema(url, embedded=True) == head_revision()
    assert await current_revision(url) == head_revision()
    assert await ensure_schema(url, embedded=True) == head_revision()  # already current


async def test_open_ledger_from_default_settings_uses_the_data_dir(
    tmp_path: Path, clock: TestClock
) -> None:
    ledger = await open_ledger(LedgerSettings(), tmp_path, clock)
    try:
        assert ledger.dialect == "sqlite"
        assert await ledger.upsert_order(make_order())
    finally:
        await ledger.close()
    assert (tmp_path / "ledger" / "ledger.db").is_file()


async def test_ensure_schema_refuses_a_server_database_that_is_behind(db_url: str) -> None:
    with pytest.raises(SchemaBehind, match="alphapt-tui migrate"):
        await ensure_schema(db_url, embedded=False)
    assert await current_revision(db_url) is None  # refused, not migrated

    await upgrade(db_url)
    assert await ensure_schema(db_url, embedded=False) == head_revision()


async def test_ensure_schema_refuses_a_revision_it_does_not_know(migrated_url: str) -> None:
    engine = create_async_engine(async_url(migrated_url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    finally:
        await engine.dispose()
    with pytest.raises(SchemaAhead):
        await ensure_schema(migrated_url, embedded=True)


# -- unavailable ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_wrong_port_is_ledger_unavailable(clock: TestClock) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/test"
    with pytest.raises(LedgerUnavailable, match="unavailable"):
        await Ledger.open(url, clock, connect_timeout_s=2)
    with pytest.raises(LedgerUnavailable):
        await ensure_schema(url, embedded=False)


async def test_password_is_not_in_the_unavailable_message(clock: TestClock) -> None:
    url = f"postgresql+asyncpg://postgres:s3cret@127.0.0.1:{_closed_port()}/test"
    with pytest.raises(LedgerUnavailable) as raised:
        await Ledger.open(url, clock, connect_timeout_s=2)
    assert "s3cret" not in str(raised.value)


async def test_unwritable_sqlite_location_is_ledger_unavailable(
    tmp_path: Path, clock: TestClock
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(LedgerUnavailable):
        await Ledger.open(f"sqlite+aiosqlite:///{blocker / 'ledger.db'}", clock)


async def test_missing_tables_are_a_ledger_error_not_unavailable(
    db_url: str, clock: TestClock
) -> None:
    ledger = await Ledger.open(db_url, clock)
    try:
        with pytest.raises(LedgerError) as raised:
            await ledger.load_orders()
        assert not isinstance(raised.value, LedgerUnavailable)
    finally:
        await ledger.close()


async def test_a_closed_ledger_refuses_work(ledger: Ledger) -> None:
    await ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        await ledger.load_orders()


# -- orders --------------------------------------------------------------------------------


def test_orders_columns_are_the_order_record_fields() -> None:
    assert list(orders.c.keys()) == list(Order.__struct_fields__)
    assert set(fills.c.keys()) == set(Fill.__struct_fields__)


async def test_order_round_trips_exactly(ledger: Ledger) -> None:
    order = make_order(price=0.05, trigger_price=1234.55, market_protection=-1.0)
    assert await ledger.upsert_order(order) is True
    [row] = await ledger.load_orders()
    assert msgspec.convert(row, Order) == order
    assert await ledger.get_order(order.client_order_id) == row
    assert await ledger.get_order("NOSUCHORDER") is None


async def test_an_older_version_never_overwrites_a_newer_one(ledger: Ledger) -> None:
    v3 = make_order(version=3, filled_quantity=4, updated_ns=3_000)
    assert await ledger.upsert_order(v3) is True
    assert await ledger.upsert_order(make_order(version=2, updated_ns=2_000)) is False
    assert await ledger.upsert_order(make_order(version=3, quantity=99)) is False  # same version
    [row] = await ledger.load_orders()
    assert msgspec.convert(row, Order) == v3

    v4 = make_order(version=4, status=OrderStatus.COMPLETE, created_ns=9_999)
    assert await ledger.upsert_order(v4) is True
    [row] = await ledger.load_orders()
    assert row["version"] == 4 and row["status"] == "COMPLETE"
    assert row["created_ns"] == 1_000  # creation time is never rewritten


async def test_any_arrival_order_keeps_the_newest_version(ledger: Ledger) -> None:
    for n, arrival in enumerate(itertools.permutations([1, 2, 3, 4])):
        coid = f"PERM{n:04d}"
        for version in arrival:
            await ledger.upsert_order(make_order(coid, version=version, filled_quantity=version))
    rows = await ledger.load_orders()
    assert len(rows) == 24
    assert {(r["version"], r["filled_quantity"]) for r in rows} == {(4, 4)}


async def test_load_orders_open_only(ledger: Ledger) -> None:
    statuses = [OrderStatus.OPEN, OrderStatus.COMPLETE, OrderStatus.TRIGGER_PENDING]
    statuses += [OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.OPEN_PENDING]
    for n, status in enumerate(statuses):
        await ledger.upsert_order(make_order(f"ORD{n}", status=status, created_ns=n))
    open_ids = [row["client_order_id"] for row in await ledger.load_orders(open_only=True)]
    assert open_ids == ["ORD0", "ORD2", "ORD5"]
    assert len(await ledger.load_orders()) == len(statuses)


async def test_a_bad_order_row_is_refused_before_anything_is_written(ledger: Ledger) -> None:
    row = msgspec.structs.asdict(make_order())
    with pytest.raises(LedgerError, match="unknown column"):
        await ledger.upsert_order({**row, "colour": "red"})
    del row["status"]
    with pytest.raises(LedgerError, match="missing column"):
        await ledger.upsert_order(row)
    assert await ledger.load_orders() == []


async def test_a_client_order_id_longer_than_kite_tag_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        await ledger.upsert_order(make_order("X" * 21))
    assert await ledger.load_orders() == []


# -- events and fills ----------------------------------------------------------------------


async def test_the_same_event_twice_is_one_row(ledger: Ledger) -> None:
    assert await ledger.append_order_event(event_mapping()) is True
    assert await ledger.append_order_event(event_mapping()) is False
    assert await ledger.append_order_event(event_mapping(payload={"changed": True})) is False
    [row] = await ledger.load_events()
    assert msgspec.json.decode(row["payload"]) == {"broker_order_id": "250101000000001"}


async def test_event_structs_are_stored_as_their_json(ledger: Ledger) -> None:
    event = OrderAccepted(
        event_id="E7",
        ts_ns=5_000,
        client_order_id="0ABCDEFGH1234000001",
        broker_order_id="250101000000001",
    )
    assert await ledger.append_order_event(event, seq=3) is True
    [row] = await ledger.load_events("0ABCDEFGH1234000001")
    assert (row["kind"], row["seq"], row["ts_ns"]) == ("OrderAccepted", 3, 5_000)
    assert msgspec.json.decode(row["payload"], type=OrderEvent) == event
    assert await ledger.load_events("SOMEOTHERORDER") == []


async def test_the_same_fill_twice_is_one_row(ledger: Ledger) -> None:
    fill = make_fill()
    assert await ledger.record_fill(fill) is True
    assert await ledger.record_fill(fill) is False
    # The same exchange trade id on another order is another fill.
    assert await ledger.record_fill(make_fill(client_order_id="0ABCDEFGH1234000002")) is True
    assert len(await ledger.load_fills()) == 2
    [row] = await ledger.load_fills(fill.client_order_id)
    assert msgspec.convert(row, Fill) == fill


async def test_write_batch_reports_only_what_is_new(ledger: Ledger) -> None:
    batch: dict[str, Any] = {
        "orders": [make_order(version=1), make_order(version=2), make_order("OTHER", version=1)],
        "events": [event_mapping("E1"), event_mapping("E1"), event_mapping("E2", seq=2)],
        "fills": [make_fill("T1"), make_fill("T1"), make_fill("T2")],
        "positions": [position(5, 2_000)],
        "audit": [{"user": "AB1234", "session": "s1", "source": "ui", "action": "submit"}],
    }
    first = await ledger.write_batch(**batch)
    assert sorted(first.orders_applied) == ["0ABCDEFGH1234000001", "OTHER"]
    assert sorted(first.new_event_ids) == ["E1", "E2"]
    assert sorted(first.new_fills) == [("0ABCDEFGH1234000001", "T1"), ("0ABCDEFGH1234000001", "T2")]
    assert first.positions_applied == 1
    assert len(first.audit_ids) == 1

    again = await ledger.write_batch(**{**batch, "audit": []})
    assert again.orders_applied == again.new_event_ids == again.new_fills == ()
    assert again.positions_applied == 1  # same updated_ns: rewritten with the same values
    assert (await ledger.get_order("0ABCDEFGH1234000001") or {})["version"] == 2
    assert len(await ledger.load_events()) == 2
    assert len(await ledger.load_fills()) == 2


async def test_write_order_and_event_is_atomic(ledger: Ledger) -> None:
    # The order upsert runs first; the event then violates NOT NULL, so both roll back.
    with pytest.raises(LedgerError):
        await ledger.write_order_and_event(make_order(), event_mapping(kind=None))
    assert await ledger.load_orders() == []
    assert await ledger.load_events() == []

    assert await ledger.write_order_and_event(make_order(), event_mapping("E1")) == (True, True)
    with pytest.raises(LedgerError):
        await ledger.write_order_and_event(make_order(version=2), event_mapping("E2", kind=None))
    [row] = await ledger.load_orders()
    assert row["version"] == 1
    assert [e["event_id"] for e in await ledger.load_events()] == ["E1"]


async def test_a_failing_batch_writes_nothing(ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        await ledger.write_batch(
            orders=[make_order()],
            events=[event_mapping()],
            fills=[make_fill()],
            positions=[position(5, 2_000)],
            audit=[{"user": None, "session": "s", "source": "ui", "action": "submit"}],
        )
    assert await ledger.load_orders() == []
    assert await ledger.load_events() == []
    assert await ledger.load_fills() == []
    assert await ledger.load_positions() == []


async def test_order_lifecycle_replays_from_the_ledger(ledger: Ledger) -> None:
    coid = "0ABCDEFGH1234000009"
    command = SubmitOrder(
        user="AB1234",
        exchange="NSE",
        tradingsymbol="INFY",
        instrument_token=408065,
        side=Side.SELL,
        order_type=OrderType.LIMIT,
        product=Product.CNC,
        quantity=3,
        price=1500.1,
    )
    fill = Fill(
        trade_id="T9",
        client_order_id=coid,
        broker_order_id="B9",
        instrument_token=408065,
        exchange="NSE",
        tradingsymbol="INFY",
        side=Side.SELL,
        product=Product.CNC,
        quantity=3,
        price=1500.1,
        ts_ns=4,
    )
    events = [
        OrderInitialized(event_id="E1", ts_ns=1, client_order_id=coid, command=command),
        OrderSubmitted(event_id="E2", ts_ns=2, client_order_id=coid),
        OrderAccepted(event_id="E3", ts_ns=3, client_order_id=coid, broker_order_id="B9"),
        OrderFilled(event_id="E4", ts_ns=4, client_order_id=coid, fill=fill),
    ]
    order = initial_order(events[0])  # type: ignore[arg-type]
    assert await ledger.write_order_and_event(order, events[0]) == (True, True)
    for event in events[1:]:
        order = apply(order, event)
        assert await ledger.write_order_and_event(order, event) == (True, True)
    assert await ledger.record_fill(fill)

    stored = [
        msgspec.json.decode(r["payload"], type=OrderEvent) for r in await ledger.load_events()
    ]
    assert stored == events
    replayed = initial_order(stored[0])  # type: ignore[arg-type]
    for event in stored[1:]:
        replayed = apply(replayed, event)
    [row] = await ledger.load_orders()
    assert msgspec.convert(row, Order) == replayed == order
    assert order.status is OrderStatus.COMPLETE
    assert [e["seq"] for e in await ledger.load_events(coid)] == [1, 2, 3, 4]


# -- positions -----------------------------------------------------------------------------


async def test_positions_keep_the_most_recent(ledger: Ledger, clock: TestClock) -> None:
    assert await ledger.upsert_position(position(5, 2_000)) is True
    assert await ledger.upsert_position(position(10, 3_000, realized_pnl=7.5)) is True
    assert await ledger.upsert_position(position(1, 2_500)) is False
    assert await ledger.upsert_position(position(-2, 3_000, product="NRML")) is True
    rows = await ledger.load_positions()
    assert [(r["product"], r["net_quantity"]) for r in rows] == [("MIS", 10), ("NRML", -2)]
    assert rows[0]["realized_pnl"] == 7.5 and rows[0]["charges"] == 3.25

    undated = position(3, 0)
    del undated["updated_ns"]
    assert await ledger.upsert_position(undated) is True  # stamped with the clock
    rows = await ledger.load_positions()
    assert (rows[0]["net_quantity"], rows[0]["updated_ns"]) == (3, clock.now_ns())


# -- audit ---------------------------------------------------------------------------------


async def test_audit_entries_by_time_range_and_user(ledger: Ledger, clock: TestClock) -> None:
    start = clock.now_ns()
    first = await ledger.append_audit(
        user="AB1234", session="tty1", source="ui", action="submit", detail={"qty": 10}
    )
    clock.advance(1)
    await ledger.append_audit(
        user="CD5678", session="ssh", source="attach", action="cancel", result="rejected: halted"
    )
    clock.advance(1)
    await ledger.append_audit(user="AB1234", session="tty1", source="ui", action="kill-switch")

    everything = await ledger.audit(start, clock.now_ns() + 1)
    assert [r["action"] for r in everything] == ["submit", "cancel", "kill-switch"]
    assert everything[0]["id"] == first
    assert msgspec.json.decode(everything[0]["detail"]) == {"qty": 10}
    assert everything[1]["result"] == "rejected: halted"
    assert everything[2]["ts_ns"] == start + 2_000_000_000

    window = await ledger.audit(start + 1, clock.now_ns())  # end is exclusive
    assert [r["action"] for r in window] == ["cancel"]
    mine = await ledger.audit(start, clock.now_ns() + 1, user="AB1234")
    assert [r["action"] for r in mine] == ["submit", "kill-switch"]


@pytest.mark.parametrize("table", ["audit_log", "order_events"])
async def test_the_database_refuses_to_change_append_only_rows(
    ledger: Ledger, raw: AsyncEngine, table: str
) -> None:
    await ledger.append_audit(user="AB1234", session="s", source="ui", action="submit")
    await ledger.append_order_event(event_mapping())
    attempts = [f"UPDATE {table} SET ts_ns = 0", f"DELETE FROM {table}"]
    if ledger.dialect == "postgresql":
        attempts.append(f"TRUNCATE {table}")
    for sql in attempts:
        with pytest.raises(exc.IntegrityError, match="append-only"):
            async with raw.begin() as conn:
                await conn.execute(text(sql))
    async with raw.connect() as conn:
        assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 1


# -- connection settings -------------------------------------------------------------------


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
async def test_sqlite_runs_in_wal_mode(tmp_path: Path, synchronous: str) -> None:
    runner = open_runner(f"sqlite:///{tmp_path / 'l.db'}", sqlite_synchronous=synchronous)
    try:
        mode, level = await runner.run(
            lambda conn: (
                conn.execute(text("PRAGMA journal_mode")).scalar_one(),
                conn.execute(text("PRAGMA synchronous")).scalar_one(),
            )
        )
    finally:
        await runner.close()
    assert mode == "wal"
    assert level == {"NORMAL": 1, "FULL": 2}[synchronous]


def test_only_sqlite_and_postgresql_are_supported() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://root@localhost/test")


async def test_event_row_needs_a_seq_for_a_struct() -> None:
    event = OrderSubmitted(event_id="E2", ts_ns=2, client_order_id="C1")
    with pytest.raises(LedgerError, match="seq"):
        event_row(event)
    assert event_row(event, seq=2)["kind"] == "OrderSubmitted"
