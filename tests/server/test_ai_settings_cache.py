"""The per-account AI settings cache: every change to an account's OpenAI settings or prompts
takes effect on its very next job, in this process and (PostgreSQL + Redis pass) in another app
sharing Redis; what is read around the API is only seen once announced, or without a shared bus."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from config.prompts import DEFAULT_PROMPTS
from models.system import AccountSetting, Prompt
from server.app import create_app
from server.keys import CRYPTO, EVENTS, SETTINGS
from services import ai_settings
from services.ai_settings import AiSettingsCache
from services.errors import ValidationFailed
from services.events import MemoryEventBus
from tests.ai_helpers import configure_ai
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI, prompt_text
from tests.helpers import Api, Caller

OPENAI = "/api/v1/system/settings/integrations/openai/"
PROMPT = "/api/v1/system/prompts/content/"
TASKS = "/api/v1/writer/tasks/"
ON_REDIS = pytest.mark.skipif(BACKEND != "postgres", reason="needs Redis: runs in the PostgreSQL + Redis pass")
MARKER = "Write it for marathon runners."
EDITED = DEFAULT_PROMPTS["content"] + " " + MARKER
_titles = itertools.count()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _job(api: Api, owner: Caller, site: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """Generate the article of a new task; the answer's body."""
    payload = {"site_id": site["id"], "title": f"Trail shoes {next(_titles)}", "keywords": ["trail shoes"]}
    task = (await api.call("POST", TASKS, json=payload, as_=owner, status=201))["data"]
    return await api.call("POST", f"{TASKS}{task['id']}/generate_content/", as_=owner, status=status)


def _last_chat(fake: FakeOpenAI) -> dict[str, Any]:
    chats = [call["json"] for call in fake.calls if call["path"].endswith("/chat/completions")]
    return chats[-1]


Change = Callable[[Api, Caller, FakeOpenAI], Awaitable[None]]


async def _model(api: Api, owner: Caller, fake: FakeOpenAI) -> None:
    await api.call("PUT", OPENAI, json={"model": "gpt-4.1-mini"}, as_=owner)


async def _edit_prompt(api: Api, owner: Caller, fake: FakeOpenAI) -> None:
    await api.call("PUT", PROMPT, json={"text": EDITED}, as_=owner)


async def _reset_prompt(api: Api, owner: Caller, fake: FakeOpenAI) -> None:
    await api.call("POST", PROMPT + "reset/", json={}, as_=owner)


async def _clear_key(api: Api, owner: Caller, fake: FakeOpenAI) -> None:
    await api.call("PUT", OPENAI, json={"api_key": ""}, as_=owner)


async def _check(changer: Api, reader: Api, fake: FakeOpenAI, name: str) -> None:
    owner = await changer.register()
    site = await changer.site(owner)
    await configure_ai(changer, owner, fake)
    if name == "prompt reset":
        await _edit_prompt(changer, owner, fake)
    # The reader runs a job before the change: its request and its actor may remember both.
    await _job(reader, owner, site)
    before = _last_chat(fake)
    assert before["model"] == "gpt-4o-mini"
    assert (MARKER in prompt_text(before)) == (name == "prompt reset")
    change, seen = CASES[name]
    await change(changer, owner, fake)
    if name == "key cleared":
        body = await _job(reader, owner, site, status=400)
        assert body["code"] == "ai_not_configured", body
        return
    await _job(reader, owner, site)
    assert seen(_last_chat(fake)), _last_chat(fake)


# (the change, then what the next job's model call must show)
CASES: dict[str, tuple[Change, Callable[[dict[str, Any]], bool]]] = {
    "model": (_model, lambda chat: chat["model"] == "gpt-4.1-mini"),
    "prompt edited": (_edit_prompt, lambda chat: MARKER in prompt_text(chat)),
    "prompt reset": (_reset_prompt, lambda chat: MARKER not in prompt_text(chat)),
    "key cleared": (_clear_key, lambda chat: False),  # the job is refused: see `_check`
}


@pytest.mark.parametrize("name", list(CASES))
async def test_each_change_takes_effect_on_the_very_next_job(api: Api, fake: FakeOpenAI, name: str) -> None:
    await _check(api, api, fake, name)


@ON_REDIS
@pytest.mark.parametrize("name", list(CASES))
async def test_a_change_through_one_app_takes_effect_at_once_in_another(
    aiohttp_client: Any, settings: Any, fake: FakeOpenAI, name: str
) -> None:
    first = Api(await aiohttp_client(create_app(settings, docs=False)))
    second = Api(await aiohttp_client(create_app(settings, docs=False)))
    await _check(first, second, fake, name)


@ON_REDIS
async def test_on_redis_the_settings_are_served_from_the_cache_until_a_change_is_announced(
    api: Api, fake: FakeOpenAI
) -> None:
    """What makes the tests above able to fail: a change that announces nothing (here written
    straight to the tables) is not seen by the next job while the entries live."""
    owner = await api.register()
    site = await api.site(owner)
    await configure_ai(api, owner, fake)
    await _job(api, owner, site)
    row = await AccountSetting.get(account_id=owner.account["id"], key="openai")
    await AccountSetting.filter(id=row.id).update(value={**row.value, "model": "gpt-4.1-mini"})
    await Prompt.create(account_id=owner.account["id"], type="content", text=EDITED)
    await _job(api, owner, site)
    assert _last_chat(fake)["model"] == "gpt-4o-mini"
    assert MARKER not in prompt_text(_last_chat(fake))
    await ai_settings.announce(api.client.app[EVENTS], owner.account["id"])
    await _job(api, owner, site)
    assert _last_chat(fake)["model"] == "gpt-4.1-mini"
    assert MARKER in prompt_text(_last_chat(fake))


@ON_REDIS
async def test_a_config_that_cannot_be_used_is_not_remembered(api: Api, fake: FakeOpenAI) -> None:
    """400 ai_not_configured is read again on the next call: a key stored by other means (here
    straight to the table, announcing nothing) is used at once."""
    owner = await api.register()
    site = await api.site(owner)
    body = await _job(api, owner, site, status=400)
    assert body["code"] == "ai_not_configured"
    app = api.client.app
    await AccountSetting.create(
        account_id=owner.account["id"],
        key="openai",
        value={**ai_settings.OPENAI_DEFAULTS, "base_url": fake.base_url},
        secret_enc=app[CRYPTO].encrypt("sk-test-key-1234"),
    )
    await _job(api, owner, site)
    assert _last_chat(fake)["model"] == "gpt-4o-mini"


async def test_without_a_shared_bus_every_call_reads_the_database(api: Api, fake: FakeOpenAI) -> None:
    """The in-memory bus reaches no other process: nothing is remembered, so a change made by
    any means is seen by the next call."""
    owner = await api.register()
    await configure_ai(api, owner, fake)
    app = api.client.app
    cache = AiSettingsCache(MemoryEventBus(), app[SETTINGS], app[CRYPTO])
    account_id = owner.account["id"]
    assert (await cache.config(account_id)).model == "gpt-4o-mini"
    assert await cache.prompt(account_id, "content") == DEFAULT_PROMPTS["content"]
    row = await AccountSetting.get(account_id=account_id, key="openai")
    await AccountSetting.filter(id=row.id).update(value={**row.value, "model": "gpt-4.1-mini"})
    await Prompt.create(account_id=account_id, type="content", text=EDITED)
    assert (await cache.config(account_id)).model == "gpt-4.1-mini"
    assert await cache.prompt(account_id, "content") == EDITED
    await AccountSetting.filter(id=row.id).update(secret_enc=None)
    with pytest.raises(ValidationFailed):
        await cache.config(account_id)
    cache.close()
