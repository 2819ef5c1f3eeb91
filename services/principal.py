"""Who is calling: the authenticated principal of a request or a message, and the roles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2, "owner": 3}
ROLE_PERMISSIONS = {
    "owner": ["everything", "billing"],
    "admin": ["users", "sites", "integrations", "settings", "automation", "content"],
    "editor": ["planner", "writer", "linker", "optimizer", "publisher", "ai_operations"],
    "viewer": ["read"],
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    kind: Literal["user", "apikey", "session"]
    account_id: int
    role: str
    user_id: int | None = None
    # ApiKey callers act for exactly one site.
    site_id: int | None = None
    api_key_id: int | None = None
    jti: str | None = None
    access_expires_at: datetime | None = None
    session_id: int | None = None
    # The account's module switches when they came with the credentials (saves a query).
    modules: Mapping[str, bool] | None = None

    @property
    def rate_identity(self) -> str:
        return f"k:{self.api_key_id}" if self.kind == "apikey" else f"u:{self.user_id}"

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
