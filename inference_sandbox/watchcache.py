"""The watch cache: bounded per-resource event history, compaction (410) and subscribers."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inference_sandbox.apierrors import gone
from inference_sandbox.objects import meta
from inference_sandbox.resources import ResourceType
from inference_sandbox.selectors import Predicate

#: A watcher whose client does not keep up is closed once this many events are queued.
WATCH_QUEUE_LIMIT = 20000


@dataclass
class WatchEvent:
    """One change, as delivered to watchers (``obj`` is a shared snapshot: do not mutate)."""

    rv: int
    type: str
    rt: ResourceType
    obj: dict[str, Any]
    old: dict[str, Any] | None = None
    _encoded: dict[tuple[str, str], bytes] = field(default_factory=dict, repr=False)

    def encode(self, version: str, etype: str | None = None) -> bytes:
        """``{"type": ..., "object": ...}\\n`` for the given served version (cached)."""
        etype = etype or self.type
        key = (version, etype)
        cached = self._encoded.get(key)
        if cached is None:
            obj = self.obj
            if version != self.rt.version:
                obj = {**obj, "apiVersion": self.rt.api_version_for(version)}
            cached = json.dumps({"type": etype, "object": obj},
                                separators=(",", ":")).encode() + b"\n"
            self._encoded[key] = cached
        return cached


@dataclass(eq=False)
class Watcher:
    """A subscription of one watch request."""

    rt: ResourceType
    namespace: str | None
    labels: Predicate
    fields: Predicate
    queue: asyncio.Queue[WatchEvent | None]
    loop: asyncio.AbstractEventLoop
    closed: bool = False

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Namespace + selectors."""
        if self.namespace and meta(obj).get("namespace") != self.namespace:
            return False
        return self.labels(meta(obj).get("labels") or {}) and self.fields(obj)


class WatchCache:
    """History ring per resource type plus the open watchers of each type."""

    def __init__(self, types: list[ResourceType], *, history: int) -> None:
        self._history: dict[ResourceType, deque[WatchEvent]] = {
            rt: deque(maxlen=max(history, 1)) for rt in types}
        self._compacted: dict[ResourceType, int] = dict.fromkeys(types, 0)
        self._watchers: dict[ResourceType, set[Watcher]] = {rt: set() for rt in types}

    def compacted(self, rt: ResourceType) -> int:
        """Events up to this resourceVersion are gone for ``rt``."""
        return self._compacted[rt]

    def record(self, event: WatchEvent) -> None:
        """Append to the ring; the oldest event falls off (and becomes the compaction mark)."""
        history = self._history[event.rt]
        if history.maxlen is not None and len(history) == history.maxlen:
            self._compacted[event.rt] = history[0].rv
        history.append(event)

    def compact(self, rv: int) -> None:
        """Forget every recorded event (watches from older versions get 410)."""
        for rt, history in self._history.items():
            history.clear()
            self._compacted[rt] = rv

    def deliver(self, event: WatchEvent) -> None:
        """Queue ``event`` for every matching watcher (selector transitions become
        ADDED/DELETED, as the API server's watch cache does)."""
        for watcher in list(self._watchers[event.rt]):
            if watcher.closed:
                continue
            out = _as_seen_by(watcher, event)
            if out is None:
                continue
            if watcher.queue.qsize() >= WATCH_QUEUE_LIMIT:
                watcher.closed = True
                watcher.queue.put_nowait(None)
                continue
            watcher.queue.put_nowait(out)

    def open(self, rt: ResourceType, namespace: str | None, labels: Predicate, fields: Predicate,
             since: int | None, current: list[dict[str, Any]], loop: asyncio.AbstractEventLoop,
             latest: int) -> tuple[Watcher, list[WatchEvent]]:
        """Subscribe. ``since=None`` → synthetic ADDED for ``current``; ``since=N`` → every
        recorded event after N, or 410 ``Expired`` when N is older than the ring."""
        watcher = Watcher(rt, namespace, labels, fields, asyncio.Queue(), loop)
        if since is None:
            backlog = [WatchEvent(int(o["metadata"]["resourceVersion"]), "ADDED", rt, o)
                       for o in current]
        else:
            if since < self._compacted[rt]:
                raise gone(f"too old resource version: {since} ({self._compacted[rt] + 1})")
            backlog = [out for event in self._history[rt] if event.rv > since
                       and (out := _as_seen_by(watcher, event)) is not None]
        self._watchers[rt].add(watcher)
        return watcher, backlog

    def close(self, watcher: Watcher) -> None:
        """Unsubscribe."""
        watcher.closed = True
        self._watchers[watcher.rt].discard(watcher)

    def count(self) -> int:
        """Open subscriptions."""
        return sum(len(w) for w in self._watchers.values())

    def count_by(self) -> dict[tuple[str, str], int]:
        """Open subscriptions by (``plural.group``, namespace); namespace ``""`` = all."""
        out: dict[tuple[str, str], int] = {}
        for rt, watchers in self._watchers.items():
            for watcher in watchers:
                if not watcher.closed:
                    key = (rt.qualified, watcher.namespace or "")
                    out[key] = out.get(key, 0) + 1
        return out

    def close_all(self) -> None:
        """End every stream (thread-safe: wakes each watcher on its own loop)."""
        for watchers in self._watchers.values():
            for watcher in watchers:
                if not watcher.closed:
                    watcher.closed = True
                    watcher.loop.call_soon_threadsafe(watcher.queue.put_nowait, None)


def _as_seen_by(watcher: Watcher, event: WatchEvent) -> WatchEvent | None:
    now_match = watcher.matches(event.obj)
    was_match = event.old is not None and watcher.matches(event.old)
    if event.type == "MODIFIED" and now_match != was_match:
        return WatchEvent(event.rv, "ADDED" if now_match else "DELETED", event.rt, event.obj,
                          event.old)
    return event if now_match else None
