"""Typed errors of the Wistia client, and the one rule of which errors no retry can fix.

Every client error carries the request path (with its query string) and, for HTTP errors, the
status and Wistia's own ``{"error": "..."}`` message. None of them ever carries the API token:
the token travels only in the ``Authorization`` header, which no error message includes.

:func:`is_permanent` classifies any error of a run (ours, or one that crossed a process
boundary as text: a Lambda ``FunctionError`` payload, a Spark job's last traceback line, a Glue
run's ``ErrorMessage``) as permanent or transient; the orchestrators fail a task at once on a
permanent one and keep retrying with backoff otherwise. Stdlib only (the Lambda imports it).
"""

from __future__ import annotations

import re


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


# Errors no retry can fix, by class name: names, not classes, because most of them are raised
# where this module cannot import them (Spark jobs, the Lambda, the state stores) or reach the
# orchestrator only as text. Transient errors (5xx, throttling, network, timeouts, an AWS API
# hiccup) are everything else and keep their retries with backoff.
PERMANENT_ERRORS: frozenset[str] = frozenset(
    {
        # Wistia said no: a wrong, missing or revoked token (401), a plan without the feature (403)
        "WistiaAuthError",
        "WistiaForbiddenError",
        # configuration: a missing or malformed setting, secret or job argument
        "ConfigError",
        "PiiKeyError",
        "JobArgumentError",
        # the run may not proceed: the day is held by another live run, a live run of another
        # day overlaps the window, the day has not ended, or this run lost its claim
        "DayAlreadyClaimed",
        "OverlappingRunLive",
        "DayNotFinished",
        "NotClaimedByRun",
        # the data: too many rejects, a bronze file that is not what its manifest says, a
        # schema the transforms or the checks cannot read (Spark's AnalysisException: a column
        # or table missing)
        "RejectShareExceeded",
        "BronzePartMismatch",
        "AnalysisException",
        "LocalSchemaMismatch",
        # write-audit-publish: checks that failed on the staged output fail again on the same
        # output; a stage that is missing, unfinished or re-staged by another run stays so
        "DataCheckFailed",
        "StageError",
    }
)
_PERMANENT_IN_TEXT = re.compile(r"\b(" + "|".join(sorted(PERMANENT_ERRORS)) + r")\b")
_MAX_CHAIN = 10


def permanent_name_in_text(text: str) -> str | None:
    """The permanent error an error's text names in its first line (its summary), or None."""
    match = _PERMANENT_IN_TEXT.search(text.partition("\n")[0])
    return match.group(1) if match else None


def permanent_error_name(exc: BaseException) -> str | None:
    """The permanent error behind ``exc`` (its class, a cause, or named in a message), or None.

    Follows ``__cause__``/``__context__`` and reads each message's first line, because a
    Lambda's or a Spark job's error reaches Airflow as the text of another exception.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(current))
        for cls in type(current).__mro__:
            if cls.__name__ in PERMANENT_ERRORS:
                return cls.__name__
        # The first line only: it is the error's summary (a Spark job's last exception line);
        # the rest may be a log tail that mentions errors the job recovered from.
        named = permanent_name_in_text(str(current))
        if named:
            return named
        # ``raise ... from None`` hides the context on purpose (e.g. a retry's last failure)
        hidden = current.__suppress_context__ and current.__cause__ is None
        current = current.__cause__ or (None if hidden else current.__context__)
    return None


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help (see :data:`PERMANENT_ERRORS`)."""
    return permanent_error_name(exc) is not None
