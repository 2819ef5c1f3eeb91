"""The one place that builds an `openai.AsyncOpenAI` client from an account's `AiConfig`, and
the cheap calls that test a configuration."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.utils
import importlib
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from marshmallow import Schema, ValidationError

from services.ai_settings import AiConfig
from services.errors import UpstreamError, UrlNotAllowed
from services.outbound import Outbound

# `openai` (and `tenacity`) are imported where they're first used: loading the SDK takes longer
# than starting the rest of the server, and serving health needs neither.
if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletion
    from tenacity import RetryCallState

T = TypeVar("T")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
TEST_TIMEOUT = 10.0  # seconds, for the connection test


class AiClients:
    """Long-lived `AsyncOpenAI` clients, one per (key, endpoint, timeout, retries).

    Every client sends its requests through the process's `Outbound` session, so they share
    one connection pool and SSL context and the address rule applies to each connection. The
    app makes one registry and closes it at shutdown; the least recently used client goes past
    `max_size`.
    """

    def __init__(self, outbound: Outbound, max_size: int = 64) -> None:
        self.outbound = outbound
        self._clients: OrderedDict[tuple[str, str, float, int], openai.AsyncOpenAI] = OrderedDict()
        self._max_size = max_size

    async def get(
        self, config: AiConfig, *, request_timeout: float = TEST_TIMEOUT, max_retries: int = 0
    ) -> openai.AsyncOpenAI:
        if "services.openai_http" not in sys.modules:
            # The first AI call loads the SDK, in a thread: importing it takes a second or more,
            # which would stall every other request on the event loop.
            await asyncio.to_thread(importlib.import_module, "services.openai_http")
        import openai

        from services.openai_http import http_client

        # The key and the endpoint are always passed explicitly, so the library never falls back
        # to OPENAI_API_KEY/OPENAI_BASE_URL from the environment (config.settings reads those).
        key = (config.api_key, config.base_url or DEFAULT_BASE_URL, request_timeout, max_retries)
        ai = self._clients.get(key)
        if ai is None:
            ai = openai.AsyncOpenAI(
                api_key=key[0],
                base_url=key[1],
                timeout=request_timeout,
                max_retries=max_retries,
                http_client=http_client(self.outbound),
            )
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
    import openai

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


async def complete(ai: openai.AsyncOpenAI, **body: Any) -> ChatCompletion:
    """`ai.chat.completions.create(**body)` at about half its CPU: the same request through the
    same client (its retries, headers, timeout and errors), typed the same, without `create`'s
    per-call walk of the type annotations of its ~40 parameters (`transform`: ~40 % of a content
    call's CPU, and an identity for the plain strings and numbers sent here). `post` is the
    client's documented way to send a request body as it is."""
    from openai.types.chat import ChatCompletion

    return await ai.post("/chat/completions", body=body, cast_to=ChatCompletion)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def ping(clients: AiClients, config: AiConfig) -> dict[str, Any]:
    """One chat completion of at most 1 token: `{ok, latency_ms, model}` or `{ok: False, error}`."""
    started = time.perf_counter()
    ai = await clients.get(config)
    try:
        completion = await complete(
            ai, model=config.model, messages=[{"role": "user", "content": "ping"}], max_tokens=1
        )
    except UrlNotAllowed:
        raise  # the account's endpoint is refused: a 400, like when it is saved
    except Exception as exc:  # a test reports every failure, it never fails itself
        return {"ok": False, "error": describe_error(exc)}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "model": completion.model or config.model}


async def check_image_model(clients: AiClients, config: AiConfig) -> dict[str, Any]:
    """List the models the key can use and check the image model is one of them."""
    started = time.perf_counter()
    ai = await clients.get(config)
    try:
        available = [model.id async for model in ai.models.list()]
    except UrlNotAllowed:
        raise  # the account's endpoint is refused: a 400, like when it is saved
    except Exception as exc:  # a test reports every failure, it never fails itself
        return {"ok": False, "error": describe_error(exc)}
    if config.image_model not in available:
        return {"ok": False, "error": f"The image model {config.image_model!r} is not available with this key."}
    return {"ok": True, "latency_ms": _elapsed_ms(started), "model": config.image_model}


# --- calls made by jobs: retries, JSON mode, images ---------------------------------------------

log = logging.getLogger("inkflow.ai")
JOB_TIMEOUT = 120.0  # seconds per request made by a job
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.5  # seconds; the window of the random wait doubles per attempt
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
    import openai

    if isinstance(exc, openai.RateLimitError):
        return exc.code == "insufficient_quota" or exc.type == "insufficient_quota"
    return isinstance(exc, openai.APIStatusError) and exc.status_code < 500 and exc.status_code not in (408, 409, 429)


def _is_retryable(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.APIStatusError | openai.APIConnectionError) and not _is_permanent(exc)


def _permanent_code(exc: BaseException) -> str:
    """The error code a user sees: their key or quota is the problem, or the provider refused."""
    import openai

    if isinstance(exc, openai.RateLimitError):
        return "ai_quota_exceeded"
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "ai_auth_failed"
    return "upstream_error"


def _seconds(value: str | None) -> float | None:
    """A `Retry-After` value, in seconds or as an HTTP date."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        return (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
    return None


def _retry_after(exc: BaseException | None) -> float | None:
    """The wait the provider asked for (`retry-after-ms` or `Retry-After`), capped; None when
    it asked for none."""
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    millis = _seconds(headers.get("retry-after-ms"))
    seconds = millis / 1000 if millis is not None else _seconds(headers.get("retry-after"))
    return None if seconds is None else min(BACKOFF_CAP, max(0.0, seconds))


async def _with_retries(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run `call`, retrying transient provider failures (5xx, 429 without quota, timeouts,
    dropped connections) up to `MAX_ATTEMPTS` times; anything else fails at once."""
    import openai
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    backoff = wait_random_exponential(multiplier=BACKOFF_BASE, max=BACKOFF_CAP)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        delay = _retry_after(exc)
        return backoff(state) if delay is None else delay

    def log_retry(state: RetryCallState) -> None:
        # Only exceptions are retried, and tenacity has chosen the wait before it calls this.
        assert state.outcome is not None and state.next_action is not None
        exc = state.outcome.exception()
        assert exc is not None
        problem = describe_error(exc, JOB_TIMEOUT)
        log.warning("%s: %s; retry %d in %.2f s", what, problem, state.attempt_number, state.next_action.sleep)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(MAX_ATTEMPTS),
        wait=wait,
        retry=retry_if_exception(_is_retryable),
        before_sleep=log_retry,
        reraise=True,
    )

    async def attempt() -> T:  # tenacity awaits only what a coroutine function returns
        return await call()

    try:
        return await retrying(attempt)
    except UrlNotAllowed as exc:
        raise AiError(f"{what} failed: {exc.message}", code=exc.code, status=400) from exc
    except (openai.APIStatusError, openai.APIConnectionError) as exc:
        if _is_permanent(exc):
            raise AiError(f"{what} failed: {describe_error(exc, JOB_TIMEOUT)}", code=_permanent_code(exc)) from exc
        raise AiError(f"{what} failed after {MAX_ATTEMPTS} attempts: {describe_error(exc, JOB_TIMEOUT)}") from exc


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
            lambda messages=messages: complete(  # type: ignore[misc]
                ai,
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
        try:
            return await clients.outbound.fetch_bytes(item.url)
        except UrlNotAllowed as exc:
            raise AiError(f"{what} failed: {exc.message}", code=exc.code, status=400) from exc
        except UpstreamError as exc:
            raise AiError(f"{what} failed: {exc.message}") from exc
    raise AiError(f"{what} failed: the provider returned no image")
