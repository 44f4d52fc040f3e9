"""Alert channels: how one alert becomes a webhook POST, a Slack message or an e-mail.

``send`` raises :class:`DeliveryError` saying whether a retry could help. Error
text never carries a URL or a password: only a status code or an exception type.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from engine.alerts import AlertRaised, Severity
from engine.clock import ns_to_ist
from engine.notify.settings import EmailSettings

if TYPE_CHECKING:
    import aiohttp

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class DeliveryError(Exception):
    """A failed delivery; ``transient`` if a retry may succeed."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def alert_time(alert: AlertRaised) -> str:
    """The alert's time as ISO 8601 in IST."""
    return ns_to_ist(alert.ts_ns).isoformat(timespec="milliseconds")


def webhook_payload(alert: AlertRaised, desk: str) -> dict[str, Any]:
    """The generic webhook's JSON object."""
    return {
        "desk": desk,
        "alert_id": alert.alert_id,
        "ts_ns": alert.ts_ns,
        "time": alert_time(alert),
        "severity": alert.severity.value,
        "source": alert.source.value,
        "message": alert.message,
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ICON = {
    Severity.INFO: ":information_source:",
    Severity.WARNING: ":warning:",
    Severity.CRITICAL: ":rotating_light:",
}


def slack_payload(alert: AlertRaised, desk: str) -> dict[str, Any]:
    """Slack's incoming-webhook shape: fallback ``text`` plus Block Kit blocks."""
    severity = alert.severity.value.upper()
    message = _slack_escape(alert.message)
    head = f"{_ICON[alert.severity]} *{severity}* · {alert.source.value} · {_slack_escape(desk)}"
    return {
        "text": f"[{severity}] {alert.source.value}: {message}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n{message}"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{alert_time(alert)} · {alert.alert_id}"}],
            },
        ],
    }


class HttpChannel:
    """POSTs a JSON payload; 2xx is delivered, 429 and 5xx are retried, other codes are not."""

    def __init__(
        self,
        name: str,
        url: str,
        payload: Callable[[AlertRaised, str], dict[str, Any]],
        desk: str,
        session: Callable[[], aiohttp.ClientSession],
        timeout_s: float,
    ) -> None:
        self.name = name
        self._url = url
        self._payload = payload
        self._desk = desk
        self._session = session
        import aiohttp  # only when an HTTP channel is configured: it is slow to import

        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def __repr__(self) -> str:
        return f"HttpChannel({self.name})"

    async def send(self, alert: AlertRaised) -> None:
        """Deliver one alert or raise :class:`DeliveryError`."""
        body = self._payload(alert, self._desk)
        try:
            async with self._session().post(self._url, json=body, timeout=self._timeout) as resp:
                status = resp.status
                await resp.read()
        except (ClientError(), TimeoutError, OSError) as exc:
            raise DeliveryError(f"{self.name}: {type(exc).__name__}", transient=True) from None
        if 200 <= status < 300:
            return
        transient = status == 429 or status >= 500
        raise DeliveryError(f"{self.name}: HTTP {status}", transient=transient)


class EmailChannel:
    """Sends each alert as an e-mail with stdlib ``smtplib`` in a worker thread."""

    name = "email"

    def __init__(self, settings: EmailSettings, desk: str) -> None:
        self._s = settings
        self._desk = desk

    def message(self, alert: AlertRaised) -> EmailMessage:
        """The e-mail for one alert."""
        s = self._s
        first_line = alert.message.splitlines()[0] if alert.message else ""
        subject = (
            f"{s.subject_prefix} {alert.severity.value.upper()} {alert.source.value}: {first_line}"
        )
        msg = EmailMessage()
        msg["Subject"] = subject[:200]
        msg["From"] = s.sender
        msg["To"] = ", ".join(s.recipients)
        msg.set_content(
            f"{alert.message}\n\n"
            f"desk: {self._desk}\nseverity: {alert.severity.value}\nsource: {alert.source.value}\n"
            f"time: {alert_time(alert)}\nalert id: {alert.alert_id}\n"
        )
        return msg

    async def send(self, alert: AlertRaised) -> None:
        """Deliver one alert or raise :class:`DeliveryError`."""
        message = self.message(alert)
        await asyncio.to_thread(self._send_blocking, message)

    def _send_blocking(self, message: EmailMessage) -> None:
        s = self._s
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with smtp:
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if s.username is not None and s.password is not None:
                    smtp.login(s.username, s.password.get_secret_value())
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            # 4xx is a temporary refusal; 5xx (bad login, bad address) will not heal by itself.
            raise DeliveryError(
                f"email: SMTP {exc.smtp_code}", transient=exc.smtp_code < 500
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("email: recipients refused", transient=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {type(exc).__name__}", transient=True) from None


def ClientError() -> type[Exception]:
    """aiohttp's base client error, imported on first use."""
    import aiohttp

    return aiohttp.ClientError
