"""Shared list+watch caches ("informers") for triggers in one triggerer process.

Many readiness triggers wait on objects in the same namespace. Instead of one watch per
trigger, each event loop keeps one informer per (connection, namespace, resource): it
lists once, watches from the list's resourceVersion, resumes from the last seen
resourceVersion after a dropped stream (bookmarks keep it fresh), relists after a 410,
and backs off on transient errors. The informer stops when its last subscriber leaves.

Subscribers name the objects they care about by key (``hooks/index.py``: object name, pod
label value, event's involved object); an event wakes only the subscribers of its object's
keys, and the cache is indexed by the same keys, so neither a wake nor a read scans the
namespace. A burst of buffered watch events yields to the event loop every
``YIELD_EVERY`` events, so other triggers keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider.hooks.async_inference import (
    AsyncInferenceHook,
    WatchExpired,
    finish_shielded,
)
from airflow_provider.hooks.index import ANY, Key, keys_of
from airflow_provider.hooks.resources import Resource
from inference_core.errors import DeployError

log = logging.getLogger(__name__)

#: Buffered watch events handled before the informer lets other tasks run.
YIELD_EVERY = 64
#: Subscribers woken per loop iteration after a (re)list.
WAKE_BATCH = 64


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
    """One subscriber: the keys it is woken for and the event it is woken with."""

    informer: Informer
    wake: asyncio.Event
    keys: frozenset[Key] = frozenset()

    @property
    def cache(self) -> dict[str, dict[str, Any]]:
        """name → object for the informer's namespace and resource."""
        return self.informer.cache

    def interest(self, keys: Iterable[Key]) -> None:
        """Be woken for ``keys`` from now on (instead of the previous ones)."""
        self.informer.reindex(self, frozenset(keys))

    def lookup(self, key: Key) -> list[dict[str, Any]]:
        """The cached objects that have ``key``."""
        return self.informer.lookup(key)


@dataclass(eq=False)
class Informer:
    """list+watch of one resource in one namespace, kept in ``cache`` by object name."""

    hook: AsyncInferenceHook
    resource: Resource
    namespace: str | None
    stats: InformerStats
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscribers: set[Subscription] = field(default_factory=set)
    by_key: dict[Key, set[Subscription]] = field(default_factory=dict)
    names_by_key: dict[Key, set[str]] = field(default_factory=dict)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    error: DeployError | None = None
    last_error: DeployError | None = None
    task: asyncio.Task[None] | None = None
    watch_timeout_s: int = 300

    def start(self) -> None:
        """Start the list+watch loop in the running loop."""
        self.task = asyncio.get_running_loop().create_task(
            self._run(), name=f"informer {self.resource.kind} {self.namespace}"
        )

    # -- subscribers ---------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        """Register ``sub`` under its keys."""
        self.subscribers.add(sub)
        for key in sub.keys:
            self.by_key.setdefault(key, set()).add(sub)

    def discard(self, sub: Subscription) -> None:
        """Forget ``sub``."""
        self.subscribers.discard(sub)
        self._unindex(sub)

    def reindex(self, sub: Subscription, keys: frozenset[Key]) -> None:
        """Move ``sub`` to ``keys``."""
        if keys == sub.keys:
            return
        self._unindex(sub)
        sub.keys = keys
        if sub in self.subscribers:
            for key in keys:
                self.by_key.setdefault(key, set()).add(sub)

    def _unindex(self, sub: Subscription) -> None:
        for key in sub.keys:
            subs = self.by_key.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.by_key[key]

    def _notify(self, keys: Iterable[Key] | None) -> None:
        """Wake the subscribers of ``keys`` (and of ``ANY``); everyone when None."""
        if keys is None:
            for sub in self.subscribers:
                sub.wake.set()
            return
        for key in (*keys, ANY):
            for sub in self.by_key.get(key, ()):
                sub.wake.set()

    # -- cache ------------------------------------------------------------------------------

    def lookup(self, key: Key) -> list[dict[str, Any]]:
        """Cached objects that have ``key`` (all of them for ``ANY``)."""
        if key == ANY:
            return list(self.cache.values())
        return [self.cache[n] for n in self.names_by_key.get(key, ()) if n in self.cache]

    def _index(self, name: str, obj: dict[str, Any]) -> list[Key]:
        keys = list(keys_of(self.resource.kind, obj))
        for key in keys:
            self.names_by_key.setdefault(key, set()).add(name)
        return keys

    def _unindex_object(self, name: str, obj: dict[str, Any] | None) -> list[Key]:
        if obj is None:
            return []
        keys = list(keys_of(self.resource.kind, obj))
        for key in keys:
            names = self.names_by_key.get(key)
            if names is not None:
                names.discard(name)
                if not names:
                    del self.names_by_key[key]
        return keys

    async def _relist(self) -> str:
        items, rv = await self.hook.list_objects(self.resource, self.namespace)
        self.stats.lists += 1
        self.cache = {}
        self.names_by_key = {}
        for item in items:
            name = str(item["metadata"]["name"])
            self.cache[name] = item
            self._index(name, item)
        self.error = None
        self.synced.set()
        await self._wake_all()
        return rv

    async def _wake_all(self) -> None:
        """Wake every subscriber, ``WAKE_BATCH`` per loop iteration (each woken wait
        judges its object: thousands at once would hold the loop for one long pass)."""
        for i, sub in enumerate(list(self.subscribers)):
            sub.wake.set()
            if i % WAKE_BATCH == WAKE_BATCH - 1:
                await asyncio.sleep(0)

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
                    # aclosing: the stream (and its HTTP response) is released at once on
                    # any exit, not when the generator happens to be garbage-collected.
                    async with contextlib.aclosing(self.hook.watch_stream(
                        self.resource, self.namespace, rv, timeout_seconds=self.watch_timeout_s
                    )) as events:
                        handled = 0
                        async for event in events:
                            failures = 0
                            rv = self._apply_event(event) or rv
                            handled += 1
                            if handled % YIELD_EVERY == 0:
                                # a buffered burst is read without suspending: let the
                                # woken triggers (and everything else) run now and then
                                await asyncio.sleep(0)
                finally:
                    self.stats.open_watches -= 1
                self.stats.resumes += 1  # stream ended normally: resume from rv
            except WatchExpired:
                self.stats.relists_after_410 += 1
                rv = ""
            except asyncio.CancelledError:
                raise
            except DeployError as e:  # API errors, and a configuration that cannot load
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
        keys = self._unindex_object(name, self.cache.pop(name, None))
        if kind != "DELETED":
            self.cache[name] = obj
            keys += self._index(name, obj)
        self._notify(set(keys))
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
    keys: Iterable[Key], wake: asyncio.Event,
) -> Subscription:
    """Join (or start) the informer for (conn, namespace, resource); ``wake`` is set on
    (re)lists, fatal errors and events about objects with one of ``keys``."""
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
    sub = Subscription(informer, wake, frozenset(keys))
    informer.add(sub)
    return sub


async def unsubscribe(sub: Subscription) -> None:
    """Leave; the last subscriber stops the informer (and the hook when no informer uses it).

    The clean-up runs to its end even if the caller is cancelled meanwhile (the
    cancellation is re-raised afterwards), so a cancelled trigger leaves no open
    watch and no open HTTP session behind.
    """
    await unsubscribe_all([sub])


async def unsubscribe_all(subs: Iterable[Subscription]) -> None:
    """:func:`unsubscribe` each subscription (shielded from cancellation as a whole)."""
    subs = list(subs)
    if subs:
        await finish_shielded(_leave(subs, _state()))


async def _leave(subs: list[Subscription], state: _LoopState) -> None:
    stopped: list[Informer] = []
    for sub in subs:
        informer = sub.informer
        informer.discard(sub)
        if informer.subscribers or informer in stopped:
            continue
        for key, inf in list(state.informers.items()):
            if inf is informer:
                del state.informers[key]
        stopped.append(informer)
    await _stop(stopped, state)


async def _stop(informers: list[Informer], state: _LoopState) -> None:
    tasks = [i.task for i in informers if i.task is not None]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)  # each ends, cancelled or failed
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s ended with %r", task.get_name(), task.exception())
    in_use = {id(inf.hook) for inf in state.informers.values()}
    for informer in informers:
        hook = informer.hook
        if id(hook) in in_use:
            continue
        for conn, h in list(state.hooks.items()):
            if h is hook:
                del state.hooks[conn]
        await hook.close()


async def shutdown() -> None:
    """Stop every informer of the running loop and close every session (idempotent).

    Triggers unsubscribe on their own; this is the backstop for an event loop that
    ends while subscriptions are still open (tests, embedding code).
    """
    state = _state()
    informers = list(state.informers.values())
    state.informers.clear()
    for informer in informers:
        informer.subscribers.clear()
        informer.by_key.clear()
    await finish_shielded(_stop(informers, state))
    for hook in list(state.hooks.values()):
        await hook.close()
    state.hooks.clear()


def open_hooks() -> list[AsyncInferenceHook]:
    """Hooks of the running loop that still hold an HTTP session (for tests and checks)."""
    return [h for h in _state().hooks.values() if h.is_open]
