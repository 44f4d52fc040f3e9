"""``alphapt-tui attach``: the desk over a running daemon, through NATS.

The same :class:`~alphapt_tui.app.DeskApp` as the local desk, driven by a
:class:`~engine.distributed.rpc_client.NatsEngineClient` instead of an engine thread.
Several terminals may attach to one daemon; they all see the same state.
"""

from __future__ import annotations

from alphapt_tui.app import DeskApp
from engine.distributed.rpc_client import NatsEngineClient
from engine.settings import Settings


class AttachedDesk(DeskApp):
    """The desk over a :class:`NatsEngineClient`; closes the connection on its own loop."""

    client: NatsEngineClient

    async def on_unmount(self) -> None:
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
