"""Typed errors of the Wistia client.

Every error carries the request path (with its query string) and, for HTTP errors, the status
and Wistia's own ``{"error": "..."}`` message. None of them ever carries the API token: the token
travels only in the ``Authorization`` header, which no error message includes.
"""

from __future__ import annotations


class WistiaError(Exception):
    """Base class of everything the Wistia client raises."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class WistiaHTTPError(WistiaError):
    """A non-retryable HTTP error answer (4xx other than 429)."""

    def __init__(self, status: int, path: str, error_message: str | None) -> None:
        self.status = status
        self.error_message = error_message
        detail = error_message if error_message else "(no error message in body)"
        super().__init__(f"Wistia API {status} for GET {path}: {detail}", path=path)


class WistiaAuthError(WistiaHTTPError):
    """401: the token is missing, wrong or revoked."""


class WistiaForbiddenError(WistiaHTTPError):
    """403: the token is valid but the account's plan does not include this feature."""


class WistiaNotFoundError(WistiaHTTPError):
    """404: unknown media (or a path that does not exist)."""


class WistiaValidationError(WistiaHTTPError):
    """422: the request parameters were rejected."""


class WistiaRetryError(WistiaError):
    """A retryable failure persisted past the attempt bound or the deadline."""

    def __init__(self, path: str, attempts: int, reason: str) -> None:
        self.attempts = attempts
        self.reason = reason
        super().__init__(
            f"Wistia API GET {path} failed after {attempts} attempt(s): {reason}", path=path
        )


class RateLimitTimeout(WistiaError):
    """The client-side rate limiter could not grant a request slot before the deadline."""


_BY_STATUS: dict[int, type[WistiaHTTPError]] = {
    401: WistiaAuthError,
    403: WistiaForbiddenError,
    404: WistiaNotFoundError,
    422: WistiaValidationError,
}


def http_error(status: int, path: str, error_message: str | None) -> WistiaHTTPError:
    """The typed error for a non-retryable status."""
    return _BY_STATUS.get(status, WistiaHTTPError)(status, path, error_message)
