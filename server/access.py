"""Who is calling and what a handler allows: the `endpoint` decorator and role checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from aiohttp import web

from server.keys import PRINCIPAL

ROLE_RANK = {"viewer": 0, "editor": 1, "admin": 2, "owner": 3}
ROLE_PERMISSIONS = {
    "owner": ["everything", "billing"],
    "admin": ["users", "sites", "integrations", "settings", "automation", "content"],
    "editor": ["planner", "writer", "linker", "optimizer", "publisher", "ai_operations"],
    "viewer": ["read"],
}
RateScope = Literal["ai", "content", "auth", "general"]
Handler = TypeVar("Handler", bound=Callable[..., Any])


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


@dataclass(frozen=True)
class EndpointRules:
    public: bool = False
    role: str = "viewer"
    apikey: bool = False
    scope: RateScope | None = "general"
    module: str | None = None
    idempotent: bool = False


RULES_ATTR = "__inkflow_rules__"
DEFAULT_RULES = EndpointRules()
# Routes we don't write ourselves (the docs pages and their assets) are public.
UNDECORATED_RULES = EndpointRules(public=True)


def endpoint(
    *,
    public: bool = False,
    role: str = "viewer",
    apikey: bool = False,
    scope: RateScope | None = "general",
    module: str | None = None,
    idempotent: bool = False,
) -> Callable[[Handler], Handler]:
    """Declare a handler's access rules; the middlewares enforce them before it runs.

    `public` needs no credentials; `role` is the least role allowed; `apikey` lets the
    WordPress plugin's site key in; `scope` is the rate-limit bucket (None: exempt);
    `module` is the module that must be enabled; `idempotent` honours `Idempotency-Key`.
    """
    rules = EndpointRules(public, role, apikey, scope, module, idempotent)

    def mark(handler: Handler) -> Handler:
        setattr(handler, RULES_ATTR, rules)
        return handler

    return mark


def rules_of(request: web.Request) -> EndpointRules:
    rules = getattr(request.match_info.handler, RULES_ATTR, None)
    if rules is None:
        return DEFAULT_RULES if request.path.startswith("/api/v1/") else UNDECORATED_RULES
    return rules


def principal(request: web.Request) -> Principal:
    """The caller; the auth middleware has already refused anonymous calls to private routes."""
    return request[PRINCIPAL]
