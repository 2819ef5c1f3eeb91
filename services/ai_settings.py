"""An account's AI settings (OpenAI, image generation) and prompts, and the `AiConfig` in effect.

Stored as `AccountSetting` documents: `openai` (the key Fernet-encrypted in `secret_enc`, never in
`value`) and `image_generation`; edited prompts as `Prompt` rows. Whatever an account hasn't set
comes from the defaults below, and the API key from the server's `OPENAI_API_KEY` when the
account has none of its own.

Every job reads the config in effect and its prompt (in the request, then in its actor):
`AiSettingsCache` keeps them per account for a few seconds, and every change here announces
itself after the write, so the next job of any process sees it (`services.bus_cache`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from config.prompts import DEFAULT_PROMPTS, PLACEHOLDERS, PROMPT_TYPES, placeholder_problems
from config.settings import Settings
from models.system import AccountSetting, Prompt
from services import bus_cache
from services.errors import NotFound, UrlNotAllowed, ValidationFailed
from services.events import Event, EventBus
from services.outbound import is_public_address
from services.security import Crypto

log = logging.getLogger("inkflow.ai_settings")

OPENAI_SETTINGS_PATH = "/api/v1/system/settings/integrations/openai/"
OPENAI_KEY, IMAGE_KEY = "openai", "image_generation"

OPENAI_DEFAULTS: dict[str, Any] = {"model": "gpt-4o-mini", "base_url": None, "temperature": 0.7, "max_tokens": 4000}
IMAGE_DEFAULTS: dict[str, Any] = {
    "provider": "openai",
    "model": "gpt-image-1",
    "size": "1024x1024",
    "quality": "auto",
    "style": "natural",
    "images_per_content": 2,  # in-article images; the featured image is extra (CONTRACT §16.11)
    "featured_image": True,
}

KeySource = Literal["account", "server"]

CHANNEL = "system:ai_settings"  # not a websocket channel kind: no client can subscribe to it
EVENT = "ai_settings.changed"
CACHE_TTL_S = 10.0
CONFIG = "config"  # the cache's second key part: "config", or a prompt type


@dataclass(frozen=True)
class AiConfig:
    """Everything an AI call of one account needs, resolved from its settings and the server's."""

    api_key: str = field(repr=False)
    base_url: str | None  # None: the provider's default endpoint
    model: str
    temperature: float
    max_tokens: int
    image_model: str
    image_provider: str = "openai"
    image_size: str = IMAGE_DEFAULTS["size"]
    image_quality: str = IMAGE_DEFAULTS["quality"]
    image_style: str = IMAGE_DEFAULTS["style"]
    images_per_content: int = IMAGE_DEFAULTS["images_per_content"]
    featured_image: bool = IMAGE_DEFAULTS["featured_image"]
    key_source: KeySource = "account"


# --- stored documents ---------------------------------------------------------------------------


async def _row(account_id: int, key: str) -> AccountSetting | None:
    return await AccountSetting.get_or_none(account_id=account_id, key=key)


async def _write(account_id: int, key: str, value: dict[str, Any], **extra: Any) -> None:
    row, created = await AccountSetting.get_or_create(
        account_id=account_id, key=key, defaults={"value": value, **extra}
    )
    if not created:
        row.value = value
        for name, new in extra.items():
            setattr(row, name, new)
        await row.save(update_fields=["value", *extra, "updated_at"])


def _account_key(row: AccountSetting | None, crypto: Crypto) -> str | None:
    if row is None or not row.secret_enc:
        return None
    try:
        return crypto.decrypt(row.secret_enc)
    except ValueError:
        # The encryption key changed since the key was stored: treat it as absent, say so once.
        log.warning("account %s: the stored OpenAI key cannot be decrypted; set it again", row.account_id)
        return None


def _effective_key(row: AccountSetting | None, crypto: Crypto, settings: Settings) -> tuple[str | None, str | None]:
    own = _account_key(row, crypto)
    if own:
        return own, "account"
    if settings.openai_api_key:
        return settings.openai_api_key, "server"
    return None, None


def _merged(defaults: dict[str, Any], row: AccountSetting | None) -> dict[str, Any]:
    stored = row.value if row and isinstance(row.value, dict) else {}
    return {name: stored.get(name, default) for name, default in defaults.items()}


async def openai_settings(account_id: int, settings: Settings, crypto: Crypto) -> dict[str, Any]:
    """What GET shows: never the key, only whether one is in effect, its last 4 and its source."""
    row = await _row(account_id, OPENAI_KEY)
    key, source = _effective_key(row, crypto, settings)
    return {
        "api_key_set": key is not None,
        "api_key_last4": key[-4:] if key else None,
        "key_source": source,
        **_merged(OPENAI_DEFAULTS, row),
    }


async def save_openai_settings(account_id: int, changes: dict[str, Any], crypto: Crypto, events: EventBus) -> None:
    """Apply a partial update; `api_key` None or "" clears the account's own key."""
    row = await _row(account_id, OPENAI_KEY)
    value = _merged(OPENAI_DEFAULTS, row) | {k: v for k, v in changes.items() if k in OPENAI_DEFAULTS}
    extra: dict[str, Any] = {}
    if "api_key" in changes:
        api_key = (changes["api_key"] or "").strip()
        extra["secret_enc"] = crypto.encrypt(api_key) if api_key else None
    await _write(account_id, OPENAI_KEY, value, **extra)
    await announce(events, account_id)


async def image_settings(account_id: int) -> dict[str, Any]:
    return _merged(IMAGE_DEFAULTS, await _row(account_id, IMAGE_KEY))


async def save_image_settings(account_id: int, changes: dict[str, Any], events: EventBus) -> dict[str, Any]:
    value = await image_settings(account_id) | {k: v for k, v in changes.items() if k in IMAGE_DEFAULTS}
    await _write(account_id, IMAGE_KEY, value)
    await announce(events, account_id)
    return value


def _not_configured(detail: str) -> ValidationFailed:
    return ValidationFailed(f"{detail} Set it with PUT {OPENAI_SETTINGS_PATH}", code="ai_not_configured")


async def load_config(account_id: int, settings: Settings, crypto: Crypto) -> AiConfig:
    """The account's effective AI configuration; 400 `ai_not_configured` without a usable key.

    The server's own key is only ever sent to the server's own endpoint (`OPENAI_BASE_URL`):
    an account with a custom `base_url` needs its own key.
    """
    # Both documents in one query: this runs for every job, in the request and in the actor.
    rows = {r.key: r for r in await AccountSetting.filter(account_id=account_id, key__in=(OPENAI_KEY, IMAGE_KEY))}
    row = rows.get(OPENAI_KEY)
    key, source = _effective_key(row, crypto, settings)
    if key is None or source is None:
        raise _not_configured("No OpenAI API key is configured for this account or the server.")
    values = _merged(OPENAI_DEFAULTS, row)
    if source == "server" and values["base_url"]:
        raise _not_configured("A custom base_url needs the account's own api_key; the server's key isn't sent there.")
    image = _merged(IMAGE_DEFAULTS, rows.get(IMAGE_KEY))
    return AiConfig(
        api_key=key,
        base_url=values["base_url"] or settings.openai_base_url,
        model=values["model"],
        temperature=float(values["temperature"]),
        max_tokens=int(values["max_tokens"]),
        image_model=image["model"],
        image_provider=image["provider"],
        image_size=image["size"],
        image_quality=image["quality"],
        image_style=image["style"],
        images_per_content=int(image["images_per_content"]),
        featured_image=bool(image["featured_image"]),
        key_source=source,  # type: ignore[arg-type]
    )


# --- outbound URL check (CONTRACT §16.28) -------------------------------------------------------


async def check_outbound_url(url: str, settings: Settings, *, field_name: str = "base_url") -> None:
    """With `INKFLOW_ALLOW_PRIVATE_URLS=false`, refuse a URL whose host is or resolves to a
    loopback, private, link-local or otherwise non-public address (400 `url_not_allowed`).

    An early, friendly answer when the URL is saved; `services.outbound` applies the same rule
    again to every connection, after the name is resolved then."""
    if settings.allow_private_urls:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""

    def refuse(why: str) -> UrlNotAllowed:
        return UrlNotAllowed(f"This URL is not allowed: {why}", errors={field_name: [why]})

    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise refuse("The port is not valid.") from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise refuse(f"The host {host!r} cannot be resolved.") from None
    if not infos or not all(is_public_address(str(info[4][0])) for info in infos):
        raise refuse(f"The host {host!r} is a private, loopback or link-local address.")


# --- prompts ------------------------------------------------------------------------------------


def _check_type(prompt_type: str) -> None:
    if prompt_type not in PROMPT_TYPES:
        raise NotFound(f"Unknown prompt type {prompt_type!r}; the types are: {', '.join(PROMPT_TYPES)}.")


def _prompt_row(prompt_type: str, row: Prompt | None) -> dict[str, Any]:
    updated_at: datetime | None = row.updated_at if row else None
    return {
        "type": prompt_type,
        "text": row.text if row else DEFAULT_PROMPTS[prompt_type],
        "is_default": row is None,
        "placeholders": list(PLACEHOLDERS[prompt_type]),
        "updated_at": updated_at,
    }


async def list_prompts(account_id: int) -> list[dict[str, Any]]:
    rows = {row.type: row for row in await Prompt.filter(account_id=account_id)}
    return [_prompt_row(prompt_type, rows.get(prompt_type)) for prompt_type in PROMPT_TYPES]


async def get_prompt(account_id: int, prompt_type: str) -> dict[str, Any]:
    _check_type(prompt_type)
    return _prompt_row(prompt_type, await Prompt.get_or_none(account_id=account_id, type=prompt_type))


async def save_prompt(account_id: int, prompt_type: str, text: str, events: EventBus) -> dict[str, Any]:
    """Store the account's own text; 400 naming missing or unknown placeholders."""
    _check_type(prompt_type)
    problems = placeholder_problems(prompt_type, text)
    if problems:
        raise ValidationFailed(" ".join(problems), errors={"text": problems})
    row, created = await Prompt.get_or_create(account_id=account_id, type=prompt_type, defaults={"text": text})
    if not created:
        row.text = text
        await row.save(update_fields=["text", "updated_at"])
    await announce(events, account_id)
    return _prompt_row(prompt_type, row)


async def reset_prompt(account_id: int, prompt_type: str, events: EventBus) -> dict[str, Any]:
    _check_type(prompt_type)
    await Prompt.filter(account_id=account_id, type=prompt_type).delete()
    await announce(events, account_id)
    return _prompt_row(prompt_type, None)


async def prompt_text(account_id: int, prompt_type: str) -> str:
    """The text in effect for the account: its own, or the default. Render it with
    `config.prompts.render_prompt`."""
    if prompt_type not in PROMPT_TYPES:
        raise ValueError(f"unknown prompt type {prompt_type!r}")
    row = await Prompt.get_or_none(account_id=account_id, type=prompt_type)
    return row.text if row else DEFAULT_PROMPTS[prompt_type]


# --- what jobs read, cached -----------------------------------------------------------------------


class AiSettingsCache(bus_cache.BusCache[tuple[int, str], AiConfig | str]):
    """Per account: the `AiConfig` in effect (`config`) and each prompt's text (`prompt`), as
    `load_config` and `prompt_text` read them. A config that can't be used (400
    `ai_not_configured`) is not remembered: it is read again on the next call."""

    def __init__(self, bus: EventBus, settings: Settings, crypto: Crypto, ttl: float = CACHE_TTL_S) -> None:
        super().__init__(bus, CHANNEL, ttl=ttl)
        self._settings = settings
        self._crypto = crypto

    async def config(self, account_id: int) -> AiConfig:
        config = await self.resolve((account_id, CONFIG), lambda: load_config(account_id, self._settings, self._crypto))
        assert isinstance(config, AiConfig)
        return config

    async def prompt(self, account_id: int, prompt_type: str) -> str:
        text = await self.resolve((account_id, prompt_type), lambda: prompt_text(account_id, prompt_type))
        assert isinstance(text, str)
        return text

    def on_change(self, event: Event) -> None:
        if event.event == EVENT:
            account_id = event.data["account_id"]
            self.drop(keys=tuple((account_id, part) for part in (CONFIG, *PROMPT_TYPES)))


async def announce(events: EventBus, account_id: int) -> None:
    """The account's AI settings or prompts changed (after the write): every process forgets them."""
    await bus_cache.announce(events, CHANNEL, EVENT, {"account_id": account_id})
