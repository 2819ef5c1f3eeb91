"""Domain exceptions and the one table that turns them into (status, code).

Domain code raises these; only the error middleware builds error JSON from them.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = "Bad request."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors
        self.headers = headers or {}
        # Top-level fields added to the error body (e.g. `required`/`available` on 402).
        self.extra = extra or {}
        if code:
            self.code = code


class ValidationFailed(ApiError):
    status, code, message = 400, "validation_error", "Invalid input."


class ParseError(ApiError):
    status, code, message = 400, "parse_error", "Malformed JSON in the request body."


class NotAuthenticated(ApiError):
    status, code, message = 401, "not_authenticated", "Authentication credentials were not provided."


class InvalidCredentials(ApiError):
    status, code, message = 401, "invalid_credentials", "Invalid email or password."


class TokenExpired(ApiError):
    status, code, message = 401, "token_expired", "The token has expired."


class InvalidToken(ApiError):
    status, code, message = 401, "invalid_token", "The token is invalid or has been revoked."


class PermissionDenied(ApiError):
    status, code, message = 403, "permission_denied", "You do not have permission to do this."


class ModuleDisabled(ApiError):
    status, code, message = 403, "module_disabled", "This module is disabled for the account."


class PlanLimit(ApiError):
    status, code, message = 403, "plan_limit", "The plan's limit has been reached."


class NotFound(ApiError):
    status, code, message = 404, "not_found", "Not found."


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "Method not allowed."


class Conflict(ApiError):
    status, code, message = 409, "conflict", "The request conflicts with the current state."


class Duplicate(ApiError):
    status, code, message = 409, "duplicate", "An object with these values already exists."


class InsufficientCredits(ApiError):
    status, code, message = 402, "insufficient_credits", "Not enough credits for this operation."

    def __init__(self, required: int, available: int, **kwargs: Any) -> None:
        extra = {"required": required, "available": available, **kwargs.pop("extra", {})}
        super().__init__(f"This needs {required} credits; {available} are available.", extra=extra, **kwargs)


class PayloadTooLarge(ApiError):
    status, code, message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code, message = 415, "unsupported_media_type", "Send the body as application/json."


class RateLimited(ApiError):
    status, code, message = 429, "rate_limited", "Too many requests; slow down."


class UpstreamError(ApiError):
    status, code, message = 502, "upstream_error", "An upstream service failed."


class ServiceUnavailable(ApiError):
    status, code, message = 503, "service_unavailable", "A service this needs is unavailable."


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
