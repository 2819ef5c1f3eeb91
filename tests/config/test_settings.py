"""Settings from the environment: defaults, overrides and one clear line per bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError, ensure_secrets, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite://data/inkflow.sqlite3"
    assert settings.redis_url is None
    assert settings.rate_limits == {"ai": 60, "content": 100, "auth": 20, "general": 300}
    assert settings.access_ttl == 900 and settings.refresh_ttl == 7 * 24 * 3600
    assert settings.access_log is False
    assert settings.redis_prefix == "inkflow"


def test_environment_overrides() -> None:
    settings = load_settings(
        {
            "INKFLOW_PORT": "9000",
            "DATABASE_URL": "postgresql://u:p@db:5432/ink",
            "REDIS_URL": "redis://cache:6379/1",
            "INKFLOW_RATE_LIMITS": "ai=5,general=1000",
            "INKFLOW_ALLOW_PRIVATE_URLS": "false",
            "INKFLOW_DATA_DIR": "/srv/ink",
            "INKFLOW_ACCESS_LOG": "true",
            "INKFLOW_REDIS_PREFIX": "inkflow-staging",
            "INKFLOW_LEASE_TTL": "9",
            "INKFLOW_PLAN_LIMITS": "keywords_per_site=250000, sites=12",
        }
    )
    assert settings.port == 9000
    assert settings.database_url == "postgres://u:p@db:5432/ink" and settings.is_postgres
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.rate_limits["ai"] == 5 and settings.rate_limits["general"] == 1000
    assert settings.rate_limits["auth"] == 20
    assert settings.allow_private_urls is False
    assert str(settings.media_dir) == "/srv/ink/media"
    assert settings.access_log is True
    assert settings.redis_prefix == "inkflow-staging" and settings.lease_ttl == 9
    assert settings.plan.keywords_per_site == 250_000 and settings.plan.sites == 12 and settings.plan.users == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("INKFLOW_PORT", "abc"),
        ("INKFLOW_PORT", "70000"),
        ("DATABASE_URL", "nonsense://what"),
        ("DATABASE_URL", "mysql://u:p@db/ink"),  # no driver installed: was a ModuleNotFoundError at start-up
        ("INKFLOW_ACCESS_LOG", "sometimes"),
        ("REDIS_URL", "http://not-redis"),
        ("INKFLOW_RATE_LIMITS", "ai=lots"),
        ("INKFLOW_PLAN_LIMITS", "keywords=5"),
        ("INKFLOW_PLAN_LIMITS", "sites=-1"),
        ("INKFLOW_ACCESS_TTL", "-5"),
        ("INKFLOW_MAIL_BACKEND", "pigeon"),
        ("INKFLOW_ALLOW_PRIVATE_URLS", "maybe"),
        ("INKFLOW_ENCRYPTION_KEY", "short"),
        ("INKFLOW_LOG_LEVEL", "LOUD"),
        ("INKFLOW_REDIS_PREFIX", "two words"),
        ("INKFLOW_LEASE_TTL", "0"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_a_bad_value_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "INKFLOW_PORT": "abc", "INKFLOW_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "run.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["configuration error: INKFLOW_PORT must be a whole number, got 'abc'"]


def test_secret_and_encryption_keys_are_made_once_and_kept(tmp_path: Path) -> None:
    first = ensure_secrets(load_settings({"INKFLOW_DATA_DIR": str(tmp_path)}))
    second = ensure_secrets(load_settings({"INKFLOW_DATA_DIR": str(tmp_path)}))
    assert len(first.secret_key) >= 32 and first.encryption_key
    assert (first.secret_key, first.encryption_key) == (second.secret_key, second.encryption_key)
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
