"""The one table from errors to HTTP statuses, and the errors only the HTTP layer raises.

Domain code raises `services.errors` exceptions; only the error middleware turns them into
error JSON, with the status this table gives.
"""

from __future__ import annotations

from typing import Any

from services.errors import (
    Conflict,
    DomainError,
    Duplicate,
    InsufficientCredits,
    InvalidCredentials,
    InvalidToken,
    ModuleDisabled,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    PlanLimit,
    ServiceUnavailable,
    TokenExpired,
    UpstreamError,
    ValidationFailed,
)


class ApiError(DomainError):
    """An error of the HTTP exchange itself, carrying its own status (and headers)."""

    status = 400

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers = headers or {}


class ParseError(ApiError):
    status, code, message = 400, "parse_error", "Malformed JSON in the request body."


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "Method not allowed."


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "unsupported_media_type", "Send the body as application/json."


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down."


# Domain errors by class (the most specific class in an error's MRO wins).
STATUS_OF_ERROR: dict[type[DomainError], int] = {
    DomainError: 400,
    ValidationFailed: 400,
    NotAuthenticated: 401,
    InvalidCredentials: 401,
    TokenExpired: 401,
    InvalidToken: 401,
    PermissionDenied: 403,
    ModuleDisabled: 403,
    PlanLimit: 403,
    NotFound: 404,
    Conflict: 409,
    Duplicate: 409,
    InsufficientCredits: 402,
    UpstreamError: 502,
    ServiceUnavailable: 503,
}


def status_of(exc: DomainError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    return 400


# aiohttp's own HTTP errors, by status, rendered in the same envelope.
HTTP_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    429: ("rate_limited", "Too many requests; slow down."),
    500: ("server_error", "Internal server error."),
    503: ("service_unavailable", "Service unavailable."),
}
