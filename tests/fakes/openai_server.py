"""A fake OpenAI-compatible HTTP server for tests and local development.

It is a real aiohttp server on loopback, so the real ``openai.AsyncOpenAI`` client can talk to it::

    async with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(api_key="test", base_url=fake.base_url, max_retries=0)
        ...
        await client.close()

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/images/generations`` and
``GET /files/<name>.png`` (images generated with ``response_format="url"``, or with no ``response_format``
once ``image_response_format = "url"`` is set, as DALL·E answers by default). Any other ``/v1/...`` path
answers 404 in OpenAI's error shape.

Chat completions pick their default answer from a marker in the prompt (all message contents joined,
compared lower-cased): ``task: clustering``, ``task: ideas``, ``task: content``, ``task: image_prompts``,
``task: optimize``. Parameters are read from the prompt too: ``count: <n>``, ``word_count: <n>``,
``keyword: <text>``, ``cluster: <text>``, ``title: <text>`` and a ``Keywords:`` line followed by one
``- keyword`` per line. Without a marker the answer is ``pong`` (``{"ok": true}`` in JSON mode).

Faults: ``fail_next(kind, times=1, **opts)`` queues one-shot behaviours, consumed one per ``/v1`` request
(after the API-key check) in order; ``always(kind, **opts)`` sets a persistent one used when the queue is
empty; ``reset()`` clears both. Kinds: ``slow`` (``seconds``), ``429`` (``retry_after``), ``500``,
``malformed``, ``insufficient_quota``, ``drop``. Every fault response also accepts ``headers={...}``.

Standalone: ``python -m tests.fakes.openai_server --port 8100`` (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import html
import itertools
import json
import math
import re
import signal
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["FAULT_KINDS", "TASK_KINDS", "FakeOpenAI", "main", "make_png"]

FAULT_KINDS = frozenset({"slow", "429", "500", "malformed", "insufficient_quota", "drop"})
TASK_KINDS = ("clustering", "ideas", "content", "image_prompts", "optimize")
MODELS = ("gpt-4o-mini", "gpt-image-1")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MALFORMED_CONTENT = '{not json: "this is not valid JSON"'

_MARKER_RE = re.compile(r"task:\s*(" + "|".join(TASK_KINDS) + r")\b")
_COUNT_RE = re.compile(r"\bcount:\s*(\d+)", re.IGNORECASE)
_WORD_COUNT_RE = re.compile(r"\bword_count:\s*(\d+)", re.IGNORECASE)
_KEYWORDS_HEADER_RE = re.compile(r"^\s*keywords:\s*(.*?)\s*$", re.IGNORECASE)
_MAX_COUNT = 50
_MAX_WORDS = 20_000

Responder = Callable[[dict[str, Any]], Any]


# --------------------------------------------------------------------------------------------- helpers


def make_png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (79, 70, 229)) -> bytes:
    """A valid solid-colour RGB PNG, built with zlib + struct only."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit depth, truecolour
    row = b"\x00" + bytes(rgb) * width  # filter type 0 per scanline
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")


def count_tokens(text: str) -> int:
    """Rough token estimate: words / 0.75, at least 1."""
    return max(1, math.ceil(len(text.split()) / 0.75))


def _error(status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None):
    body = {"error": {"message": message, "type": type_, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def prompt_text(body: dict[str, Any]) -> str:
    """All message contents of a chat request, joined by newlines (original case)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    return "\n".join(_message_text(m) for m in messages)


def detect_task(text: str) -> str | None:
    """The first ``task: <kind>`` marker in the (case-insensitive) prompt, or None."""
    match = _MARKER_RE.search(text.lower())
    return match.group(1) if match else None


def _int_param(regex: re.Pattern[str], text: str, default: int, maximum: int) -> int:
    match = regex.search(text)
    if not match:
        return default
    return max(1, min(int(match.group(1)), maximum))


def _text_param(name: str, text: str) -> str | None:
    match = re.search(rf"\b{name}:[ \t]*([^\n]+)", text, re.IGNORECASE)
    if not match:
        return None
    value = match.group(1).strip().strip("\"'").strip()
    return value or None


def parse_keywords(text: str) -> list[str]:
    """Keywords listed after a ``Keywords:`` line, one ``- keyword`` per line (deduplicated, in order).

    An inline comma-separated list (``Keywords: a, b``) is accepted too.
    """
    found: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        header = _KEYWORDS_HEADER_RE.match(line)
        if not header:
            continue
        if header.group(1):
            found.extend(k.strip() for k in header.group(1).split(","))
        for item in lines[i + 1 :]:
            stripped = item.strip()
            if stripped.startswith("- "):
                found.append(stripped[2:].strip())
            elif stripped:  # blank lines are skipped; any other line ends the list
                break
    seen: set[str] = set()
    unique: list[str] = []
    for keyword in found:
        if keyword and keyword.lower() not in seen:
            seen.add(keyword.lower())
            unique.append(keyword)
    return unique


# ----------------------------------------------------------------------------------- default answers


def answer_clustering(text: str) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for keyword in parse_keywords(text):
        groups.setdefault(keyword.split()[0].lower(), []).append(keyword)
    return {
        "clusters": [
            {
                "name": f"{word.title()} Guide",
                "description": f"Articles about {word}: {len(keywords)} related keyword(s).",
                "keywords": keywords,
            }
            for word, keywords in groups.items()
        ]
    }


_IDEA_TITLES = (
    "The Complete Guide to {topic}",
    "{topic}: Common Mistakes and How to Avoid Them",
    "How to Get Started with {topic}",
    "{topic} Best Practices That Actually Work",
    "{topic} Explained for Beginners",
    "Advanced {topic} Strategies",
    "A Step-by-Step {topic} Checklist",
    "{topic} Tools Compared",
)


def answer_ideas(text: str) -> dict[str, Any]:
    count = _int_param(_COUNT_RE, text, 3, _MAX_COUNT)
    topic = _text_param("cluster", text) or "Your Topic"
    keywords = parse_keywords(text) or [topic.lower()]
    ideas = []
    for i in range(count):
        title = _IDEA_TITLES[i % len(_IDEA_TITLES)].format(topic=topic)
        if i >= len(_IDEA_TITLES):
            title += f" (Part {i // len(_IDEA_TITLES) + 1})"
        ideas.append(
            {
                "title": title,
                "description": [
                    {"heading": "Introduction", "notes": f"Why {topic} matters and what the reader will learn."},
                    {"heading": "Key Points", "notes": f"The main ideas behind {topic}, with examples."},
                    {"heading": "Conclusion", "notes": "Summary and a clear next step for the reader."},
                ],
                "content_type": "post",
                "content_structure": "guide",
                "target_keywords": [keywords[(i + j) % len(keywords)] for j in range(min(3, len(keywords)))],
                "estimated_word_count": 1200,
            }
        )
    return {"ideas": ideas}


_HEADINGS = (
    "Introduction",
    "Why It Matters",
    "Getting Started",
    "Key Techniques",
    "Common Mistakes",
    "Best Practices",
    "Tools and Resources",
    "Measuring Results",
    "Conclusion",
)
_FILLER = [
    "A",
    "clear",
    "structure",
    "helps",
    "readers",
    "find",
    "what",
    "they",
    "need",
    "quickly",
    "and",
    "keeps",
    "them",
    "engaged.",
    "Start",
    "with",
    "the",
    "basics,",
    "then",
    "build",
    "on",
    "them",
    "with",
    "practical",
    "examples",
    "drawn",
    "from",
    "real",
    "projects.",
    "Small",
    "consistent",
    "improvements",
    "add",
    "up",
    "over",
    "time",
    "and",
    "make",
    "the",
    "biggest",
    "difference.",
    "Measure",
    "what",
    "works,",
    "drop",
    "what",
    "does",
    "not,",
    "and",
    "revisit",
    "your",
    "assumptions",
    "regularly.",
    "Good",
    "tools",
    "save",
    "time,",
    "but",
    "good",
    "habits",
    "matter",
    "even",
    "more",
    "in",
    "the",
    "long",
    "run.",
    "Keep",
    "the",
    "reader",
    "in",
    "mind",
    "at",
    "every",
    "step",
    "and",
    "answer",
    "the",
    "questions",
    "they",
    "actually",
    "ask.",
]


def article_html(keyword: str, target_words: int) -> str:
    """``<h2>``/``<p>`` sections totalling about ``target_words`` words; the keyword is in the first paragraph."""
    filler = itertools.cycle(_FILLER)
    intro = f"This guide covers {keyword} and explains how to put it into practice.".split()
    sections: list[tuple[str, list[str]]] = []
    remaining = max(target_words, len(intro) + 1)
    section_cap = max(30, min(150, remaining // 3))  # short articles still get several sections
    for i in itertools.count():
        heading = _HEADINGS[i % len(_HEADINGS)]
        if i >= len(_HEADINGS):
            heading += f" {i // len(_HEADINGS) + 1}"
        heading_words = len(heading.split())
        if sections and remaining <= heading_words + 10:  # too little left for a section: extend the last one
            sections[-1][1].extend(next(filler) for _ in range(remaining))
            break
        words = list(intro) if i == 0 else []
        budget = min(max(remaining - heading_words, len(words)), section_cap)
        words.extend(next(filler) for _ in range(budget - len(words)))
        sections.append((heading, words))
        remaining -= heading_words + len(words)
        if remaining <= 0:
            break
    parts = []
    for heading, words in sections:
        paragraph = " ".join(words).rstrip(".,")
        parts.append(f"<h2>{html.escape(heading)}</h2>\n<p>{html.escape(paragraph)}.</p>")
    return "\n".join(parts)


def answer_content(text: str, *, optimize: bool = False) -> dict[str, Any]:
    keyword = _text_param("keyword", text) or "content strategy"
    word_count = _int_param(_WORD_COUNT_RE, text, 800, _MAX_WORDS)
    title = _text_param("title", text) or f"{keyword.title()}: A Practical Guide"
    if optimize and not title.lower().endswith("(updated)"):
        title = f"{title} (Updated)"
    return {
        "title": title,
        "html": article_html(keyword, word_count),
        "meta_title": title[:60],
        "meta_description": f"Learn about {keyword}: practical tips, common mistakes and best practices."[:160],
        "primary_keyword": keyword,
        "secondary_keywords": [f"{keyword} tips", f"{keyword} guide", f"best {keyword}"],
    }


def answer_image_prompts(text: str) -> dict[str, Any]:
    count = _int_param(_COUNT_RE, text, 2, _MAX_COUNT)
    subject = _text_param("title", text) or _text_param("keyword", text) or "the article topic"
    prompts = []
    for i in range(count):
        if i == 0:
            prompt = f"A clean, modern editorial illustration representing {subject}, no text"
            alt = f"Featured illustration for {subject}"
        else:
            prompt = f"A detailed illustration of one aspect of {subject}, scene {i}, flat colours, no text"
            alt = f"Illustration {i} for {subject}"
        prompts.append({"kind": "featured" if i == 0 else "in_article", "prompt": prompt, "alt_text": alt})
    return {"prompts": prompts}


def default_answer(task: str | None, text: str, json_mode: bool) -> str:
    if task == "clustering":
        result: Any = answer_clustering(text)
    elif task == "ideas":
        result = answer_ideas(text)
    elif task == "content":
        result = answer_content(text)
    elif task == "optimize":
        result = answer_content(text, optimize=True)
    elif task == "image_prompts":
        result = answer_image_prompts(text)
    else:
        return json.dumps({"ok": True}) if json_mode else "pong"
    return json.dumps(result)


# ------------------------------------------------------------------------------------------ the server


class FakeOpenAI:
    """A fake OpenAI API on a real loopback aiohttp server. See the module docstring."""

    def __init__(self, api_key: str | None = None, *, access_log: bool = False) -> None:
        self.api_key: str | None = api_key
        self.calls: list[dict[str, Any]] = []
        # Keys: a task kind ("clustering", "ideas", "content", "image_prompts", "optimize", "default" for no
        # marker), then "*" for any chat completion. Value: request JSON body -> assistant content.
        self.responders: dict[str, Responder] = {}
        self.files: dict[str, bytes] = {}
        self.image_response_format = "b64_json"  # used when a request names none
        self._faults: list[tuple[str, dict[str, Any]]] = []
        self._persistent: tuple[str, dict[str, Any]] | None = None
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._stopping = asyncio.Event()

    # lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeOpenAI is already running")
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/images/generations", self._images)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_route("*", "/v1/{tail:.*}", self._not_found)
        kwargs: dict[str, Any] = {} if self._access_log else {"access_log": None}
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, **kwargs)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._stopping = asyncio.Event()
        self._runner = runner
        self._host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping.set()  # wake "slow" handlers still sleeping
        await runner.cleanup()

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not started")
        return self._port

    @property
    def root_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # inspection and fault injection

    def count(self, path_suffix: str) -> int:
        """How many recorded requests have a path ending with ``path_suffix``."""
        return sum(1 for call in self.calls if call["path"].endswith(path_suffix))

    def fail_next(self, kind: str, times: int = 1, **opts: Any) -> None:
        """Queue ``times`` one-shot faults of ``kind``, consumed one per /v1 request before normal behaviour."""
        self._check_fault(kind, opts)
        self._faults.extend((kind, dict(opts)) for _ in range(times))

    def always(self, kind: str, **opts: Any) -> None:
        """Apply ``kind`` to every /v1 request (once the one-shot queue is empty) until ``reset()``."""
        self._check_fault(kind, opts)
        self._persistent = (kind, dict(opts))

    def reset(self) -> None:
        """Clear queued and persistent faults (recorded calls are kept; use ``calls.clear()``)."""
        self._faults.clear()
        self._persistent = None

    @staticmethod
    def _check_fault(kind: str, opts: dict[str, Any]) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if kind == "slow" and "seconds" not in opts:
            raise ValueError('fault "slow" needs seconds=<float>')

    def _take_fault(self) -> tuple[str, dict[str, Any]] | None:
        if self._faults:
            return self._faults.pop(0)
        return self._persistent

    # request handling

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await _read_json(request)
        self.calls.append(
            {
                "path": request.path,
                "method": request.method,
                "json": body,
                "authorization": request.headers.get("Authorization"),
            }
        )
        if not request.path.startswith("/v1/"):
            return await handler(request)
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key")
        fault = self._take_fault()
        if fault is not None:
            response = await self._apply_fault(request, body, *fault)
            if response is not None:
                return response
        return await handler(request)

    async def _apply_fault(
        self, request: web.Request, body: Any, kind: str, opts: dict[str, Any]
    ) -> web.StreamResponse | None:
        headers = dict(opts.get("headers") or {})
        if kind == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), float(opts["seconds"]))
            return None
        if kind == "429":
            headers["Retry-After"] = str(opts.get("retry_after", 0))
            message = "Rate limit reached for requests. Please try again later."
            return _error(429, message, "requests", "rate_limit_exceeded", headers)
        if kind == "insufficient_quota":
            message = "You exceeded your current quota, please check your plan and billing details."
            return _error(429, message, "insufficient_quota", "insufficient_quota", headers)
        if kind == "500":
            message = "The server had an error while processing your request. Sorry about that!"
            return _error(500, message, "server_error", "server_error", headers)
        if kind == "malformed":
            if request.path.endswith("/chat/completions") and isinstance(body, dict):
                return web.json_response(self._completion(body, MALFORMED_CONTENT), headers=headers)
            return web.Response(text="<html>this is not JSON", content_type="text/html", headers=headers)
        if kind == "drop":
            if request.transport is not None:
                request.transport.close()
            # Writing to the closed transport fails and aiohttp ignores it as a client disconnection.
            return web.Response(text="")
        raise AssertionError(kind)  # pragma: no cover - checked by _check_fault

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": model, "object": "model", "created": 0, "owned_by": "fake"} for model in MODELS]
        return web.json_response({"object": "list", "data": data})

    async def _chat_completions(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object", "invalid_request_error", None)
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return _error(400, "'messages' is a required property", "invalid_request_error", None)
        if not body.get("model"):
            return _error(400, "you must provide a model parameter", "invalid_request_error", None)
        text = prompt_text(body)
        task = detect_task(text)
        response_format = body.get("response_format")
        json_mode = isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")
        responder = self.responders.get(task or "default") or self.responders.get("*")
        if responder is not None:
            content = responder(body)
            if not isinstance(content, str):
                content = json.dumps(content)
        else:
            content = default_answer(task, text, json_mode)
        return web.json_response(self._completion(body, content))

    @staticmethod
    def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt_tokens = count_tokens(prompt_text(body))
        completion_tokens = count_tokens(content)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", MODELS[0]),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    async def _images(self, request: web.Request) -> web.Response:
        body = await _read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return _error(400, "'prompt' is a required property", "invalid_request_error", None)
        n = body.get("n") or 1
        if not isinstance(n, int) or not 1 <= n <= 10:
            return _error(400, "'n' must be between 1 and 10", "invalid_request_error", None)
        as_url = (body.get("response_format") or self.image_response_format) == "url"
        data = []
        for i in range(n):
            digest = hashlib.sha256(f"{body['prompt']}|{i}".encode()).digest()
            png = make_png(rgb=(digest[0], digest[1], digest[2]))
            if as_url:
                name = f"{uuid.uuid4().hex}.png"
                self.files[name] = png
                data.append({"url": f"{self.root_url}/files/{name}"})
            else:
                data.append({"b64_json": base64.b64encode(png).decode("ascii")})
        return web.json_response({"created": int(time.time()), "data": data})

    async def _file(self, request: web.Request) -> web.Response:
        png = self.files.get(request.match_info["name"])
        if png is None:
            raise web.HTTPNotFound()
        return web.Response(body=png, content_type="image/png")

    async def _not_found(self, request: web.Request) -> web.Response:
        message = f"Invalid URL ({request.method} {request.path})"
        return _error(404, message, "invalid_request_error", None)


async def _read_json(request: web.Request) -> Any:
    if not request.body_exists:
        return None
    raw = await request.read()  # cached by aiohttp, so handlers can read it again
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------- CLI


async def _serve(host: str, port: int, api_key: str | None) -> None:
    fake = FakeOpenAI(api_key=api_key, access_log=True)
    await fake.start(host, port)
    stop = asyncio.Event()
    # SIGINT and SIGTERM stop gracefully (not on Windows). SIGINT needs its own handler: a shell
    # starts a background job (`&`) with SIGINT ignored, and Ctrl-C or `kill -INT` did nothing.
    for stopping in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(stopping, stop.set)
    print(f"Fake OpenAI server listening on {fake.base_url} (Ctrl-C to stop)", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake OpenAI-compatible server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer <key>'")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.api_key))


if __name__ == "__main__":
    main()
