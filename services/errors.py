"""Domain errors: what went wrong, in the domain's words. Services, actors and models raise
these; the HTTP layer (`server/errors.py`) alone decides which status each one answers with."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure the caller can be told about: a stable `code`, a sentence, optional details."""

    code = "bad_request"
    message = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Any = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors
        # Top-level fields added to the error body (e.g. `required`/`available` on 402).
        self.extra = extra or {}
        if code:
            self.code = code


class ValidationFailed(DomainError):
    code, message = "validation_error", "Invalid input."


class UrlNotAllowed(ValidationFailed):
    """An outbound URL whose address the rule refuses (`INKFLOW_ALLOW_PRIVATE_URLS=false`)."""

    code, message = "url_not_allowed", "This URL is not allowed."


class NotAuthenticated(DomainError):
    code, message = "not_authenticated", "Authentication credentials were not provided."


class InvalidCredentials(DomainError):
    code, message = "invalid_credentials", "Invalid email or password."


class TokenExpired(DomainError):
    code, message = "token_expired", "The token has expired."


class InvalidToken(DomainError):
    code, message = "invalid_token", "The token is invalid or has been revoked."


class PermissionDenied(DomainError):
    code, message = "permission_denied", "You do not have permission to do this."


class ModuleDisabled(DomainError):
    code, message = "module_disabled", "This module is disabled for the account."


class PlanLimit(DomainError):
    code, message = "plan_limit", "The plan's limit has been reached."


class NotFound(DomainError):
    code, message = "not_found", "Not found."


class Conflict(DomainError):
    code, message = "conflict", "The request conflicts with the current state."


class Duplicate(DomainError):
    code, message = "duplicate", "An object with these values already exists."


class InsufficientCredits(DomainError):
    code, message = "insufficient_credits", "Not enough credits for this operation."

    def __init__(self, required: int, available: int, **kwargs: Any) -> None:
        extra = {"required": required, "available": available, **kwargs.pop("extra", {})}
        super().__init__(f"This needs {required} credits; {available} are available.", extra=extra, **kwargs)


class UpstreamError(DomainError):
    code, message = "upstream_error", "An upstream service failed."


class ServiceUnavailable(DomainError):
    code, message = "service_unavailable", "A service this needs is unavailable."
