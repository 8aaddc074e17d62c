"""Helpers for tests against a sandbox: bounded waiting, clients, condition lookups."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0


class WaitTimeout(AssertionError):
    """A bounded wait ran out; carries the last value seen."""

    def __init__(self, message: str, last: Any = None) -> None:
        super().__init__(message)
        self.last = last


def wait_for(probe: Callable[[], T | None], *, timeout: float = DEFAULT_TIMEOUT,
             interval: float = 0.02, what: str = "condition") -> T:
    """Call ``probe`` until it returns something truthy; bounded in time and calls."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    max_calls = int(timeout / interval) + 2
    for _ in range(max_calls):
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}; last value: {last!r}",
                      last)


def condition(obj: Mapping[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    """``status.conditions[type == ctype]`` of a dict object."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return dict(cond)
    return None


def condition_status(obj: Mapping[str, Any] | None, ctype: str) -> str | None:
    """Status string of one condition, or None."""
    cond = condition(obj, ctype)
    return cond.get("status") if cond else None


def api_client(kubeconfig_path: str) -> Any:
    """A ``kubernetes.client.ApiClient`` for the kubeconfig (sync client)."""
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig_path)
