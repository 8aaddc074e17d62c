"""One retry policy and one error mapping for the sync and the async hook.

Retried: HTTP 429 (waiting what ``Retry-After`` asks, capped), 5xx, and connection
failures (reset, refused, timed out). Nothing else: a 4xx other than 429 is the
caller's mistake or the cluster's answer and fails at once. The budget is bounded in
attempts and in seconds. After it, a ``KubeApiError`` carries the last status.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tenacity

from inference_core.errors import KubeApiError

log = logging.getLogger(__name__)

#: Longest wait honoured from a ``Retry-After`` header (seconds).
MAX_RETRY_AFTER_S = 30.0


class ApiStatusError(KubeApiError):
    """A ``KubeApiError`` with the wait the server asked for (``Retry-After``), if any."""

    def __init__(
        self, message: str, *, status: int | None, reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the hook retries transient failures.

    ``attempts`` counts the first try; ``budget_s`` bounds the total time spent
    retrying; waits grow from ``base_wait_s`` up to ``max_wait_s`` with jitter.
    """

    attempts: int = 6
    budget_s: float = 60.0
    base_wait_s: float = 0.2
    max_wait_s: float = 8.0

    def tenacity_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying``."""
        return {
            "retry": tenacity.retry_if_exception(is_transient),
            "stop": tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_after_delay(self.budget_s),
            "wait": self._wait,
            "reraise": True,
            "before_sleep": _log_retry,
        }

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return min(float(after), MAX_RETRY_AFTER_S)
        backoff = float(self.base_wait_s * (2 ** (state.attempt_number - 1)))
        return float(min(self.max_wait_s, backoff) * (0.5 + random.random() / 2))


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying (429, 5xx, connection failures)."""
    return isinstance(exc, KubeApiError) and exc.transient


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "Kubernetes API call failed transiently (attempt %d): %s; retrying",
        state.attempt_number, exc,
    )


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form only), else None."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def status_error(
    *, status: int, verb: str, path: str, body: str | bytes | None,
    headers: Mapping[str, str] | None, redact: bool,
) -> ApiStatusError:
    """Turn an HTTP error answer into an ``ApiStatusError`` naming verb, path and reason.

    ``redact`` drops the server's message (used for Secrets, whose values a validation
    message could echo).
    """
    reason, detail = _status_fields(body)
    text = f"{verb} {path} answered {status}"
    if reason:
        text += f" {reason}"
    if detail and not redact:
        text += f": {detail[:400]}"
    return ApiStatusError(
        text, status=status, reason=reason, retry_after=parse_retry_after(headers)
    )


def connection_error(*, verb: str, path: str, exc: BaseException) -> ApiStatusError:
    """A failure with no HTTP answer (reset, refused, timeout): always transient."""
    return ApiStatusError(
        f"{verb} {path} failed without an answer: {type(exc).__name__}: {str(exc)[:200]}",
        status=None, reason="ConnectionError",
    )


def _status_fields(body: str | bytes | None) -> tuple[str | None, str | None]:
    import json

    if not body:
        return None, None
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    reason = data.get("reason")
    message = data.get("message")
    return (str(reason) if reason else None, str(message) if message else None)
