"""The one place that builds an `openai.AsyncOpenAI` client from an account's `AiConfig`, and
the cheap calls that test a configuration."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import openai
from marshmallow import Schema, ValidationError

from services.ai_settings import AiConfig

T = TypeVar("T")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
TEST_TIMEOUT = 10.0  # seconds, for the connection test


class AiClients:
    """Long-lived `AsyncOpenAI` clients, one per (key, endpoint, timeout, retries).

    A client owns a connection pool and an SSL context; building one per call costs more CPU
    than the call itself (loading the CA bundle) and a fresh TLS handshake. The app makes one
    registry and closes it at shutdown; the least recently used client goes past `max_size`.
    """

    def __init__(self, max_size: int = 64) -> None:
        self._clients: OrderedDict[tuple[str, str, float, int], openai.AsyncOpenAI] = OrderedDict()
        self._max_size = max_size

    async def get(
        self, config: AiConfig, *, request_timeout: float = TEST_TIMEOUT, max_retries: int = 0
    ) -> openai.AsyncOpenAI:
        # The key and the endpoint are always passed explicitly, so the library never falls back
        # to OPENAI_API_KEY/OPENAI_BASE_URL from the environment (config.settings reads those).
        key = (config.api_key, config.base_url or DEFAULT_BASE_URL, request_timeout, max_retries)
        ai = self._clients.get(key)
        if ai is None:
            ai = openai.AsyncOpenAI(api_key=key[0], base_url=key[1], timeout=request_timeout, max_retries=max_retries)
            self._clients[key] = ai
            if len(self._clients) > self._max_size:
                _, oldest = self._clients.popitem(last=False)
                await oldest.close()
        else:
            self._clients.move_to_end(key)
        return ai

    async def close(self) -> None:
        while self._clients:
            _, ai = self._clients.popitem()
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


async def ping(clients: AiClients, config: AiConfig) -> dict[str, Any]:
    """One chat completion of at most 1 token: `{ok, latency_ms, model}` or `{ok: False, error}`."""
    started = time.perf_counter()
    ai = await clients.get(config)
    try:
        completion = await ai.chat.completions.create(
            model=config.model,
            messages=[{"role": "user", "content": "ping"}],
            max_tokens=1,
        )
    except Exception as exc:  # a test reports every failure, it never fails itself
        return {"ok": False, "error": describe_error(exc)}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "model": completion.model or config.model}


async def check_image_model(clients: AiClients, config: AiConfig) -> dict[str, Any]:
    """List the models the key can use and check the image model is one of them."""
    started = time.perf_counter()
    ai = await clients.get(config)
    try:
        available = [model.id async for model in ai.models.list()]
    except Exception as exc:  # a test reports every failure, it never fails itself
        return {"ok": False, "error": describe_error(exc)}
    if config.image_model not in available:
        return {"ok": False, "error": f"The image model {config.image_model!r} is not available with this key."}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "model": config.image_model}


# --- calls made by jobs: retries, JSON mode, images ---------------------------------------------

log = logging.getLogger("inkflow.ai")
JOB_TIMEOUT = 120.0  # seconds per request made by a job
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.5  # seconds; doubled per attempt, with jitter
BACKOFF_CAP = 20.0


class AiError(Exception):
    """A model call failed for good; `message` names the provider's status and reason."""

    def __init__(self, message: str, *, code: str = "upstream_error", status: int = 502) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@dataclass
class Usage:
    """Tokens spent by the calls of one item, for the usage log."""

    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0

    def add(self, model: str, tokens_in: int, tokens_out: int) -> None:
        self.model = model or self.model
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.calls += 1


def _is_permanent(exc: BaseException) -> bool:
    """Errors a retry can't fix: bad keys, no quota, bad requests."""
    if isinstance(exc, openai.RateLimitError):
        return exc.code == "insufficient_quota" or exc.type == "insufficient_quota"
    return isinstance(exc, openai.APIStatusError) and exc.status_code < 500 and exc.status_code not in (408, 409, 429)


def _permanent_code(exc: BaseException) -> str:
    """The error code a user sees: their key or quota is the problem, or the provider refused."""
    if isinstance(exc, openai.RateLimitError):
        return "ai_quota_exceeded"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "ai_auth_failed"
    return "upstream_error"


def _retry_delay(exc: BaseException, attempt: int) -> float:
    """Honour `Retry-After` when the provider sends it; else exponential backoff with jitter."""
    if isinstance(exc, openai.APIStatusError):
        header = exc.response.headers.get("retry-after")
        with contextlib.suppress(TypeError, ValueError):
            if header is not None:
                return min(BACKOFF_CAP, max(0.0, float(header)))
    return min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * random.uniform(0.5, 1.0)


async def _with_retries(what: str, call: Callable[[], Awaitable[T]]) -> T:
    for attempt in range(MAX_ATTEMPTS):
        try:
            return await call()
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            if _is_permanent(exc):
                raise AiError(f"{what} failed: {describe_error(exc, JOB_TIMEOUT)}", code=_permanent_code(exc)) from exc
            if attempt == MAX_ATTEMPTS - 1:
                raise AiError(
                    f"{what} failed after {MAX_ATTEMPTS} attempts: {describe_error(exc, JOB_TIMEOUT)}"
                ) from exc
            delay = _retry_delay(exc, attempt)
            log.warning("%s: %s; retry %d in %.2f s", what, describe_error(exc, JOB_TIMEOUT), attempt + 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


MAX_PROBLEM = 1000  # characters of what was wrong with an answer, quoted to the model and the user


def _problem(exc: ValueError | ValidationError) -> str:
    """What was wrong with an answer, in words the model can act on."""
    if isinstance(exc, ValidationError):
        return f"not in the requested shape: {json.dumps(exc.messages)}"[:MAX_PROBLEM]
    return f"not valid JSON: {exc}"[:MAX_PROBLEM]


async def chat_json(
    clients: AiClients, config: AiConfig, prompt: str, schema: Schema, usage: Usage, *, what: str
) -> Any:
    """Ask for a JSON answer and load it with `schema`.

    An answer that is not JSON, or that the schema refuses, gets one repair attempt with the
    problem quoted back to the model; a second bad answer fails the call.
    """
    problem = ""
    messages: list[dict[str, str]] = [
        {"role": "system", "content": "You answer with a single JSON object and nothing else."},
        {"role": "user", "content": prompt},
    ]
    ai = await clients.get(config, request_timeout=JOB_TIMEOUT)
    for attempt in (1, 2):
        completion = await _with_retries(
            what,
            lambda messages=messages: ai.chat.completions.create(  # type: ignore[misc]
                model=config.model,
                messages=messages,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                response_format={"type": "json_object"},
            ),
        )
        if completion.usage is not None:
            usage.add(completion.model, completion.usage.prompt_tokens, completion.usage.completion_tokens)
        content = completion.choices[0].message.content or ""
        try:
            return schema.load(json.loads(content))
        except (ValueError, ValidationError) as exc:
            problem = _problem(exc)
            log.warning("%s: malformed answer (attempt %d): %s", what, attempt, problem)
            messages += [
                {"role": "assistant", "content": content[:4000]},
                {
                    "role": "user",
                    "content": f"That answer was not usable ({problem}). Reply again with only "
                    "the JSON object in the requested shape.",
                },
            ]
    raise AiError(f"{what} failed: the model's answer was malformed twice ({problem})", code="upstream_error")


async def generate_image(clients: AiClients, config: AiConfig, prompt: str, usage: Usage, *, what: str) -> bytes:
    """Render one image; returns its bytes (from `b64_json`, or fetched from the returned URL)."""
    ai = await clients.get(config, request_timeout=JOB_TIMEOUT)
    result = await _with_retries(
        what,
        lambda: ai.images.generate(model=config.image_model, prompt=prompt, n=1, size=config.image_size),
    )
    usage.add(config.image_model, 0, 0)
    item = result.data[0] if result.data else None
    if item is not None and item.b64_json:
        return base64.b64decode(item.b64_json)
    if item is not None and item.url:
        timeout = aiohttp.ClientTimeout(total=JOB_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(item.url) as response:
            if response.status == 200:
                return await response.read()
            raise AiError(f"{what} failed: the image URL answered {response.status}")
    raise AiError(f"{what} failed: the provider returned no image")
