"""Outgoing mail: `console` logs one line per mail, `smtp` sends through an SMTP server."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger("inkflow.mail")


class Mailer:
    def __init__(self, backend: str, smtp_url: str | None, sender: str) -> None:
        self.backend = backend
        self.smtp_url = smtp_url
        self.sender = sender

    async def send(self, to: str, subject: str, body: str, *, log_line: str = "") -> None:
        if self.backend == "console":
            log.info("mail to=%s subject=%r %s", to, subject, log_line)
            return
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        # smtplib blocks; a thread keeps the event loop free while it talks to the server.
        await asyncio.to_thread(self._send_smtp, message)

    def _send_smtp(self, message: EmailMessage) -> None:
        assert self.smtp_url
        url = urlsplit(self.smtp_url)
        smtp_cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_cls(url.hostname or "localhost", url.port or 25, timeout=10) as client:
            if url.scheme == "smtp+starttls":
                client.starttls()
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
