"""The AI client's HTTP: the address rule on the OpenAI transport and on image URLs, and retries."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from models.jobs import Job
from models.writer import Image
from schemas.ai import ANSWERS
from server.app import create_app
from server.keys import CRYPTO, EVENTS
from services import ai_client, ai_settings
from services.ai_client import AiClients, AiError, Usage
from services.ai_settings import AiConfig
from services.errors import UrlNotAllowed
from services.outbound import Outbound
from tests.ai_helpers import balance, job_ledger
from tests.fakes.openai_server import PNG_SIGNATURE, FakeOpenAI
from tests.helpers import Api

KEY = "sk-test-key-1234"
IDEAS = "/api/v1/planner/clusters/generate_ideas/"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def _config(base_url: str) -> AiConfig:
    return AiConfig(
        api_key=KEY, base_url=base_url, model="gpt-4o-mini", temperature=0.7, max_tokens=100, image_model="gpt-image-1"
    )


async def _clients(**outbound: Any) -> AiClients:
    return AiClients(Outbound(**outbound))


async def _close(clients: AiClients) -> None:
    await clients.close()
    await clients.outbound.close()


# --- the OpenAI transport -----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_a_call_to_a_private_endpoint_is_refused_before_anything_is_sent(fake: FakeOpenAI, host: str) -> None:
    clients = await _clients(allow_private=False)
    try:
        with pytest.raises(UrlNotAllowed):
            await ai_client.ping(clients, _config(f"http://{host}:{fake.port}/v1"))
        with pytest.raises(AiError) as failed:
            await ai_client.generate_image(
                clients, _config(f"http://{host}:{fake.port}/v1"), "a cat", Usage(), what="Image"
            )
    finally:
        await _close(clients)
    assert (failed.value.code, failed.value.status) == ("url_not_allowed", 400)
    assert fake.calls == []


async def test_with_the_rule_off_the_same_call_goes_through(fake: FakeOpenAI) -> None:
    clients = await _clients(allow_private=True)
    try:
        result = await ai_client.ping(clients, _config(f"http://localhost:{fake.port}/v1"))
    finally:
        await _close(clients)
    assert result["ok"] is True and fake.count("/chat/completions") == 1


async def test_a_json_call_sends_the_accounts_settings_and_loads_the_typed_answer(fake: FakeOpenAI) -> None:
    fake.responders["*"] = lambda body: {"ideas": [{"title": "Boots for wet trails", "target_keywords": ["boots"]}]}
    clients = await _clients(allow_private=True)
    usage = Usage()
    try:
        answer = await ai_client.chat_json(
            clients, _config(fake.base_url), "Ideas for: boots", ANSWERS["ideas"], usage, what="Ideas"
        )
    finally:
        await _close(clients)
    [call] = fake.calls
    assert (call["method"], call["path"], call["authorization"]) == ("POST", "/v1/chat/completions", f"Bearer {KEY}")
    assert call["json"] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You answer with a single JSON object and nothing else."},
            {"role": "user", "content": "Ideas for: boots"},
        ],
        "temperature": 0.7,
        "max_tokens": 100,
        "response_format": {"type": "json_object"},
    }
    assert [idea["title"] for idea in answer["ideas"]] == ["Boots for wet trails"]
    assert answer["ideas"][0]["target_keywords"] == ["boots"]
    # The answer's usage, as the completion reported it.
    assert (usage.model, usage.calls) == ("gpt-4o-mini", 1)
    assert usage.tokens_in > 0 and usage.tokens_out > 0


@pytest.mark.parametrize(("allow_private", "status"), [(False, 400), (True, 200)])
async def test_a_job_whose_endpoint_resolves_to_loopback_fails_400_url_not_allowed_when_the_rule_is_on(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake: FakeOpenAI, allow_private: bool, status: int
) -> None:
    settings = make_settings(allow_private_urls=allow_private)
    app = create_app(settings, docs=False)
    api = Api(await aiohttp_client(app))
    owner = await api.register()
    site = await api.site(owner)
    cluster = await api.call(
        "POST", "/api/v1/planner/clusters/", json={"site_id": site["id"], "name": "C"}, as_=owner, status=201
    )
    # Stored as if `localhost` had resolved to a public address when it was saved.
    base_url = f"http://localhost:{fake.port}/v1"
    await ai_settings.save_openai_settings(
        owner.account["id"], {"api_key": KEY, "base_url": base_url}, app[CRYPTO], app[EVENTS]
    )
    body = await api.call("POST", IDEAS, json={"ids": [cluster["data"]["id"]]}, as_=owner, status=status)
    if allow_private:
        assert body["data"]["ideas_created"] == 3 and fake.count("/chat/completions") == 1
        return
    assert body["code"] == "url_not_allowed" and "localhost" in body["error"]
    assert body["job"]["status"] == "failed" and body["job"]["credits_used"] == 0
    assert fake.calls == []
    assert await job_ledger(body["job"]["id"]) == [("usage", -5), ("refund", 5)]
    assert await balance(owner.account["id"]) == 1000


# --- image URLs ---------------------------------------------------------------------------------


async def test_an_image_answered_as_a_url_is_fetched(fake: FakeOpenAI) -> None:
    fake.image_response_format = "url"
    clients = await _clients(allow_private=True)
    try:
        data = await ai_client.generate_image(clients, _config(fake.base_url), "a cat", Usage(), what="Image")
    finally:
        await _close(clients)
    assert data.startswith(PNG_SIGNATURE)
    assert sum(call["path"].startswith("/files/") for call in fake.calls) == 1


async def test_a_private_image_url_is_refused_even_from_an_allowed_endpoint(fake: FakeOpenAI) -> None:
    fake.image_response_format = "url"  # the fake answers http://127.0.0.1:<port>/files/…
    endpoint = f"http://localhost:{fake.port}/v1"
    clients = await _clients(allow_private=False, trusted_urls=[endpoint])
    try:
        with pytest.raises(AiError) as failed:
            await ai_client.generate_image(clients, _config(endpoint), "a cat", Usage(), what="Image generation")
    finally:
        await _close(clients)
    assert (failed.value.code, failed.value.status) == ("url_not_allowed", 400)
    assert failed.value.message.startswith("Image generation failed: This URL is not allowed: 127.0.0.1")
    assert fake.count("/images/generations") == 1
    assert not any(call["path"].startswith("/files/") for call in fake.calls)


@pytest.mark.parametrize("allow_private", [True, False])
async def test_image_jobs_fetch_url_answers_through_the_rule(
    aiohttp_client: Any, make_settings: Callable[..., Settings], fake: FakeOpenAI, allow_private: bool
) -> None:
    fake.image_response_format = "url"
    # The server's own endpoint (trusted), named differently from the image URLs the fake returns.
    settings = make_settings(
        allow_private_urls=allow_private, openai_api_key=KEY, openai_base_url=f"http://localhost:{fake.port}/v1"
    )
    api = Api(await aiohttp_client(create_app(settings, docs=False)))
    owner = await api.register()
    site = await api.site(owner)
    content = await api.call(
        "POST",
        "/api/v1/writer/content/",
        as_=owner,
        status=201,
        json={"site_id": site["id"], "title": "Trail shoes", "html": "<p>About trail shoes.</p>"},
    )
    content_id = content["data"]["id"]
    path = f"/api/v1/writer/content/{content_id}/generate_images/"
    fetched = sum(call["path"].startswith("/files/") for call in fake.calls)
    if allow_private:
        body = await api.call("POST", path, as_=owner)
        assert body["data"]["job"]["status"] == "succeeded"
        images = await Image.filter(content_id=content_id)
        assert len(images) == 3 and all(i.status == "generated" for i in images)
        assert sum(call["path"].startswith("/files/") for call in fake.calls) == fetched + 3
        return
    body = await api.call("POST", path, as_=owner, status=400)
    assert body["code"] == "url_not_allowed" and body["job"]["credits_used"] == 0
    assert fake.count("/images/generations") == 3
    assert not any(call["path"].startswith("/files/") for call in fake.calls)
    assert {i.status for i in await Image.filter(content_id=content_id)} == {"failed"}
    assert await Job.filter(status="failed").count() == 1 and await balance(owner.account["id"]) == 1000


# --- retries ------------------------------------------------------------------------------------


def _retry_delays(caplog: Any) -> list[float]:
    return [float(r.getMessage().rsplit(" in ", 1)[1].split()[0]) for r in caplog.records if "retry" in r.getMessage()]


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"retry_after": 0.4}, 0.4),
        ({"retry_after": 0, "headers": {"retry-after-ms": "300"}}, 0.3),
    ],
)
async def test_a_429_waits_as_long_as_retry_after_asks(
    fake: FakeOpenAI, caplog: Any, fault: dict[str, Any], expected: float
) -> None:
    fake.fail_next("429", **fault)
    clients = await _clients(allow_private=True)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="inkflow.ai"):
            await ai_client.generate_image(clients, _config(fake.base_url), "a cat", Usage(), what="Image")
    finally:
        await _close(clients)
    assert _retry_delays(caplog) == [expected]
    assert time.monotonic() - started >= expected and fake.count("/images/generations") == 2


async def test_retry_after_as_an_http_date_is_honoured(fake: FakeOpenAI, caplog: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr("services.ai_client.BACKOFF_BASE", 0.001)  # so the backoff can't pass for the date
    clients = await _clients(allow_private=True)
    try:
        await ai_client.ping(clients, _config(fake.base_url))  # the SDK is loaded before the clock starts
        fake.fail_next("429", retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True))
        with caplog.at_level(logging.WARNING, logger="inkflow.ai"):
            await ai_client.generate_image(clients, _config(fake.base_url), "a cat", Usage(), what="Image")
    finally:
        await _close(clients)
    [delay] = _retry_delays(caplog)
    assert 0.1 < delay <= 2.0  # a date has whole seconds: this one is one to two seconds away when sent


async def test_transient_failures_back_off_with_jitter_up_to_four_attempts(
    fake: FakeOpenAI, caplog: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("services.ai_client.BACKOFF_BASE", 0.02)
    fake.always("500")
    clients = await _clients(allow_private=True)
    try:
        with caplog.at_level(logging.WARNING, logger="inkflow.ai"), pytest.raises(AiError) as failed:
            await ai_client.generate_image(clients, _config(fake.base_url), "a cat", Usage(), what="Image")
    finally:
        await _close(clients)
    assert failed.value.message.startswith("Image failed after 4 attempts: 500")
    delays = _retry_delays(caplog)
    # Full jitter: each wait is random below a window that doubles (0.02, 0.04, 0.08 s).
    assert len(delays) == 3 and all(0 <= d <= 0.02 * 2**i + 0.005 for i, d in enumerate(delays))
    assert fake.count("/images/generations") == 4


# --- start-up -----------------------------------------------------------------------------------

FIRST_CALL = """
import asyncio, sys
import server.app
from services.ai_client import AiClients, ping
from services.ai_settings import AiConfig
from services.outbound import Outbound
from tests.fakes.openai_server import FakeOpenAI

async def main():
    loaded = sorted(name for name in ("openai", "httpx2", "tenacity") if name in sys.modules)
    async with FakeOpenAI() as fake:
        clients = AiClients(Outbound(allow_private=True))
        config = AiConfig(api_key="k", base_url=fake.base_url, model="m", temperature=0, max_tokens=1, image_model="i")
        result = await ping(clients, config)
        await clients.close()
        await clients.outbound.close()
    print(loaded, result["ok"])

asyncio.run(main())
"""


def test_the_server_starts_without_the_sdk_and_the_first_call_loads_it() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", FIRST_CALL], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "True"]
