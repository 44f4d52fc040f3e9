"""Alert channels: forward alerts from the bus to a webhook, Slack and e-mail."""

from importlib import import_module
from typing import Any

# Resolved on first use: the channels pull in the HTTP client, which start-up does not need.
_EXPORTS = {
    "AlertNotifier": "notifier",
    "ChannelStats": "outbox",
    "ChannelWorker": "outbox",
    "DeliveryError": "channels",
    "EmailSettings": "settings",
    "NotifySettings": "settings",
    "SlackSettings": "settings",
    "WebhookSettings": "settings",
    "slack_payload": "channels",
    "webhook_payload": "channels",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"engine.notify.{module}"), name)
