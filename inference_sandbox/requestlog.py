"""The log of API requests a sandbox has seen, for asserting on the calls clients made."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request. Unpacks as ``verb, path, query, body``.

    ``verb`` is the Kubernetes verb (get, list, watch, create, update, patch, delete,
    deletecollection); ``content_type`` tells apply (``application/apply-patch+yaml``) from
    other patches; ``status`` is the HTTP status answered.
    """

    verb: str
    path: str
    query: dict[str, str]
    body: Any
    method: str = "GET"
    content_type: str = ""
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    status: int = 0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.verb, self.path, self.query, self.body))

    @property
    def is_apply(self) -> bool:
        """A server-side apply patch."""
        return self.verb == "patch" and self.content_type.startswith("application/apply-patch")


class RequestLog:
    """Bounded, thread-safe list of :class:`RequestRecord` (oldest dropped first)."""

    def __init__(self, limit: int = 10000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._by_verb: Counter[str] = Counter()

    @property
    def total(self) -> int:
        """Requests seen since start (not bounded by the limit, not reset by ``clear``)."""
        with self._lock:
            return sum(self._by_verb.values())

    def counts(self) -> dict[str, int]:
        """Requests seen since start by Kubernetes verb (like :attr:`total`, never trimmed)."""
        with self._lock:
            return dict(self._by_verb)

    def append(self, record: RequestRecord) -> None:
        """Add one record."""
        with self._lock:
            self._records.append(record)
            self._by_verb[record.verb] += 1

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._records))

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return list(self._records)[index]

    def find(self, verb: str | None = None, *, resource: str | None = None,
             name: str | None = None, namespace: str | None = None,
             path: str | None = None) -> list[RequestRecord]:
        """Records matching every given criterion."""
        out = []
        for record in self:
            if verb and record.verb != verb:
                continue
            if resource and record.resource != resource:
                continue
            if name and record.name != name:
                continue
            if namespace and record.namespace != namespace:
                continue
            if path and path not in record.path:
                continue
            out.append(record)
        return out
