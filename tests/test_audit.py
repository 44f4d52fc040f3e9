"""The audit trail: every command recorded, rows immutable, exported as CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from alphapt_tui.audit_cli import parse_when
from alphapt_tui.cli import main
from engine.auth.rows import to_csv
from engine.bus import MessageBus
from engine.distributed.codec import AuditRecorded
from engine.settings import Settings
from engine.snapshot import AddToWatchlist, RemoveFromWatchlist
from tests.test_auth import auth_settings, order, started


async def test_every_command_is_audited_and_published(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path, enabled=False)
    kernel = await started(settings)
    bus: MessageBus = kernel.bus
    queue = bus.subscribe("audit-test", ["audit."])
    try:
        assert (await kernel.execute(RemoveFromWatchlist(symbol="NSE:INFY"))).ok
        assert not (await kernel.execute(AddToWatchlist(symbol="NOSUCH"))).ok
        assert not (await kernel.execute(order("vera"))).ok
        rows = await kernel.audit_rows(0, 2**62)
        assert [(r.user, r.action, r.result) for r in rows] == [
            ("local", "RemoveFromWatchlist", "ok"),
            ("local", "AddToWatchlist", "failed"),
            ("vera", "SubmitOrder", "refused"),
        ]
        assert (rows[0].session, rows[0].source) == ("desk", "local")
        assert json.loads(rows[1].detail)["reply"].startswith("unknown symbol")
        published = [queue.get_nowait() for _ in range(3)]
        topics = [topic for topic, _ in published]
        assert topics == ["audit.local", "audit.local", "audit.vera"]
        assert all(isinstance(event, AuditRecorded) for _, event in published)
    finally:
        await kernel.trading.stop()


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET result = 'ok'", "DELETE FROM audit_log"])
async def test_an_audit_row_cannot_be_changed_through_the_kernels_ledger(
    tmp_path: Path, sql: str
) -> None:
    kernel = await started(auth_settings(tmp_path))
    try:
        await kernel.execute(order("vera"))
        ledger = kernel.trading.ledger
        assert ledger is not None
        with pytest.raises(exc.IntegrityError, match="append-only"):
            await ledger._runner.run(lambda conn: conn.execute(text(sql)), begin=True)
        rows = await kernel.audit_rows(0, 2**62)
        assert [(r.user, r.result) for r in rows] == [("vera", "refused")]
    finally:
        await kernel.trading.stop()


async def test_a_ledger_failure_does_not_break_commands(tmp_path: Path) -> None:
    kernel = await started(auth_settings(tmp_path, enabled=False))
    try:
        ledger = kernel.trading.ledger
        assert ledger is not None

        async def broken(**_: object) -> int:
            raise RuntimeError("disk gone")

        ledger.append_audit = broken  # type: ignore[method-assign]
        assert (await kernel.execute(RemoveFromWatchlist(symbol="NSE:INFY"))).ok
        assert kernel._auth_gate.audit_failures == 1
    finally:
        await kernel.trading.stop()


def test_csv_and_times() -> None:
    assert parse_when("1000") == 1000
    assert parse_when("2026-11-25") == parse_when("2026-11-24T18:30:00+00:00")
    with pytest.raises(ValueError, match="not a date"):
        parse_when("yesterday")
    assert to_csv([]).splitlines()[0].startswith("id,ts_ns,time_ist,user")


async def record_some(settings: Settings) -> None:
    kernel = await started(settings)
    try:
        await kernel.execute(order("vera"))
        await kernel.execute(AddToWatchlist(symbol="NSE:INFY"))
    finally:
        await kernel.trading.stop()


async def test_audit_export_writes_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = auth_settings(tmp_path, enabled=False)
    await record_some(settings)
    monkeypatch.setenv("ALPHAPT_DATA_DIR", str(settings.data_dir))
    out = tmp_path / "audit.csv"
    import asyncio

    status = await asyncio.to_thread(
        main, ["audit", "export", "--from", "2020-01-01", "--user", "vera", "--out", str(out)]
    )
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["user"], r["action"], r["result"]) for r in rows] == [
        ("vera", "SubmitOrder", "refused")
    ]
    assert json.loads(rows[0]["detail"])["command"]["user"] == "vera"
    bad = await asyncio.to_thread(main, ["audit", "export", "--from", "someday"])
    assert bad == 2


async def test_audit_screen_filters_by_user_and_action(tmp_path: Path) -> None:
    from textual.widgets import DataTable, Input

    from alphapt_tui.app import DeskApp
    from engine.client import LocalEngineClient
    from engine.runner import EngineThread
    from screens.audit import AuditScreen

    kernel = await started(auth_settings(tmp_path, enabled=False))
    await kernel.execute(order("vera"))
    await kernel.execute(RemoveFromWatchlist(symbol="NSE:INFY"))
    engine = EngineThread(kernel)
    engine.start()
    try:
        client = LocalEngineClient(engine)
        assert client.role == "admin"
        app = DeskApp(client, kernel.settings)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.press("7")
            screen = app.screen
            assert isinstance(screen, AuditScreen)
            table = screen.query_one("#audit", DataTable)
            for _ in range(100):
                if table.row_count == 2:
                    break
                await pilot.pause(0.05)
            assert table.row_count == 2
            screen.query_one("#audit-action", Input).value = "order"
            screen.show()
            assert table.row_count == 1
            screen.query_one("#audit-action", Input).value = ""
            screen.query_one("#audit-user", Input).value = "local"
            screen.action_reload()
            for _ in range(100):
                if table.row_count == 1 and screen.rows[0].user == "local":
                    break
                await pilot.pause(0.05)
            assert [row.user for row in screen.rows] == ["local"]
    finally:
        engine.stop()
