"""/api/v1/system/: AI settings, the connection test, prompts and modules (CONTRACT §11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from config.prompts import DEFAULT_PROMPTS, PLACEHOLDERS, PROMPT_TYPES, placeholder_problems, render_prompt
from config.settings import Settings
from models.system import AccountSetting, Prompt
from server.app import create_app
from services.security import Crypto
from tests.conftest import TEST_FERNET, TEST_SECRET
from tests.fakes.openai_server import FakeOpenAI, detect_task, parse_keywords
from tests.helpers import Api, Caller

OPENAI = "/api/v1/system/settings/integrations/openai/"
IMAGES = "/api/v1/system/settings/integrations/image_generation/"
TEST = "/api/v1/system/settings/integrations/test/"
PROMPTS = "/api/v1/system/prompts/"
MODULES = "/api/v1/system/modules/"
KEY = "sk-test-account-key-0123456789abcd"
OPENAI_DEFAULTS = {"model": "gpt-4o-mini", "base_url": None, "temperature": 0.7, "max_tokens": 4000}
IMAGE_DEFAULTS = {
    "provider": "openai",
    "model": "gpt-image-1",
    "size": "1024x1024",
    "quality": "auto",
    "style": "natural",
    "images_per_content": 2,
    "featured_image": True,
}
VALID_CONTENT = "task: content\ntitle: {title}\nkeyword: {keyword}\nword_count: {word_count}\n\n{brief}\nJSON only."


async def _api_with(aiohttp_client: Any, make_settings: Callable[..., Settings], **overrides: Any) -> Api:
    return Api(await aiohttp_client(create_app(make_settings(**overrides), docs=False)))


async def _configure(api: Api, owner: Caller, **values: Any) -> dict[str, Any]:
    return (await api.call("PUT", OPENAI, json=values, as_=owner))["data"]


# --- OpenAI settings ----------------------------------------------------------------------------


async def test_openai_settings_default_to_nothing_configured(api: Api) -> None:
    owner = await api.register()
    viewer = await api.member(owner, "viewer")
    data = (await api.call("GET", OPENAI, as_=viewer))["data"]
    assert data == {"api_key_set": False, "api_key_last4": None, "key_source": None, **OPENAI_DEFAULTS}


async def test_put_stores_the_key_encrypted_and_never_returns_it(api: Api) -> None:
    owner = await api.register()
    values = {"model": "gpt-4.1", "base_url": "https://llm.example.com/v1", "temperature": 0.2, "max_tokens": 900}
    body = await api.call("PUT", OPENAI, json={"api_key": KEY, **values}, as_=owner)
    expected = {"api_key_set": True, "api_key_last4": "abcd", "key_source": "account", **values}
    assert body["data"] == expected
    viewer = await api.member(owner, "viewer")
    got = await api.call("GET", OPENAI, as_=viewer)
    assert got["data"] == expected
    assert KEY not in str(got) and KEY not in str(body)

    row = await AccountSetting.get(account_id=owner.account["id"], key="openai")
    assert row.secret_enc and row.secret_enc != KEY and KEY not in str(row.value)
    assert Crypto(TEST_SECRET, TEST_FERNET, 900).decrypt(row.secret_enc) == KEY

    partial = await _configure(api, owner, temperature=1.5)
    assert partial["temperature"] == 1.5 and partial["model"] == "gpt-4.1" and partial["api_key_set"] is True
    cleared = await _configure(api, owner, api_key=None, base_url=None)
    assert cleared["api_key_set"] is False and cleared["api_key_last4"] is None and cleared["base_url"] is None
    assert (await AccountSetting.get(id=row.id)).secret_enc is None
    await _configure(api, owner, api_key=KEY)
    assert (await _configure(api, owner, api_key=""))["api_key_set"] is False
    pasted = await _configure(api, owner, api_key=f"  {KEY}\r\n")  # whitespace around a pasted key is trimmed
    assert pasted["api_key_set"] is True and pasted["api_key_last4"] == KEY[-4:]


async def test_only_admins_change_settings(api: Api) -> None:
    owner = await api.register()
    admin = await api.member(owner, "admin")
    for role in ("viewer", "editor"):
        member = await api.member(owner, role)
        for path, payload in ((OPENAI, {"api_key": KEY}), (IMAGES, {"size": "1536x1024"})):
            body = await api.call("PUT", path, json=payload, as_=member, status=403)
            assert body["code"] == "permission_denied"
    assert not await AccountSetting.filter(account_id=owner.account["id"]).exists()
    assert (await _configure(api, admin, model="gpt-4o"))["model"] == "gpt-4o"


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        (OPENAI, {"temperature": 3}, "temperature"),
        (OPENAI, {"temperature": -0.1}, "temperature"),
        (OPENAI, {"max_tokens": 0}, "max_tokens"),
        (OPENAI, {"max_tokens": 128_001}, "max_tokens"),
        (OPENAI, {"max_tokens": 1.5}, "max_tokens"),
        (OPENAI, {"base_url": "ftp://x"}, "base_url"),
        (OPENAI, {"base_url": "https://llm.example.com:70000/v1"}, "base_url"),
        (OPENAI, {"base_url": "not a url"}, "base_url"),
        (OPENAI, {"base_url": "https://x.example.com/" + "a" * 2000}, "base_url"),
        (OPENAI, {"model": ""}, "model"),
        (OPENAI, {"model": "m" * 101}, "model"),
        (OPENAI, {"api_key": "k" * 301}, "api_key"),
        (OPENAI, {"api_key": "sk-with a space"}, "api_key"),
        (OPENAI, {"api_key": "sk-tab\tinside"}, "api_key"),
        (OPENAI, {"api_key": "sk-caf\u00e9"}, "api_key"),  # not ASCII: no header could carry it
        (OPENAI, {"api_key": "\u000bsk-vertical-tab"}, "api_key"),
        (OPENAI, {"api_key": 12345}, "api_key"),
        (OPENAI, {"organization": "org-1"}, "organization"),
        (IMAGES, {"size": "999x999"}, "size"),
        (IMAGES, {"quality": "ultra"}, "quality"),
        (IMAGES, {"style": "cartoon"}, "style"),
        (IMAGES, {"provider": "midjourney"}, "provider"),
        (IMAGES, {"images_per_content": 11}, "images_per_content"),
        (IMAGES, {"images_per_content": -1}, "images_per_content"),
        (IMAGES, {"featured_image": {"yes": 1}}, "featured_image"),
        (IMAGES, {"model": ""}, "model"),
        (IMAGES, {"background": "transparent"}, "background"),
    ],
)
async def test_bad_settings_are_400_and_nothing_is_stored(api: Api, path: str, payload: dict, field: str) -> None:
    owner = await api.register()
    body = await api.call(
        "PUT", path, json={"api_key": KEY, **payload} if path == OPENAI else payload, as_=owner, status=400
    )
    assert body["code"] == "validation_error" and field in body["errors"], body
    assert not await AccountSetting.filter(account_id=owner.account["id"]).exists()


async def test_settings_of_one_account_are_invisible_to_another(api: Api) -> None:
    mine, theirs = await api.register(), await api.register()
    await _configure(api, theirs, api_key=KEY, model="gpt-4.1")
    await api.call("PUT", IMAGES, json={"size": "1536x1024"}, as_=theirs)
    await api.call("PUT", f"{PROMPTS}content/", json={"text": VALID_CONTENT}, as_=theirs)
    await api.call("PUT", MODULES, json={"writer": False}, as_=theirs)
    assert (await api.call("GET", OPENAI, as_=mine))["data"] == {
        "api_key_set": False,
        "api_key_last4": None,
        "key_source": None,
        **OPENAI_DEFAULTS,
    }
    assert (await api.call("GET", IMAGES, as_=mine))["data"] == IMAGE_DEFAULTS
    assert (await api.call("GET", f"{PROMPTS}content/", as_=mine))["data"]["is_default"] is True
    assert (await api.call("GET", MODULES, as_=mine))["data"]["writer"] is True
    body = await api.call("POST", TEST, json={"integration": "openai"}, as_=mine, status=400)
    assert body["code"] == "ai_not_configured"


async def test_the_servers_key_is_the_fallback(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> None:
    api = await _api_with(aiohttp_client, make_settings, openai_api_key="sk-server-key-wxyz")
    owner = await api.register()
    data = (await api.call("GET", OPENAI, as_=owner))["data"]
    assert data["api_key_set"] is True and data["api_key_last4"] == "wxyz" and data["key_source"] == "server"
    own = await _configure(api, owner, api_key=KEY)
    assert own["api_key_last4"] == "abcd" and own["key_source"] == "account"
    back = await _configure(api, owner, api_key=None)
    assert back["api_key_last4"] == "wxyz" and back["key_source"] == "server"


# --- image generation settings ------------------------------------------------------------------


async def test_image_settings_default_and_update(api: Api) -> None:
    owner = await api.register()
    viewer = await api.member(owner, "viewer")
    assert (await api.call("GET", IMAGES, as_=viewer))["data"] == IMAGE_DEFAULTS
    change = {
        "size": "1536x1024",
        "quality": "high",
        "style": "vivid",
        "images_per_content": 0,
        "featured_image": False,
    }
    body = await api.call("PUT", IMAGES, json=change, as_=owner)
    assert body["data"] == {**IMAGE_DEFAULTS, **change}
    assert (await api.call("GET", IMAGES, as_=viewer))["data"] == {**IMAGE_DEFAULTS, **change}
    again = await api.call("PUT", IMAGES, json={"model": "dall-e-3"}, as_=owner)
    assert again["data"] == {**IMAGE_DEFAULTS, **change, "model": "dall-e-3"}


# --- the connection test ------------------------------------------------------------------------


async def test_the_test_needs_a_key(api: Api) -> None:
    owner = await api.register()
    body = await api.call("POST", TEST, json={"integration": "openai"}, as_=owner, status=400)
    assert body["code"] == "ai_not_configured" and OPENAI in body["error"]
    body = await api.call("POST", TEST, json={"integration": "image_generation"}, as_=owner, status=400)
    assert body["code"] == "ai_not_configured"
    for payload in ({"integration": "anthropic"}, {}, {"integration": "openai", "extra": 1}):
        assert (await api.call("POST", TEST, json=payload, as_=owner, status=400))["code"] == "validation_error"
    viewer = await api.member(owner, "viewer")
    await api.call("POST", TEST, json={"integration": "openai"}, as_=viewer, status=403)


async def test_the_openai_test_makes_one_real_call_with_the_accounts_key(api: Api) -> None:
    owner = await api.register()
    editor = await api.member(owner, "editor")
    async with FakeOpenAI() as fake:
        await _configure(api, owner, api_key=KEY, base_url=fake.base_url, model="gpt-4o-mini")
        response = await api.client.post(TEST, json={"integration": "openai"}, headers=editor.headers)
        body = await response.json()
        assert response.status == 200 and response.headers["X-RateLimit-Limit"] == "60"
        data = body["data"]
        assert data["ok"] is True and data["model"] == "gpt-4o-mini"
        assert isinstance(data["latency_ms"], (int, float)) and data["latency_ms"] >= 0
        assert "error" not in data
        assert fake.count("/chat/completions") == 1 and len(fake.calls) == 1
        call = fake.calls[0]
        assert call["authorization"] == f"Bearer {KEY}"
        assert call["json"]["max_tokens"] == 1 and call["json"]["model"] == "gpt-4o-mini"


async def test_a_failing_provider_is_ok_false_naming_its_status(api: Api) -> None:
    owner = await api.register()
    async with FakeOpenAI() as fake:
        await _configure(api, owner, api_key=KEY, base_url=fake.base_url)
        fake.always("500")
        data = (await api.call("POST", TEST, json={"integration": "openai"}, as_=owner))["data"]
        assert data["ok"] is False and data["error"].startswith("500"), data
        assert fake.count("/chat/completions") == 1  # max_retries=0: one call only
        data = (await api.call("POST", TEST, json={"integration": "image_generation"}, as_=owner))["data"]
        assert data["ok"] is False and "500" in data["error"]


async def test_a_wrong_key_is_ok_false_naming_401(api: Api) -> None:
    owner = await api.register()
    async with FakeOpenAI(api_key="sk-the-right-one") as fake:
        await _configure(api, owner, api_key=KEY, base_url=fake.base_url)
        data = (await api.call("POST", TEST, json={"integration": "openai"}, as_=owner))["data"]
        assert data == {"ok": False, "error": "401 invalid_api_key: Incorrect API key provided"}
        await _configure(api, owner, api_key="sk-the-right-one")
        assert (await api.call("POST", TEST, json={"integration": "openai"}, as_=owner))["data"]["ok"] is True


async def test_an_unreachable_provider_is_ok_false(api: Api) -> None:
    owner = await api.register()
    async with FakeOpenAI() as fake:
        base_url = fake.base_url
    await _configure(api, owner, api_key=KEY, base_url=base_url)  # the fake has stopped: nothing listens
    data = (await api.call("POST", TEST, json={"integration": "openai"}, as_=owner))["data"]
    assert data["ok"] is False and data["error"].startswith("connection error")


async def test_the_image_generation_test_checks_the_model_list(api: Api) -> None:
    owner = await api.register()
    async with FakeOpenAI() as fake:
        await _configure(api, owner, api_key=KEY, base_url=fake.base_url)
        data = (await api.call("POST", TEST, json={"integration": "image_generation"}, as_=owner))["data"]
        assert data["ok"] is True and data["model"] == "gpt-image-1" and data["latency_ms"] >= 0
        assert fake.count("/models") == 1 and fake.calls[0]["authorization"] == f"Bearer {KEY}"
        await api.call("PUT", IMAGES, json={"model": "dall-e-9"}, as_=owner)
        data = (await api.call("POST", TEST, json={"integration": "image_generation"}, as_=owner))["data"]
        assert data["ok"] is False and "dall-e-9" in data["error"]


async def test_the_servers_key_and_endpoint(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> None:
    async with FakeOpenAI(api_key="sk-server-key") as fake:
        api = await _api_with(
            aiohttp_client, make_settings, openai_api_key="sk-server-key", openai_base_url=fake.base_url
        )
        owner = await api.register()
        data = (await api.call("POST", TEST, json={"integration": "openai"}, as_=owner))["data"]
        assert data["ok"] is True and fake.calls[-1]["authorization"] == "Bearer sk-server-key"
        # The server's key is never sent to an endpoint an account chose.
        await _configure(api, owner, base_url="http://127.0.0.1:9/v1")
        body = await api.call("POST", TEST, json={"integration": "openai"}, as_=owner, status=400)
        assert body["code"] == "ai_not_configured"
        assert len(fake.calls) == 1


async def test_private_base_urls_are_refused_when_configured(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    api = await _api_with(aiohttp_client, make_settings, allow_private_urls=False)
    owner = await api.register()
    for url in ("http://127.0.0.1:8080/v1", "http://10.1.2.3/v1", "http://169.254.169.254/", "http://[::1]:80/v1"):
        body = await api.call("PUT", OPENAI, json={"api_key": KEY, "base_url": url}, as_=owner, status=400)
        assert body["code"] == "url_not_allowed" and "base_url" in body["errors"], url
    assert not await AccountSetting.filter(account_id=owner.account["id"]).exists()
    assert (await _configure(api, owner, base_url="https://8.8.8.8/v1"))["base_url"] == "https://8.8.8.8/v1"


# --- prompts ------------------------------------------------------------------------------------


def test_default_prompts_are_valid_and_readable_by_the_fake() -> None:
    assert set(DEFAULT_PROMPTS) == set(PLACEHOLDERS) == set(PROMPT_TYPES)
    for prompt_type, text in DEFAULT_PROMPTS.items():
        assert placeholder_problems(prompt_type, text) == [], prompt_type
        assert f"task: {prompt_type}" in text
    clustering = render_prompt(DEFAULT_PROMPTS["clustering"], {"keywords": "- best running shoes\n- trail running"})
    assert detect_task(clustering) == "clustering"
    assert parse_keywords(clustering) == ["best running shoes", "trail running"]
    content = render_prompt(
        DEFAULT_PROMPTS["content"], {"title": "Trail Running 101", "keyword": "trail running", "word_count": 900}
    )
    assert "title: Trail Running 101\nkeyword: trail running\nword_count: 900" in content
    assert '{"title": "...", "html"' in content and "{brief}" in content  # JSON braces and unset names stay


async def test_prompts_list_every_type_with_its_default(api: Api) -> None:
    owner = await api.register()
    viewer = await api.member(owner, "viewer")
    body = await api.call("GET", PROMPTS, as_=viewer)
    assert body["count"] == 5 and body["next"] is None and body["previous"] is None
    assert [row["type"] for row in body["results"]] == list(PROMPT_TYPES)
    for row in body["results"]:
        assert row["is_default"] is True and row["updated_at"] is None
        assert row["text"] == DEFAULT_PROMPTS[row["type"]]
        assert row["placeholders"] == list(PLACEHOLDERS[row["type"]])
    first = await api.call("GET", PROMPTS, as_=viewer, params={"page_size": 2})
    assert len(first["results"]) == 2 and first["next"] and "page=2" in first["next"]
    last = await api.call("GET", PROMPTS, as_=viewer, params={"page": 3, "page_size": 2})
    assert [row["type"] for row in last["results"]] == ["optimize"] and last["next"] is None
    assert "page=2" in last["previous"]
    # Past the end, as in every other list: no rows, and `previous` points at the last page.
    past = await api.call("GET", PROMPTS, as_=viewer, params={"page": 9, "page_size": 2})
    assert past["results"] == [] and past["count"] == 5 and past["next"] is None and "page=3" in past["previous"]
    await api.call("GET", PROMPTS, as_=viewer, params={"sort": "type"}, status=400)


async def test_a_prompt_is_edited_validated_and_reset(api: Api) -> None:
    owner = await api.register()
    path = f"{PROMPTS}content/"
    saved = await api.call("PUT", path, json={"text": VALID_CONTENT}, as_=owner)
    assert saved["data"]["is_default"] is False and saved["data"]["text"] == VALID_CONTENT
    assert saved["data"]["updated_at"]
    got = (await api.call("GET", path, as_=owner))["data"]
    assert got["text"] == VALID_CONTENT and got["is_default"] is False
    listed = (await api.call("GET", PROMPTS, as_=owner))["results"]
    assert [row["is_default"] for row in listed] == [True, True, False, True, True]

    missing = VALID_CONTENT.replace("{keyword}", "x").replace("{brief}", "")
    body = await api.call("PUT", path, json={"text": missing}, as_=owner, status=400)
    assert body["code"] == "validation_error"
    assert "{keyword}" in body["errors"]["text"][0] and "{brief}" in body["errors"]["text"][0]
    assert "{title}" not in body["errors"]["text"][0]
    body = await api.call("PUT", path, json={"text": VALID_CONTENT + " {foo}"}, as_=owner, status=400)
    assert "{foo}" in body["errors"]["text"][0]
    for bad in ({"text": ""}, {"text": "x" * 20_001}, {}, {"text": VALID_CONTENT, "type": "ideas"}):
        assert (await api.call("PUT", path, json=bad, as_=owner, status=400))["code"] == "validation_error"
    assert (await api.call("GET", path, as_=owner))["data"]["text"] == VALID_CONTENT

    reset = await api.call("POST", f"{path}reset/", as_=owner)
    assert reset["data"]["is_default"] is True and reset["data"]["text"] == DEFAULT_PROMPTS["content"]
    assert not await Prompt.filter(account_id=owner.account["id"]).exists()
    assert (await api.call("GET", path, as_=owner))["data"]["is_default"] is True


async def test_prompt_service_returns_the_text_in_effect(api: Api) -> None:
    from services.ai_settings import prompt_text

    owner = await api.register()
    assert await prompt_text(owner.account["id"], "content") == DEFAULT_PROMPTS["content"]
    await api.call("PUT", f"{PROMPTS}content/", json={"text": VALID_CONTENT}, as_=owner)
    assert await prompt_text(owner.account["id"], "content") == VALID_CONTENT
    assert await prompt_text(owner.account["id"], "ideas") == DEFAULT_PROMPTS["ideas"]


async def test_prompt_roles_and_unknown_types(api: Api) -> None:
    owner = await api.register()
    editor = await api.member(owner, "editor")
    await api.call("PUT", f"{PROMPTS}content/", json={"text": VALID_CONTENT}, as_=editor, status=403)
    await api.call("POST", f"{PROMPTS}content/reset/", as_=editor, status=403)
    assert not await Prompt.all().exists()
    for method, path, payload in (
        ("GET", f"{PROMPTS}linker_anchor/", None),
        ("PUT", f"{PROMPTS}nope/", {"text": VALID_CONTENT}),
        ("POST", f"{PROMPTS}nope/reset/", None),
    ):
        body = await api.call(method, path, json=payload, as_=owner, status=404)
        assert body["code"] == "not_found"


# --- modules ------------------------------------------------------------------------------------


async def test_modules_are_all_on_and_switch_per_account(api: Api) -> None:
    owner = await api.register()
    other = await api.register()
    every = ("planner", "writer", "linker", "optimizer", "automation", "publisher", "integration")
    viewer = await api.member(owner, "viewer")
    assert (await api.call("GET", MODULES, as_=viewer))["data"] == dict.fromkeys(every, True)
    changed = await api.call("PUT", MODULES, json={"planner": False}, as_=owner)
    assert changed["data"] == {**dict.fromkeys(every, True), "planner": False}
    assert (await api.call("GET", MODULES, as_=viewer))["data"]["planner"] is False
    await api.call("PUT", MODULES, json={"planner": True, "linker": False}, as_=owner)
    assert (await api.call("GET", MODULES, as_=owner))["data"] == {**dict.fromkeys(every, True), "linker": False}
    assert (await api.call("GET", MODULES, as_=other))["data"] == dict.fromkeys(every, True)


async def test_bad_module_changes_are_refused(api: Api) -> None:
    owner = await api.register()
    editor = await api.member(owner, "editor")
    body = await api.call("PUT", MODULES, json={"billing": False}, as_=owner, status=400)
    assert body["code"] == "validation_error" and "billing" in body["errors"]
    await api.call("PUT", MODULES, json={"planner": {"no": 1}}, as_=owner, status=400)
    await api.call("PUT", MODULES, json={"planner": False}, as_=editor, status=403)
    assert not await AccountSetting.filter(account_id=owner.account["id"], key="modules").exists()
