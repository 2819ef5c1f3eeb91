"""The fake OpenAI server, driven by the real ``openai.AsyncOpenAI`` client."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import struct
import sys
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openai
import pytest

from tests.fakes.openai_server import PNG_SIGNATURE, FakeOpenAI, make_png

MODEL = "gpt-4o-mini"
JSON_MODE = {"type": "json_object"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def oai(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
    yield client
    await client.close()


async def chat(client: openai.AsyncOpenAI, prompt: str, *, system: str | None = None, json_mode: bool = True) -> Any:
    messages: list[dict[str, str]] = [{"role": "user", "content": prompt}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    kwargs: dict[str, Any] = {"response_format": JSON_MODE} if json_mode else {}
    return await client.chat.completions.create(model=MODEL, messages=messages, **kwargs)


def content_of(completion: Any) -> Any:
    return json.loads(completion.choices[0].message.content)


def words_of(html: str) -> int:
    return len(re.sub(r"<[^>]+>", " ", html).split())


# ------------------------------------------------------------------------------------------ basics


async def test_lifecycle_and_urls() -> None:
    server = FakeOpenAI()
    await server.start()
    try:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    finally:
        await server.stop()
    await server.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = FakeOpenAI().port  # not started


async def test_models_list(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    page = await oai.models.list()
    ids = [model.id for model in page.data]
    assert ids == ["gpt-4o-mini", "gpt-image-1"]
    assert all(model.owned_by == "fake" for model in page.data)
    assert fake.count("/models") == 1
    call = fake.calls[0]
    assert call["method"] == "GET" and call["path"] == "/v1/models"
    assert call["authorization"] == "Bearer test"


async def test_plain_chat_is_pong_and_usage_counts_tokens(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    completion = await chat(oai, "ping me back please", json_mode=False)
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    choice = completion.choices[0]
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == "pong"
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 6  # 4 words / 0.75, rounded up
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    body = fake.calls[-1]["json"]
    assert body["model"] == MODEL and body["messages"][0]["content"] == "ping me back please"


async def test_json_mode_without_marker(oai: openai.AsyncOpenAI) -> None:
    assert content_of(await chat(oai, "hello")) == {"ok": True}


# ------------------------------------------------------------------------------------ prompt kinds


async def test_clustering_puts_every_keyword_in_exactly_one_cluster(oai: openai.AsyncOpenAI) -> None:
    keywords = ["seo audit", "seo tools", "email marketing", "Email templates", "content calendar", "seo audit"]
    prompt = "Task: Clustering\nGroup these.\nKeywords:\n" + "\n".join(f"- {k}" for k in keywords) + "\n\nReturn JSON."
    completion = await chat(oai, prompt, system="You are an SEO strategist.")
    result = content_of(completion)
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    clusters = result["clusters"]
    for cluster in clusters:
        assert set(cluster) == {"name", "description", "keywords"}
        assert isinstance(cluster["description"], str) and cluster["description"]
    assert [c["name"] for c in clusters] == ["Seo Guide", "Email Guide", "Content Guide"]
    placed = [k for c in clusters for k in c["keywords"]]
    unique = list(dict.fromkeys(keywords))
    assert sorted(placed) == sorted(unique)  # every listed keyword once, no extras
    assert clusters[1]["keywords"] == ["email marketing", "Email templates"]


async def test_clustering_is_deterministic(oai: openai.AsyncOpenAI) -> None:
    prompt = "task: clustering\nKeywords:\n- b one\n- a two\n- b three"
    first, second = content_of(await chat(oai, prompt)), content_of(await chat(oai, prompt))
    assert first == second
    assert [(c["name"], c["keywords"]) for c in first["clusters"]] == [
        ("B Guide", ["b one", "b three"]),
        ("A Guide", ["a two"]),
    ]


async def test_ideas(oai: openai.AsyncOpenAI) -> None:
    result = content_of(await chat(oai, "task: ideas\ncluster: Email Marketing\ncount: 4"))
    ideas = result["ideas"]
    assert len(ideas) == 4
    assert len({idea["title"] for idea in ideas}) == 4
    for idea in ideas:
        assert "Email Marketing" in idea["title"]
        assert idea["content_type"] == "post" and idea["content_structure"] == "guide"
        assert idea["estimated_word_count"] == 1200
        assert idea["target_keywords"] and all(isinstance(k, str) for k in idea["target_keywords"])
        assert idea["description"] and all(set(d) == {"heading", "notes"} for d in idea["description"])
    default = content_of(await chat(oai, "TASK: IDEAS please"))
    assert len(default["ideas"]) == 3


@pytest.mark.parametrize("task", ["content", "optimize"])
async def test_content_and_optimize(oai: openai.AsyncOpenAI, task: str) -> None:
    prompt = f"task: {task}\nkeyword: cold brew coffee\nword_count: 300\nWrite the article."
    result = content_of(await chat(oai, prompt))
    assert set(result) == {"title", "html", "meta_title", "meta_description", "primary_keyword", "secondary_keywords"}
    assert result["primary_keyword"] == "cold brew coffee"
    assert result["secondary_keywords"] and all(isinstance(k, str) for k in result["secondary_keywords"])
    html = result["html"]
    assert html.startswith("<h2>") and html.count("<h2>") >= 2 and html.count("<p>") == html.count("<h2>")
    assert 270 <= words_of(html) <= 330
    first_paragraph = re.search(r"<p>(.*?)</p>", html, re.DOTALL)
    assert first_paragraph and "cold brew coffee" in first_paragraph.group(1)
    assert len(result["meta_title"]) <= 60 and len(result["meta_description"]) <= 160


async def test_content_defaults_to_800_words(oai: openai.AsyncOpenAI) -> None:
    result = content_of(await chat(oai, "task: content"))
    assert 760 <= words_of(result["html"]) <= 840


async def test_image_prompts(oai: openai.AsyncOpenAI) -> None:
    result = content_of(await chat(oai, "task: image_prompts\ncount: 3\nkeyword: hiking boots"))
    prompts = result["prompts"]
    assert [p["kind"] for p in prompts] == ["featured", "in_article", "in_article"]
    assert all(p["prompt"] and p["alt_text"] for p in prompts)
    assert len(content_of(await chat(oai, "task: image_prompts"))["prompts"]) == 2


async def test_responders_override_defaults(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.responders["ideas"] = lambda body: json.dumps({"ideas": [], "model": body["model"]})
    fake.responders["*"] = lambda body: {"custom": True}
    assert content_of(await chat(oai, "task: ideas")) == {"ideas": [], "model": MODEL}
    assert content_of(await chat(oai, "task: content")) == {"custom": True}


# -------------------------------------------------------------------------------------------- faults


async def test_429_then_success_with_one_retry(fake: FakeOpenAI) -> None:
    fake.fail_next("429", retry_after=0.05)
    async with openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=1) as client:
        completion = await chat(client, "hi", json_mode=False)
    assert completion.choices[0].message.content == "pong"
    assert fake.count("/chat/completions") == 2


async def test_429_carries_retry_after_and_code(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("429", retry_after=7)
    with pytest.raises(openai.RateLimitError) as info:
        await chat(oai, "hi")
    assert info.value.status_code == 429
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after"] == "7"


async def test_500_is_internal_server_error(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("500")
    with pytest.raises(openai.InternalServerError) as info:
        await chat(oai, "hi")
    assert info.value.status_code == 500 and info.value.type == "server_error"
    assert (await chat(oai, "hi", json_mode=False)).choices[0].message.content == "pong"  # one-shot


async def test_insufficient_quota_is_rate_limit_error_with_code(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("insufficient_quota")
    with pytest.raises(openai.RateLimitError) as info:
        await chat(oai, "hi")
    assert info.value.code == "insufficient_quota"
    assert info.value.type == "insufficient_quota"
    assert "exceeded your current quota" in info.value.message


async def test_malformed_content_is_not_json(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("malformed")
    completion = await chat(oai, "task: content\nkeyword: x")
    with pytest.raises(json.JSONDecodeError):
        json.loads(completion.choices[0].message.content)
    assert completion.usage is not None and completion.usage.total_tokens > 0


async def test_malformed_other_endpoint_is_not_json(fake: FakeOpenAI) -> None:
    fake.fail_next("malformed")
    async with aiohttp.ClientSession() as session, session.get(f"{fake.base_url}/models") as resp:
        assert resp.status == 200
        with pytest.raises(ValueError):
            json.loads(await resp.text())


async def test_drop_is_connection_error(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("drop")
    with pytest.raises(openai.APIConnectionError) as info:
        await chat(oai, "hi")
    assert not isinstance(info.value, openai.APITimeoutError)
    assert (await chat(oai, "hi", json_mode=False)).choices[0].message.content == "pong"


async def test_slow_beyond_client_timeout_is_timeout_error(fake: FakeOpenAI) -> None:
    fake.fail_next("slow", seconds=0.3)
    async with openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0, timeout=0.1) as client:
        with pytest.raises(openai.APITimeoutError):
            await chat(client, "hi")
        assert (await chat(client, "hi", json_mode=False)).choices[0].message.content == "pong"


async def test_slow_within_timeout_answers_normally(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("slow", seconds=0.1)
    started = time.monotonic()
    assert content_of(await chat(oai, "hi")) == {"ok": True}
    assert time.monotonic() - started >= 0.1


async def test_fault_queue_order_then_normal(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.fail_next("500", times=2)
    fake.fail_next("insufficient_quota")
    for error in (openai.InternalServerError, openai.InternalServerError, openai.RateLimitError):
        with pytest.raises(error):
            await chat(oai, "hi")
    assert content_of(await chat(oai, "hi")) == {"ok": True}
    assert fake.count("/chat/completions") == 4


async def test_always_and_reset(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    fake.always("500")
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            await oai.models.list()
    fake.reset()
    assert len((await oai.models.list()).data) == 2


async def test_unknown_fault_kind_is_rejected(fake: FakeOpenAI) -> None:
    with pytest.raises(ValueError):
        fake.fail_next("teapot")
    with pytest.raises(ValueError):
        fake.always("slow")  # needs seconds=


async def test_wrong_api_key_is_authentication_error(fake: FakeOpenAI) -> None:
    fake.api_key = "sk-right"
    async with openai.AsyncOpenAI(api_key="sk-wrong", base_url=fake.base_url, max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError) as info:
            await chat(wrong, "hi")
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    assert info.value.body == {
        "message": "Incorrect API key provided",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
    async with openai.AsyncOpenAI(api_key="sk-right", base_url=fake.base_url, max_retries=0) as right:
        assert content_of(await chat(right, "hi")) == {"ok": True}
    assert [c["authorization"] for c in fake.calls] == ["Bearer sk-wrong", "Bearer sk-right"]


async def test_unknown_path_is_openai_404(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await oai.embeddings.create(model="text-embedding-3-small", input="x")


# -------------------------------------------------------------------------------------------- images


async def test_images_b64(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    result = await oai.images.generate(model="gpt-image-1", prompt="a red fox", n=2)
    assert result.data is not None and len(result.data) == 2
    for image in result.data:
        assert image.b64_json is not None
        png = base64.b64decode(image.b64_json)
        assert png.startswith(PNG_SIGNATURE)
    assert fake.count("/images/generations") == 1


async def test_images_url_is_served(fake: FakeOpenAI, oai: openai.AsyncOpenAI) -> None:
    result = await oai.images.generate(model="gpt-image-1", prompt="a red fox", response_format="url")
    assert result.data is not None and len(result.data) == 1
    url = result.data[0].url
    assert url is not None and url.startswith(f"http://127.0.0.1:{fake.port}/files/") and url.endswith(".png")
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200 and resp.content_type == "image/png"
        assert (await resp.read()).startswith(PNG_SIGNATURE)


def test_make_png_is_valid() -> None:
    png = make_png(8, 8, (1, 2, 3))
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (8, 8)
    idat_length = struct.unpack(">I", png[33:37])[0]
    raw = zlib.decompress(png[41 : 41 + idat_length])
    assert raw == (b"\x00" + b"\x01\x02\x03" * 8) * 8


# ----------------------------------------------------------------------------------------------- CLI


async def test_cli_runs_until_interrupted() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.openai_server", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", line)
        assert match, line
        async with openai.AsyncOpenAI(api_key="x", base_url=match.group(0), max_retries=0) as client:
            assert len((await client.models.list()).data) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, stderr.decode()


def test_the_cli_server_stops_on_sigint_even_when_started_in_the_background() -> None:
    """`python -m tests.fakes.openai_server &` starts with SIGINT ignored, as shells do."""
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    ) as server:
        try:
            assert server.stdout is not None
            assert "listening" in server.stdout.readline()  # printed once the handlers are in place
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=20) == 0
        finally:
            server.kill()
