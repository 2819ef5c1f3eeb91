"""Who is calling and what a handler allows: the `endpoint` decorator and role checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web

from server.keys import PRINCIPAL
from services.principal import Principal

RateScope = Literal["ai", "content", "auth", "general"]
Handler = TypeVar("Handler", bound=Callable[..., Any])


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
