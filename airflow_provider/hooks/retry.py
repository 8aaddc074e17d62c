"""The hooks' retry policy and error mapping: the core's, in one place for every client.

Retried: HTTP 429 (waiting what ``Retry-After`` asks, capped), 5xx and failures with no
answer; nothing else. See :mod:`inference_core.rollout.retry`; this module re-exports what
the sync and async hooks use.
"""

from __future__ import annotations

from inference_core.rollout.retry import (
    MAX_RETRY_AFTER_S,
    ApiStatusError,
    RetryPolicy,
    connection_error,
    is_transient,
    parse_retry_after,
    status_error,
)

__all__ = ["MAX_RETRY_AFTER_S", "ApiStatusError", "RetryPolicy", "connection_error",
           "is_transient", "parse_retry_after", "status_error"]
