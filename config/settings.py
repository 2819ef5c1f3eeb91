"""Build the one `Settings` object from environment variables.

Every variable is read here and nowhere else. A bad value raises `SettingsError` whose message
names the variable, so `run.py` can stop with one clear line instead of a traceback.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from tortoise.backends.base.config_generator import expand_db_url

from config.costs import DEFAULT_COSTS

RATE_LIMIT_SCOPES = ("ai", "content", "auth", "general")
DEFAULT_RATE_LIMITS = {"ai": 60, "content": 100, "auth": 20, "general": 300}


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class PlanLimits:
    """What every account may have (INKFLOW_PLAN_LIMITS); its AI requests per minute are the
    `ai` rate limit."""

    credits_per_period: int = 1000
    sites: int = 3
    users: int = 5
    keywords_per_site: int = 10_000


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("data")
    media_dir: Path = Path("data/media")
    secret_key: str = ""
    encryption_key: str = ""
    database_url: str = "sqlite://data/inkflow.sqlite3"
    redis_url: str | None = None
    # Every Redis key of this process starts with this; tests give each test its own.
    redis_prefix: str = "inkflow"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    rate_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    access_ttl: int = 15 * 60
    refresh_ttl: int = 7 * 24 * 3600
    session_ttl: int = 7 * 24 * 3600
    mail_backend: str = "console"
    smtp_url: str | None = None
    mail_from: str = "Inkflow <no-reply@inkflow.local>"
    log_level: str = "INFO"
    # aiohttp's access log (one INFO line per request, logger `aiohttp.access`).
    access_log: bool = False
    allow_private_urls: bool = True
    max_body_size: int = 10 * 1024 * 1024
    signup_credits: int = 1000
    plan: PlanLimits = field(default_factory=PlanLimits)
    costs: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_COSTS))
    migrate_on_start: bool = True
    # Seconds between two looks of the automation scheduler for due runs.
    automation_interval: float = 30.0
    # Seconds a site's lease outlives its owner's last renewal (several processes, with Redis):
    # the longest a dead process's sites wait before another takes them over.
    lease_ttl: float = 4.0
    # Seconds one WordPress request of a publish job may take (reads are retried, writes are not).
    wordpress_timeout: float = 30.0
    version: str = "0.1.0"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))

    def with_overrides(self, **overrides: object) -> Settings:
        return replace(self, **overrides)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _named_numbers(variable: str, raw: str | None, defaults: Mapping[str, int]) -> dict[str, int]:
    """`name=number,…` over `defaults`; only names `defaults` has."""
    numbers = dict(defaults)
    if not raw:
        return numbers
    for part in raw.split(","):
        name, sep, number = part.partition("=")
        name = name.strip()
        if not sep or name not in defaults or not number.strip().isdigit():
            example = ",".join(f"{key}={value}" for key, value in defaults.items())
            raise SettingsError(f"{variable} must look like {example}, got {raw!r}")
        numbers[name] = int(number)
    return numbers


def _rate_limits(raw: str | None) -> dict[str, int]:
    return _named_numbers("INKFLOW_RATE_LIMITS", raw, DEFAULT_RATE_LIMITS)


def _plan_limits(raw: str | None) -> PlanLimits:
    return PlanLimits(**_named_numbers("INKFLOW_PLAN_LIMITS", raw, asdict(PlanLimits())))


# The database drivers installed (requirements.txt): tortoise knows more schemes, but without
# their driver they fail at start-up with an import error.
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg")


def _database_url(raw: str) -> str:
    scheme = raw.partition("://")[0] if "://" in raw else ""
    if scheme not in DATABASE_SCHEMES:
        got = f"{scheme}://…" if scheme else repr(raw)  # not the rest: it may hold a password
        raise SettingsError(f"DATABASE_URL must start with sqlite:// or postgres://, got {got}")
    if raw.startswith("postgresql://"):
        raw = "postgres://" + raw[len("postgresql://") :]
    try:
        expand_db_url(raw)
    except Exception as exc:  # tortoise raises several types for a bad URL
        raise SettingsError(f"DATABASE_URL is not a usable database URL: {exc}") from None
    return raw


def _redis_url(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.hostname or parts.path):
        raise SettingsError(f"REDIS_URL must be a redis:// URL, got {raw!r}")
    return raw


def _redis_prefix(raw: str | None) -> str:
    """Every Redis key starts with it: deployments (or test runs) sharing one Redis differ by it."""
    if not raw:
        return "inkflow"
    if not all(c.isalnum() or c in "-_.:" for c in raw):
        raise SettingsError(f"INKFLOW_REDIS_PREFIX must be letters, digits and - _ . :, got {raw!r}")
    return raw


def _persistent_secret(data_dir: Path, filename: str, make: Callable[[], str]) -> str:
    """Return the secret kept in the data folder, making it on first start."""
    path = data_dir / filename
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read the environment into a `Settings`; raise `SettingsError` naming a bad variable."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("INKFLOW_DATA_DIR") or "data")
    media_dir = Path(env.get("INKFLOW_MEDIA_DIR") or data_dir / "media")
    mail_backend = env.get("INKFLOW_MAIL_BACKEND") or "console"
    if mail_backend not in {"console", "smtp"}:
        raise SettingsError(f"INKFLOW_MAIL_BACKEND must be console or smtp, got {mail_backend!r}")
    smtp_url = env.get("INKFLOW_SMTP_URL") or None
    if mail_backend == "smtp" and not smtp_url:
        raise SettingsError("INKFLOW_SMTP_URL is required when INKFLOW_MAIL_BACKEND=smtp")
    log_level = (env.get("INKFLOW_LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise SettingsError(f"INKFLOW_LOG_LEVEL must be a logging level name, got {log_level!r}")
    port = _int(env, "INKFLOW_PORT", 8000, minimum=0)
    if port > 65535:
        raise SettingsError(f"INKFLOW_PORT must be at most 65535, got {port}")

    secret_key = env.get("INKFLOW_SECRET_KEY") or ""
    encryption_key = env.get("INKFLOW_ENCRYPTION_KEY") or ""
    if encryption_key:
        try:
            if len(base64.urlsafe_b64decode(encryption_key.encode())) != 32:
                raise ValueError
        except ValueError:
            raise SettingsError(
                "INKFLOW_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    if secret_key and len(secret_key) < 32:
        raise SettingsError("INKFLOW_SECRET_KEY must be at least 32 characters")

    settings = Settings(
        host=env.get("INKFLOW_HOST") or "127.0.0.1",
        port=port,
        data_dir=data_dir,
        media_dir=media_dir,
        secret_key=secret_key,
        encryption_key=encryption_key,
        database_url=_database_url(env.get("DATABASE_URL") or f"sqlite://{data_dir / 'inkflow.sqlite3'}"),
        redis_url=_redis_url(env.get("REDIS_URL")),
        redis_prefix=_redis_prefix(env.get("INKFLOW_REDIS_PREFIX")),
        openai_api_key=env.get("OPENAI_API_KEY") or None,
        openai_base_url=env.get("OPENAI_BASE_URL") or None,
        rate_limits=_rate_limits(env.get("INKFLOW_RATE_LIMITS")),
        plan=_plan_limits(env.get("INKFLOW_PLAN_LIMITS")),
        access_ttl=_int(env, "INKFLOW_ACCESS_TTL", 15 * 60, minimum=1),
        refresh_ttl=_int(env, "INKFLOW_REFRESH_TTL", 7 * 24 * 3600, minimum=1),
        mail_backend=mail_backend,
        smtp_url=smtp_url,
        log_level=log_level,
        access_log=_bool(env, "INKFLOW_ACCESS_LOG", False),
        allow_private_urls=_bool(env, "INKFLOW_ALLOW_PRIVATE_URLS", True),
        max_body_size=_int(env, "INKFLOW_MAX_BODY_SIZE", 10 * 1024 * 1024, minimum=1024),
        automation_interval=_int(env, "INKFLOW_AUTOMATION_INTERVAL", 30, minimum=1),
        lease_ttl=_int(env, "INKFLOW_LEASE_TTL", 4, minimum=1),
    )
    if overrides:
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
    return settings


def ensure_secrets(settings: Settings) -> Settings:
    """Fill in the secret and encryption keys from the data folder, creating them once."""
    from cryptography.fernet import Fernet

    secret_key = settings.secret_key or _persistent_secret(
        settings.data_dir, "secret_key", lambda: secrets.token_urlsafe(48)
    )
    encryption_key = settings.encryption_key or _persistent_secret(
        settings.data_dir, "encryption_key", lambda: Fernet.generate_key().decode()
    )
    return replace(settings, secret_key=secret_key, encryption_key=encryption_key)
