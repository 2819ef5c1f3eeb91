"""The one place that builds an `openai.AsyncOpenAI` client from an account's `AiConfig`, and
the cheap calls that test a configuration."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import openai

from services.ai_settings import AiConfig

DEFAULT_BASE_URL = "https://api.openai.com/v1"
TEST_TIMEOUT = 10.0  # seconds, for the connection test


@asynccontextmanager
async def client(
    config: AiConfig, *, request_timeout: float = TEST_TIMEOUT, max_retries: int = 0
) -> AsyncIterator[openai.AsyncOpenAI]:
    """An `AsyncOpenAI` for `config`, closed on exit.

    The key and the endpoint are always passed explicitly, so the library never falls back to
    `OPENAI_API_KEY`/`OPENAI_BASE_URL` from the environment (`config.settings` reads those).
    """
    ai = openai.AsyncOpenAI(
        api_key=config.api_key,
        base_url=config.base_url or DEFAULT_BASE_URL,
        timeout=request_timeout,
        max_retries=max_retries,
    )
    try:
        yield ai
    finally:
        await ai.close()


def describe_error(exc: BaseException, timeout: float = TEST_TIMEOUT) -> str:
    """One line naming the provider's status, code and message, e.g.
    `401 invalid_api_key: Incorrect API key provided`."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        code = exc.code or exc.type
        label = f"{exc.status_code} {code}" if code else str(exc.status_code)
        return f"{label}: {message or exc.message}"
    if isinstance(exc, openai.APITimeoutError):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"connection error: {cause or exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def ping(config: AiConfig) -> dict[str, Any]:
    """One chat completion of at most 1 token: `{ok, latency_ms, model}` or `{ok: False, error}`."""
    started = time.perf_counter()
    async with client(config) as ai:
        try:
            completion = await ai.chat.completions.create(
                model=config.model,
                messages=[{"role": "user", "content": "ping"}],
                max_tokens=1,
            )
        except Exception as exc:  # a test reports every failure, it never fails itself
            return {"ok": False, "error": describe_error(exc)}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "model": completion.model or config.model}


async def check_image_model(config: AiConfig) -> dict[str, Any]:
    """List the models the key can use and check the image model is one of them."""
    started = time.perf_counter()
    async with client(config) as ai:
        try:
            available = [model.id async for model in ai.models.list()]
        except Exception as exc:  # a test reports every failure, it never fails itself
            return {"ok": False, "error": describe_error(exc)}
    if config.image_model not in available:
        return {"ok": False, "error": f"The image model {config.image_model!r} is not available with this key."}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "model": config.image_model}
