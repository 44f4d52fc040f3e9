"""Alert channels: forward alerts from the bus to a webhook, Slack and e-mail."""

from engine.notify.channels import DeliveryError, slack_payload, webhook_payload
from engine.notify.notifier import AlertNotifier
from engine.notify.outbox import ChannelStats, ChannelWorker
from engine.notify.settings import (
    EmailSettings,
    NotifySettings,
    SlackSettings,
    WebhookSettings,
)

__all__ = [
    "AlertNotifier",
    "ChannelStats",
    "ChannelWorker",
    "DeliveryError",
    "EmailSettings",
    "NotifySettings",
    "SlackSettings",
    "WebhookSettings",
    "slack_payload",
    "webhook_payload",
]
