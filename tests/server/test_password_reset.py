"""Password reset by mail: console and SMTP backends (CONTRACT §3, §16.22)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

from server.app import create_app
from tests.helpers import Api

RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"


async def test_reset_answers_the_same_for_known_and_unknown_emails_and_logs_the_token(api: Api, caplog: Any) -> None:
    caller = await api.register()
    caplog.set_level(logging.INFO, logger="inkflow.mail")
    known = await api.call("POST", RESET, json={"email": caller.user["email"].upper()})
    unknown = await api.call("POST", RESET, json={"email": "ghost@example.com"})
    assert known["data"] == unknown["data"]
    tokens = re.findall(r"token=(\S+)", caplog.text)
    assert len(tokens) == 1
    await api.call("POST", CONFIRM, json={"token": tokens[0], "new_password": "reset password 7"})
    await api.login(caller.user["email"], "reset password 7")
    # Single use, and every earlier session is gone.
    body = await api.call("POST", CONFIRM, json={"token": tokens[0], "new_password": "again password 8"}, status=401)
    assert body["code"] == "invalid_token"
    await api.call("POST", "/api/v1/auth/token/refresh/", json={"refresh": caller.refresh}, status=401)


async def test_reset_confirm_refuses_bad_tokens_and_weak_passwords(api: Api, caplog: Any) -> None:
    caller = await api.register()
    caplog.set_level(logging.INFO, logger="inkflow.mail")
    await api.call("POST", RESET, json={"email": caller.user["email"]})
    token = re.findall(r"token=(\S+)", caplog.text)[0]
    await api.call("POST", CONFIRM, json={"token": "nope", "new_password": "reset password 7"}, status=401)
    weak = await api.call("POST", CONFIRM, json={"token": token, "new_password": "12345678"}, status=400)
    assert weak["code"] == "validation_error"
    await api.call("POST", CONFIRM, json={"token": token}, status=400)
    await api.login(caller.user["email"], caller.password)  # nothing changed


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_smtp_backend_sends_the_token_by_mail(aiohttp_client: Any, make_settings: Any) -> None:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = make_settings(mail_backend="smtp", smtp_url=f"smtp://127.0.0.1:{port}")
        api = Api(await aiohttp_client(create_app(settings, docs=False)))
        caller = await api.register()
        await api.call("POST", RESET, json={"email": caller.user["email"]})
        for _ in range(50):
            if inbox.messages:
                break
            await asyncio.sleep(0.02)
        (mail,) = inbox.messages
        assert mail["To"] == caller.user["email"]
        token = mail.get_payload().strip().split()[-1]
        await api.call("POST", CONFIRM, json={"token": token, "new_password": "mailed password 9"})
        await api.login(caller.user["email"], "mailed password 9")
    finally:
        controller.stop()
