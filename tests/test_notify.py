"""Alert channels against real local listeners: an aiohttp server and an aiosmtpd SMTP server."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from email import message_from_bytes
from email.message import Message

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from structlog.testing import capture_logs

from engine.alerts import AlertRaised, AlertSource, Severity
from engine.bus import MessageBus
from engine.clock import LiveClock, TestClock
from engine.notify import AlertNotifier, NotifySettings, slack_payload
from engine.risk import RiskManager, RiskSettings, TradingState
from tests.test_risk_support import RELIANCE, WEDNESDAY_1030, FakeContext

TOKEN = "T0KEN-s3cret-xyz"
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 2.0}
_ids = itertools.count(1)


def alert(severity: Severity = Severity.WARNING, message: str = "feed gap 12 s") -> AlertRaised:
    return AlertRaised(
        f"A{next(_ids)}", 1_795_000_000_000_000_000, severity, AlertSource.FEED, message
    )


class Hook:
    """A local HTTP endpoint that records JSON bodies and fails the first ``fail`` requests."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.requests = 0
        self.fail = 0
        self.status = 500
        self._arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.json()
        async with self._arrived:
            if self.fail > 0:
                self.fail -= 1
                self._arrived.notify_all()
                return web.Response(status=self.status, text="nope")
            self.bodies.append(body)
            self._arrived.notify_all()
        return web.Response(text="ok")

    async def wait_for(self, count: int, requests: int = 0) -> None:
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(
                lambda: len(self.bodies) >= count and self.requests >= requests
            )


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, TestServer]]:
    recorder = Hook()
    app = web.Application()
    app.router.add_post(f"/hook/{TOKEN}", recorder.handle)
    app.router.add_post(f"/services/T0/B0/{TOKEN}", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield recorder, server
    finally:
        await server.close()


def notify_settings(server: TestServer, **channels: dict[str, object]) -> NotifySettings:
    config: dict[str, object] = {"desk_name": "desk-1"}
    for name, extra in channels.items():
        path = f"/hook/{TOKEN}" if name == "webhook" else f"/services/T0/B0/{TOKEN}"
        config[name] = {"enabled": True, "url": str(server.make_url(path)), **FAST, **extra}
    return NotifySettings.model_validate(config)


async def running(notifier: AlertNotifier) -> asyncio.Task[None]:
    task = asyncio.create_task(notifier.run())
    await asyncio.sleep(0)
    return task


async def test_webhook_posts_json_above_min_severity(hook: tuple[Hook, TestServer]) -> None:
    recorder, server = hook
    bus = MessageBus()
    notifier = AlertNotifier(notify_settings(server, webhook={}), bus, LiveClock())
    task = await running(notifier)
    info, warning = alert(Severity.INFO, "just so you know"), alert(Severity.WARNING)
    bus.publish(info.topic, info)
    bus.publish(warning.topic, warning)
    await recorder.wait_for(1)
    await notifier.stop()
    task.cancel()
    assert recorder.bodies == [
        {
            "desk": "desk-1",
            "alert_id": warning.alert_id,
            "ts_ns": warning.ts_ns,
            "time": "2026-11-18T16:36:40.000+05:30",
            "severity": "warning",
            "source": "feed",
            "message": "feed gap 12 s",
        }
    ]
    assert notifier.stats()[0].sent == 1


async def test_slack_payload_shape_and_escaping(hook: tuple[Hook, TestServer]) -> None:
    recorder, server = hook
    bus = MessageBus()
    notifier = AlertNotifier(
        notify_settings(server, slack={"min_severity": "critical"}), bus, LiveClock()
    )
    task = await running(notifier)
    critical = alert(Severity.CRITICAL, "P&L <below> limit")
    bus.publish(critical.topic, critical)
    await recorder.wait_for(1)
    await notifier.stop()
    task.cancel()
    body = recorder.bodies[0]
    assert body == slack_payload(critical, "desk-1")
    assert body["text"] == "[CRITICAL] feed: P&amp;L &lt;below&gt; limit"
    section = body["blocks"][0]  # type: ignore[index]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "*CRITICAL* · feed · desk-1" in section["text"]["text"]


async def test_retries_after_500_with_backoff(hook: tuple[Hook, TestServer]) -> None:
    recorder, server = hook
    recorder.fail = 2
    notifier = AlertNotifier(notify_settings(server, webhook={}), MessageBus(), LiveClock())
    worker = notifier.workers[0]
    task = asyncio.create_task(worker.run())
    one = alert()
    worker.offer(one)
    await recorder.wait_for(1, requests=3)
    await worker.wait_idle()
    task.cancel()
    await notifier.stop()
    assert recorder.requests == 3
    assert recorder.bodies[0]["alert_id"] == one.alert_id
    stats = worker.stats()
    assert (stats.sent, stats.retries, stats.failed) == (1, 2, 0)


async def test_client_error_is_not_retried(hook: tuple[Hook, TestServer]) -> None:
    recorder, server = hook
    recorder.fail, recorder.status = 1, 404
    settings = notify_settings(server, webhook={})
    notifier = AlertNotifier(settings, MessageBus(), LiveClock())
    worker = notifier.workers[0]
    task = asyncio.create_task(worker.run())
    worker.offer(alert())
    await asyncio.sleep(0)
    await worker.wait_idle()
    await notifier.stop()
    task.cancel()
    assert recorder.requests == 1
    assert (worker.failed, worker.retries, worker.last_error) == (1, 0, "webhook: HTTP 404")


async def test_full_outbox_drops_oldest_and_counts(hook: tuple[Hook, TestServer]) -> None:
    recorder, server = hook
    settings = notify_settings(server, webhook={"outbox_capacity": 2})
    notifier = AlertNotifier(settings, MessageBus(), LiveClock())
    worker = notifier.workers[0]
    alerts = [alert(message=f"alert {n}") for n in range(5)]
    for item in alerts:
        assert worker.offer(item)
    assert worker.stats().dropped == 3 and worker.stats().pending == 2
    task = asyncio.create_task(worker.run())
    await recorder.wait_for(2)
    await notifier.stop()
    task.cancel()
    assert [b["message"] for b in recorder.bodies] == ["alert 3", "alert 4"]


async def test_secrets_never_reach_logs_or_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused
    settings = NotifySettings.model_validate(
        {
            "webhook": {
                "enabled": True,
                "url": f"http://127.0.0.1:{port}/hook/{TOKEN}",
                **FAST,
                "max_attempts": 2,
            }
        }
    )
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    notifier = AlertNotifier(settings, MessageBus(), LiveClock())
    worker = notifier.workers[0]
    with capture_logs() as logs:
        task = asyncio.create_task(worker.run())
        worker.offer(alert())
        await asyncio.sleep(0)
        await worker.wait_idle()
        await notifier.stop()
        task.cancel()
    assert worker.failed == 1 and worker.retries == 1
    assert worker.last_error == "webhook: ClientConnectorError"
    assert logs and TOKEN not in repr(logs)


def test_channels_are_off_by_default_and_need_urls() -> None:
    notifier = AlertNotifier(NotifySettings(), MessageBus(), LiveClock())
    assert notifier.workers == []
    with pytest.raises(ValueError, match="webhook is enabled but has no url"):
        NotifySettings.model_validate({"webhook": {"enabled": True}})
    with pytest.raises(ValueError, match="must start with http") as info:
        NotifySettings.model_validate({"slack": {"enabled": True, "url": f"ftp://x/{TOKEN}"}})
    assert TOKEN not in str(info.value)
    with pytest.raises(ValueError, match="sender or recipients"):
        NotifySettings.model_validate({"email": {"enabled": True}})


# -- e-mail ---------------------------------------------------------------------------------


class Mailbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.messages: list[Message] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self._loop = loop
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        self._loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_email_arrives_with_subject_and_body() -> None:
    mailbox = Mailbox(asyncio.get_running_loop())
    port = _free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port,
        authenticator=mailbox.authenticate, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        settings = NotifySettings.model_validate(
            {
                "desk_name": "desk-1",
                "email": {
                    "enabled": True, "host": "127.0.0.1", "port": port, "security": "none",
                    "username": "desk", "password": "pa55word!", "sender": "desk@example.com",
                    "recipients": ["ops@example.com", "me@example.com"], **FAST,
                },
            }
        )  # fmt: skip
        bus = MessageBus()
        notifier = AlertNotifier(settings, bus, LiveClock())
        task = await running(notifier)
        critical = alert(Severity.CRITICAL, "trading HALTED: day loss 51,000.00\nsecond line")
        bus.publish(critical.topic, critical)
        async with asyncio.timeout(10):
            await mailbox.arrived.wait()
        await notifier.stop()
        task.cancel()
    finally:
        controller.stop()
    message = mailbox.messages[0]
    assert message["Subject"] == "[AlphaPT] CRITICAL feed: trading HALTED: day loss 51,000.00"
    assert message["To"] == "ops@example.com, me@example.com"
    body = message.get_payload(decode=True).decode()
    assert (
        "second line" in body
        and f"alert id: {critical.alert_id}" in body
        and "desk: desk-1" in body
    )
    assert mailbox.logins == [(b"desk", b"pa55word!")]


# -- end to end: a loss limit reaches a webhook -------------------------------------------------


async def test_daily_loss_limit_reaches_the_webhook(hook: tuple[Hook, TestServer]) -> None:
    recorder, server = hook
    bus = MessageBus()
    clock = TestClock(WEDNESDAY_1030)
    ids = itertools.count(1)

    def raise_alert(severity: Severity, source: AlertSource, message: str) -> None:
        event = AlertRaised(f"A{next(ids)}", clock.now_ns(), severity, source, message)
        bus.publish(event.topic, event)

    notifier = AlertNotifier(
        notify_settings(server, webhook={"min_severity": "critical"}), bus, LiveClock()
    )
    risk = RiskManager(RiskSettings(), clock, bus=bus, raise_alert=raise_alert)
    risk.reconciled()
    ctx = FakeContext(clock)
    ctx.add(RELIANCE, 1519.40)
    task = await running(notifier)
    ctx.realized = -52_500.0
    risk.on_pnl(ctx)
    await recorder.wait_for(1)
    await notifier.stop()
    task.cancel()
    assert risk.state is TradingState.HALTED
    assert recorder.bodies[0]["source"] == "risk"
    assert recorder.bodies[0]["severity"] == "critical"
    assert recorder.bodies[0]["message"] == (
        "trading HALTED: day loss 52,500.00 reached the hard limit 50,000.00 (by risk)"
    )
