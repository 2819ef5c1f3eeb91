"""Which modules an account has switched on (CONTRACT §11)."""

from __future__ import annotations

from typing import Any

from models.system import MODULES, AccountSetting
from services import principal_cache
from services.events import EventBus


def modules_from(stored: dict[str, Any]) -> dict[str, bool]:
    """Every module's switch from a stored document (absent means on)."""
    return {name: bool(stored.get(name, True)) for name in MODULES}


async def enabled_modules(account_id: int) -> dict[str, bool]:
    row = await AccountSetting.get_or_none(account_id=account_id, key="modules")
    return modules_from(row.value if row else {})


async def set_modules(events: EventBus, account_id: int, changes: dict[str, bool]) -> dict[str, bool]:
    current = await enabled_modules(account_id)
    current.update(changes)
    row, created = await AccountSetting.get_or_create(account_id=account_id, key="modules", defaults={"value": current})
    if not created:
        row.value = current
        await row.save(update_fields=["value", "updated_at"])
    await principal_cache.announce(events, account_id=account_id)
    return current
