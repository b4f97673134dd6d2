"""Alert delivery: a JSON webhook (Slack-compatible) and email over SMTP.

Both raise `NotifyError` with a one-line, readable reason when delivery fails; callers decide
whether to try again later (see `checks.app.alerts`).
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from pydantic import Field

from connectors.errors import CleanCRMError
from connectors.models import StrictModel


class AlertChannel(StrictModel):
    """Where alerts go."""

    type: Literal["webhook", "email"] = Field(description="`webhook` (JSON, Slack-compatible) or `email`.")
    url: str | None = Field(None, description="Webhook URL.")
    smtp_host: str | None = Field(None, description="SMTP server host.")
    smtp_port: int = Field(25, description="SMTP server port.")
    sender: str | None = Field(None, description="From address.")
    recipients: list[str] = Field(default_factory=list, description="To addresses.")
    username: str | None = Field(None, description="SMTP user (use ${ENV} for secrets).")
    password: str | None = Field(None, description="SMTP password (use ${ENV}).")


TIMEOUT_S = 10.0


class NotifyError(CleanCRMError):
    """An alert could not be delivered to a channel."""


@dataclass
class Message:
    """One alert or recovery message, channel-independent."""

    subject: str
    text: str
    state: str = "firing"  # firing or recovered
    fields: dict[str, str] = field(default_factory=dict)

    def slack_payload(self) -> dict:
        """The webhook body: `text` for any receiver, `blocks` for Slack."""
        icon = ":red_circle:" if self.state == "firing" else ":large_green_circle:"
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{self.subject}*\n{self.text}"}}]
        if self.fields:
            blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"}
                                                         for k, v in list(self.fields.items())[:10]]})
        return {"text": f"{self.subject}: {self.text}", "blocks": blocks}

    def email_body(self) -> str:
        """Plain-text email body."""
        lines = [self.text, ""]
        lines += [f"{k}: {v}" for k, v in self.fields.items()]
        return "\n".join(lines) + "\n"


def send_webhook(url: str, message: Message, timeout: float = TIMEOUT_S) -> None:
    """POST the message as JSON; any non-2xx answer or network error raises NotifyError."""
    body = json.dumps(message.slack_payload()).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "cleancrm"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"webhook {_display(url)}: answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotifyError(f"webhook {_display(url)}: cannot deliver ({reason})") from None
    if not 200 <= status < 300:
        raise NotifyError(f"webhook {_display(url)}: answered HTTP {status}")


def send_email(channel: AlertChannel, message: Message, timeout: float = TIMEOUT_S) -> None:
    """Send the message by SMTP: implicit TLS on port 465, else STARTTLS when the server offers it."""
    if not channel.smtp_host or not channel.recipients or not channel.sender:
        raise NotifyError("email channel: smtp_host, sender and recipients are all required")
    msg = EmailMessage()
    msg["Subject"] = message.subject
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="cleancrm")
    msg["X-CleanCRM-State"] = message.state
    msg.set_content(message.email_body())
    where = f"{channel.smtp_host}:{channel.smtp_port}"
    try:
        if channel.smtp_port == 465:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(channel.smtp_host, channel.smtp_port, timeout=timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if channel.smtp_port != 465 and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if channel.username:
                smtp.login(channel.username, channel.password or "")
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError:
        raise NotifyError(f"email via {where}: login refused for {channel.username!r}; check username/password") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyError(f"email via {where}: cannot deliver ({_first_line(exc)})") from None


def send(channel: AlertChannel, message: Message) -> None:
    """Deliver to one configured channel."""
    if channel.type == "webhook":
        if not channel.url:
            raise NotifyError("webhook channel: `url` is required")
        send_webhook(channel.url, message)
    else:
        send_email(channel, message)


def _display(url: str) -> str:
    """The URL without its path (webhook paths are secrets, e.g. Slack's)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…" if rest else url


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
