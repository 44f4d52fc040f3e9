"""``alphapt-tui attach``: the desk over a running daemon, through NATS.

The same :class:`~alphapt_tui.app.DeskApp` as the local desk, driven by a
:class:`~engine.distributed.rpc_client.NatsEngineClient` instead of an engine thread.
Several terminals may attach to one daemon; they all see the same state.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress

from alphapt_tui.app import DeskApp
from engine.distributed.rpc_client import NatsEngineClient
from engine.settings import Settings

HANGUP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals that close the desk as ``q`` does, giving the terminal back (an SSH session's
end, an idle timeout, a service manager); Textual would otherwise die with the terminal
still in its alternate screen and mouse mode."""


class AttachedDesk(DeskApp):
    """The desk over a :class:`NatsEngineClient`; closes the connection on its own loop."""

    client: NatsEngineClient

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        with suppress(ValueError, RuntimeError):  # only the main thread's loop gets signals
            for signum in HANGUP_SIGNALS:
                loop.add_signal_handler(signum, self.exit)

    async def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        with suppress(ValueError, RuntimeError):
            for signum in HANGUP_SIGNALS:
                loop.remove_signal_handler(signum)
        await self.client.close()


def attach_url(settings: Settings, override: str | None) -> str | None:
    """The NATS URL to attach through: ``--nats``, else ``nats.url`` from settings."""
    if override:
        return override
    return getattr(getattr(settings, "nats", None), "url", None)


def attached_desk(settings: Settings, url: str) -> AttachedDesk:
    """The desk app over the daemon behind ``url`` (subject prefix and timeout from ``nats.*``)."""
    nats = getattr(settings, "nats", None)
    client = NatsEngineClient(
        url,
        subject_prefix=getattr(nats, "subject_prefix", "alphapt"),
        timeout=getattr(nats, "rpc_timeout_s", 2.0),
    )
    return AttachedDesk(client, settings)


def run_attach(settings: Settings, url: str) -> int:
    """Run the desk against the daemon behind ``url`` until the user quits."""
    attached_desk(settings, url).run()
    return 0
