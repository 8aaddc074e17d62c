"""One retry policy and one error mapping for every Kubernetes client of the core.

Retried: HTTP 429 (waiting what ``Retry-After`` asks, capped), 5xx, and failures with
no answer (reset, refused, timed out). Nothing else: any other 4xx is the caller's
mistake or the cluster's answer and fails at once. The budget is bounded in attempts
and in seconds; after it a ``KubeApiError`` carries the last status. The HTTP library's
own retries must be off (the clients here turn them off), so one attempt is one request.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tenacity

from inference_core.errors import KubeApiError, ObjectRef

log = logging.getLogger(__name__)

#: Longest wait honoured from a ``Retry-After`` header (seconds).
MAX_RETRY_AFTER_S = 30.0
_CONFLICT_MANAGER = re.compile(r'conflict with "((?:[^"\\]|\\.)*)"')


class ApiStatusError(KubeApiError):
    """A ``KubeApiError`` with the wait the server asked for (``Retry-After``), if any."""

    def __init__(
        self, message: str, *, status: int | None, reason: str | None = None,
        retry_after: float | None = None, ref: ObjectRef | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason, ref=ref)
        self.retry_after = retry_after
        self.body: Mapping[str, Any] = body or {}


class FieldConflict(KubeApiError):
    """Server-side apply refused: other field managers own fields we tried to set.

    ``conflicts`` lists ``(manager, field path)`` pairs; ``managers`` the distinct managers.
    The message names them and how to take the fields over.
    """

    def __init__(self, message: str, *, conflicts: list[tuple[str, str]],
                 ref: ObjectRef | None = None) -> None:
        self.conflicts = conflicts
        self.managers = sorted({m for m, _ in conflicts})
        super().__init__(message, status=409, reason="Conflict", ref=ref)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a client retries transient failures.

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
            "wait": self.wait_s,
            "reraise": True,
            "before_sleep": _log_retry,
        }

    def wait_s(self, state: tenacity.RetryCallState) -> float:
        """Seconds before the next attempt: ``Retry-After`` if given, else backoff."""
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return min(float(after), MAX_RETRY_AFTER_S)
        backoff = self.base_wait_s * (2 ** (state.attempt_number - 1))
        return float(min(self.max_wait_s, backoff) * (0.5 + random.random() / 2))


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying (429, 5xx, no answer)."""
    return isinstance(exc, KubeApiError) and exc.transient


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("Kubernetes API call failed transiently (attempt %d): %s; retrying",
                state.attempt_number, exc)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form only), else None."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def decode_status(body: str | bytes | None) -> dict[str, Any]:
    """The ``Status`` object of an error answer ({} when the body is not one)."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def status_error(
    *, status: int, verb: str, path: str, body: str | bytes | None,
    headers: Mapping[str, str] | None, redact: bool,
) -> ApiStatusError:
    """An HTTP error answer as an ``ApiStatusError`` naming verb, path and reason.

    ``redact`` drops the server's message (Secrets: a validation message could echo data).
    """
    data = decode_status(body)
    reason = str(data["reason"]) if data.get("reason") else None
    detail = str(data["message"]) if data.get("message") else None
    text = f"{verb} {path} answered {status}"
    if reason:
        text += f" {reason}"
    if detail and not redact:
        text += f": {detail[:400]}"
    return ApiStatusError(text, status=status, reason=reason,
                          retry_after=parse_retry_after(headers), body=data)


def connection_error(*, verb: str, path: str, exc: BaseException) -> ApiStatusError:
    """A failure with no HTTP answer (reset, refused, timeout): always transient."""
    return ApiStatusError(
        f"{verb} {path} failed without an answer (API server unreachable?): "
        f"{type(exc).__name__}: {str(exc)[:200]}",
        status=None, reason="ConnectionError",
    )


def is_field_conflict(status: Mapping[str, Any]) -> bool:
    """True for a server-side apply conflict (not a resourceVersion precondition)."""
    causes = (status.get("details") or {}).get("causes") or []
    if any(isinstance(c, Mapping) and c.get("reason") == "FieldManagerConflict"
           for c in causes):
        return True
    return str(status.get("message") or "").startswith("Apply failed")


def conflicts_of(status: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(manager, field)`` pairs of a server-side apply 409 ``Status``."""
    out: list[tuple[str, str]] = []
    causes = (status.get("details") or {}).get("causes") or []
    for cause in causes:
        if not isinstance(cause, Mapping):
            continue
        match = _CONFLICT_MANAGER.search(str(cause.get("message") or ""))
        manager = match.group(1) if match else "another manager"
        out.append((manager, str(cause.get("field") or "?")))
    if not out:
        for match in _CONFLICT_MANAGER.finditer(str(status.get("message") or "")):
            out.append((match.group(1), "?"))
    return out


def conflict_error(status: Mapping[str, Any], *, what: str, manager: str,
                   ref: ObjectRef | None = None) -> FieldConflict:
    """A ``FieldConflict`` whose message names the managers, the fields and the way out."""
    pairs = conflicts_of(status)
    by_manager: dict[str, list[str]] = {}
    for m, f in pairs:
        by_manager.setdefault(m, []).append(f)
    owners = "; ".join(f"{m!r} owns {', '.join(fs)}" for m, fs in by_manager.items()) \
        or "another field manager owns some of the fields"
    message = (
        f"apply of {what} as field manager {manager!r} refused: {owners}. Nothing was "
        "changed. To take these fields over, re-run with --force-conflicts (CLI) or "
        "force=True (Python/Airflow); otherwise change them through their owner (for a "
        "Pulumi stack: `pulumi up`)"
    )
    return FieldConflict(message, conflicts=pairs, ref=ref)
