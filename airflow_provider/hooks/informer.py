"""Shared list+watch caches ("informers") for triggers in one triggerer process.

Many readiness triggers wait on objects in the same namespace. Instead of one watch per
trigger, each event loop keeps one informer per (connection, namespace, resource): it
lists once, watches from the list's resourceVersion, resumes from the last seen
resourceVersion after a dropped stream (bookmarks keep it fresh), relists after a 410,
and backs off on transient errors. Subscribers read the cache and are woken only for
objects they say they care about. The informer stops when its last subscriber leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider.hooks.async_inference import AsyncInferenceHook, WatchExpired
from airflow_provider.hooks.resources import Resource
from inference_core.errors import KubeApiError

log = logging.getLogger(__name__)

Interest = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class ConnectionKey:
    """What identifies a cluster connection (all primitives)."""

    conn_id: str
    cluster_context: str | None = None
    config_file: str | None = None
    in_cluster: bool | None = None

    def hook(self) -> AsyncInferenceHook:
        """A fresh async hook for this connection."""
        return AsyncInferenceHook(
            self.conn_id, cluster_context=self.cluster_context,
            config_file=self.config_file, in_cluster=self.in_cluster,
        )


@dataclass
class InformerStats:
    """Counters for benchmarks and tests (per event loop)."""

    lists: int = 0
    watch_requests: int = 0
    open_watches: int = 0
    events: int = 0
    relists_after_410: int = 0
    resumes: int = 0


@dataclass(eq=False)
class Subscription:
    """One subscriber's view: its interest filter and the event it is woken with."""

    informer: Informer
    interested: Interest
    wake: asyncio.Event

    @property
    def cache(self) -> dict[str, dict[str, Any]]:
        """name → object for the informer's namespace and resource."""
        return self.informer.cache


@dataclass(eq=False)
class Informer:
    """list+watch of one resource in one namespace, kept in ``cache`` by object name."""

    hook: AsyncInferenceHook
    resource: Resource
    namespace: str | None
    stats: InformerStats
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscribers: set[Subscription] = field(default_factory=set)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    error: KubeApiError | None = None
    last_error: KubeApiError | None = None
    task: asyncio.Task[None] | None = None
    watch_timeout_s: int = 300

    def start(self) -> None:
        """Start the list+watch loop in the running loop."""
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"informer {self.resource.kind} {self.namespace}"
        )

    def _notify(self, obj: dict[str, Any] | None) -> None:
        for sub in list(self.subscribers):
            if obj is None or sub.interested(obj):
                sub.wake.set()

    async def _relist(self) -> str:
        items, rv = await self.hook.list_objects(self.resource, self.namespace)
        self.stats.lists += 1
        self.cache = {str(i["metadata"]["name"]): i for i in items}
        self.error = None
        self.synced.set()
        self._notify(None)
        return rv

    async def _run(self) -> None:
        rv = ""
        failures = 0
        while True:
            try:
                if not rv:
                    rv = await self._relist()
                self.stats.watch_requests += 1
                self.stats.open_watches += 1
                try:
                    async for event in self.hook.watch(
                        self.resource, self.namespace, rv, timeout_seconds=self.watch_timeout_s
                    ):
                        failures = 0
                        rv = self._apply_event(event) or rv
                finally:
                    self.stats.open_watches -= 1
                self.stats.resumes += 1  # stream ended normally: resume from rv
            except WatchExpired:
                self.stats.relists_after_410 += 1
                rv = ""
            except asyncio.CancelledError:
                raise
            except KubeApiError as e:
                failures += 1
                self.last_error = e
                if not e.transient:
                    self.error = e
                    self.synced.set()
                    self._notify(None)
                log.warning("informer %s %s: %s (failure %d)", self.resource.kind,
                            self.namespace, e, failures)
                await asyncio.sleep(min(5.0, 0.1 * 2 ** min(failures, 6)) * random.uniform(0.5, 1))

    def _apply_event(self, event: dict[str, Any]) -> str | None:
        obj = event.get("object") or {}
        meta = obj.get("metadata") or {}
        kind = event.get("type")
        if kind == "BOOKMARK":
            return meta.get("resourceVersion")
        self.stats.events += 1
        name = str(meta.get("name"))
        if kind == "DELETED":
            self.cache.pop(name, None)
        else:
            self.cache[name] = obj
        self._notify(obj)
        return meta.get("resourceVersion")


_Key = tuple[ConnectionKey, str | None, str, str]


class _LoopState:
    def __init__(self) -> None:
        self.hooks: dict[ConnectionKey, AsyncInferenceHook] = {}
        self.informers: dict[_Key, Informer] = {}
        self.stats = InformerStats()


_STATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
    weakref.WeakKeyDictionary()
)


def _state() -> _LoopState:
    loop = asyncio.get_running_loop()
    state = _STATES.get(loop)
    if state is None:
        state = _STATES[loop] = _LoopState()
    return state


def stats() -> InformerStats:
    """Counters of the running loop's informers."""
    return _state().stats


def subscribe(
    conn: ConnectionKey, resource: Resource, namespace: str | None,
    interested: Interest, wake: asyncio.Event,
) -> Subscription:
    """Join (or start) the informer for (conn, namespace, resource)."""
    state = _state()
    key: _Key = (conn, namespace, resource.api_version, resource.kind)
    informer = state.informers.get(key)
    if informer is None:
        hook = state.hooks.get(conn)
        if hook is None:
            hook = state.hooks[conn] = conn.hook()
        informer = Informer(hook, resource, namespace, state.stats)
        state.informers[key] = informer
        informer.start()
    sub = Subscription(informer, interested, wake)
    informer.subscribers.add(sub)
    return sub


async def unsubscribe(sub: Subscription) -> None:
    """Leave; the last subscriber stops the informer (and the hook when no informer uses it)."""
    informer = sub.informer
    informer.subscribers.discard(sub)
    if informer.subscribers:
        return
    state = _state()
    for key, inf in list(state.informers.items()):
        if inf is informer:
            del state.informers[key]
    if informer.task is not None:
        informer.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # it ends either way
            await informer.task
    if not any(inf.hook is informer.hook for inf in state.informers.values()):
        for conn, hook in list(state.hooks.items()):
            if hook is informer.hook:
                del state.hooks[conn]
                await hook.close()
