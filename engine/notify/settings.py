"""Settings of the alert channels: a generic webhook, Slack and e-mail. All off by default.

Webhook URLs carry tokens and the SMTP password is a password: both are
``SecretStr`` and never appear in a log line, an error message or a repr.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

_CONFIG = ConfigDict(
    use_attribute_docstrings=True, extra="forbid", frozen=True, hide_input_in_errors=True
)

SeverityName = Literal["info", "warning", "critical"]


class ChannelSettings(BaseModel):
    """Delivery policy shared by every channel."""

    model_config = _CONFIG

    enabled: bool = False
    """Send alerts through this channel."""
    min_severity: SeverityName = "warning"
    """Alerts below this severity are not sent here."""
    max_attempts: int = Field(default=5, ge=1, le=100)
    """Tries per alert (the first send plus retries) before it is given up and counted failed."""
    backoff_initial_s: float = Field(default=1.0, gt=0, le=600)
    """Wait before the first retry; it doubles on each further retry."""
    backoff_max_s: float = Field(default=60.0, gt=0, le=3600)
    """Longest wait between retries."""
    outbox_capacity: int = Field(default=500, ge=1, le=100_000)
    """Alerts waiting to be sent; when full the oldest is dropped and counted."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Bound on one delivery attempt (HTTP request or SMTP session)."""


def _check_http(url: SecretStr | None, enabled: bool, what: str) -> None:
    if not enabled:
        return
    if url is None:
        raise ValueError(f"{what} is enabled but has no url")
    if not url.get_secret_value().startswith(("http://", "https://")):
        raise ValueError(f"{what} url must start with http:// or https://")


class WebhookSettings(ChannelSettings):
    """A generic webhook: each alert is POSTed as a JSON object."""

    url: SecretStr | None = None
    """Endpoint to POST to (secret: it usually carries a token)."""

    @model_validator(mode="after")
    def _url(self) -> WebhookSettings:
        _check_http(self.url, self.enabled, "webhook")
        return self


class SlackSettings(ChannelSettings):
    """A Slack incoming webhook."""

    url: SecretStr | None = None
    """The incoming-webhook URL Slack issued (secret: the path is the token)."""

    @model_validator(mode="after")
    def _url(self) -> SlackSettings:
        _check_http(self.url, self.enabled, "slack")
        return self


class EmailSettings(ChannelSettings):
    """E-mail over SMTP."""

    host: str = "127.0.0.1"
    """SMTP server host."""
    port: int = Field(default=587, ge=1, le=65535)
    """SMTP server port (587 for STARTTLS, 465 for TLS, 25 for plain)."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    """``starttls`` upgrades a plain connection, ``tls`` connects over TLS, ``none`` sends in clear."""
    username: str | None = None
    """SMTP login; no login when unset."""
    password: SecretStr | None = None
    """SMTP password."""
    sender: str = ""
    """The From address."""
    recipients: tuple[str, ...] = ()
    """The To addresses."""
    subject_prefix: str = "[AlphaPT]"
    """Put before every subject line."""

    @model_validator(mode="after")
    def _addresses(self) -> EmailSettings:
        if self.enabled and (not self.sender or not self.recipients):
            raise ValueError("email is enabled but sender or recipients are missing")
        if self.username is not None and self.password is None:
            raise ValueError("email username is set but password is not")
        return self


class NotifySettings(BaseModel):
    """Where alerts go beyond the desk's own alerts screen."""

    model_config = _CONFIG

    desk_name: str = "alphapt"
    """Names this desk in every message (several desks may share a channel)."""
    webhook: WebhookSettings = WebhookSettings()
    """Generic JSON webhook."""
    slack: SlackSettings = SlackSettings()
    """Slack incoming webhook."""
    email: EmailSettings = EmailSettings()
    """E-mail over SMTP."""
    flush_timeout_s: float = Field(default=2.0, ge=0, le=60)
    """At shutdown, wait at most this long for outboxes to empty."""
