"""In-process LRU cache with a time-to-live, for Hub lookups.

Keys are built by :func:`cache_key` from (endpoint, model id, revision, token fingerprint); the
token itself never enters a key, only a truncated SHA-256 of it. Entries hold either a value or a
remembered *permanent* error (not found, access denied, unsupported), so a DAG with many specs of
the same broken model asks the Hub once. Transient errors (network, rate limit) are not cached.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_TTL_SECONDS = 600.0
DEFAULT_MAX_ENTRIES = 256


def token_fingerprint(token: str | None) -> str:
    """A non-reversible short id of a token for cache keys ("anonymous" without a token)."""
    if not token:
        return "anonymous"
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def cache_key(
    endpoint: str, model_id: str, revision: str | None, token: str | None
) -> tuple[str, ...]:
    """The cache key of one Hub lookup; contains no secret."""
    return (endpoint.rstrip("/"), model_id, revision or "main", token_fingerprint(token))


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V | None
    error: Exception | None
    expires: float


class TtlLruCache(Generic[V]):
    """A thread-safe LRU mapping whose entries expire ``ttl`` seconds after insertion."""

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._data: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """The cached value; re-raises a cached permanent error; None on miss or expiry."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry.expires <= self._clock():
                if entry is not None:
                    del self._data[key]
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
        if entry.error is not None:
            raise _fresh_copy(entry.error)
        return entry.value

    def put(self, key: Hashable, value: V) -> None:
        """Store a value."""
        self._store(key, _Entry(value, None, self._clock() + self.ttl))

    def put_error(self, key: Hashable, error: Exception) -> None:
        """Remember a permanent error for this key (re-raised by :meth:`get`)."""
        self._store(key, _Entry(None, error, self._clock() + self.ttl))

    def _store(self, key: Hashable, entry: _Entry[V]) -> None:
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry and reset the hit/miss counters."""
        with self._lock:
            self._data.clear()
            self.hits = 0
            self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


def _fresh_copy(error: Exception) -> Exception:
    """A new exception of the same type and message (a raised instance keeps its traceback)."""
    try:
        copy = type(error)(*error.args)
    except Exception:  # pragma: no cover - exotic constructors
        return error
    copy.__cause__ = error.__cause__
    return copy
