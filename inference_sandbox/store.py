"""In-memory object store: resourceVersion, generation, owner GC, bounded watch history.

All mutations run on the server's event loop thread; reads are safe from any thread.
Objects are stored as immutable snapshots (never mutated in place) and copied on read.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from inference_sandbox.apierrors import already_exists, bad_request, gone, not_found
from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.deletion import DeletionMixin
from inference_sandbox.objects import clone, meta
from inference_sandbox.resources import TABLE, ResourceTable, ResourceType
from inference_sandbox.selectors import Predicate
from inference_sandbox.watchcache import WatchCache, Watcher, WatchEvent

ObjKey = tuple[str, str]  # (namespace or "", name)
Objects = list[dict[str, Any]]
Page = tuple[Objects, int, "str | None", "int | None"]
Backlog = list[WatchEvent]



def _spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store(DeletionMixin):
    """Objects of every served kind, with the API server's bookkeeping."""

    def __init__(self, clock: SimClock, *, history: int = 2000, max_events: int = 1000,
                 table: ResourceTable = TABLE) -> None:
        self.clock = clock
        self.table = table
        self._lock = threading.RLock()
        self._rv = 1
        self._objects: dict[ResourceType, dict[ObjKey, dict[str, Any]]] = {
            rt: {} for rt in table.resources if rt.stored
        }
        self.watches = WatchCache(list(self._objects), history=history)
        self._listeners: list[Callable[[WatchEvent], None]] = []
        self._dependents: dict[str, set[tuple[ResourceType, ObjKey]]] = {}
        self._by_uid: dict[str, tuple[ResourceType, ObjKey]] = {}
        self._terminating: set[str] = set()
        self._events: OrderedDict[ObjKey, None] = OrderedDict()
        self._max_events = max_events
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None

    # ------------------------------------------------------------------ reads
    @property
    def resource_version(self) -> int:
        """The latest resourceVersion handed out."""
        return self._rv

    def rt(self, api_version: str, kind: str) -> ResourceType:
        """Resource type for apiVersion/kind (KeyError if not served)."""
        return self.table.get(api_version, kind)

    def get(self, rt: ResourceType | tuple[str, str], namespace: str | None, name: str, *,
            copy: bool = True) -> dict[str, Any] | None:
        """One object (a copy), or None."""
        rt = self._resolve(rt)
        with self._lock:
            obj = self._objects[rt].get((namespace or "", name))
            if obj is None:
                return None
            return clone(obj) if copy else obj

    def list(self, rt: ResourceType | tuple[str, str], namespace: str | None = None, *,
             labels: Predicate | None = None, fields: Predicate | None = None,
             copy: bool = True) -> Objects:
        """Objects sorted by namespace/name, filtered by namespace and selectors."""
        rt = self._resolve(rt)
        with self._lock:
            items = sorted(self._objects[rt].items())
        out = []
        for (ns, _), obj in items:
            if namespace and ns != namespace:
                continue
            if labels and not labels(meta(obj).get("labels") or {}):
                continue
            if fields and not fields(obj):
                continue
            out.append(clone(obj) if copy else obj)
        return out

    def page(self, rt: ResourceType, namespace: str | None, *, labels: Predicate,
             fields: Predicate, limit: int | None, token: str | None
             ) -> Page:
        """A list page: (items, list resourceVersion, continue token, remaining count)."""
        start: Any = None
        list_rv = self._rv
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                start, list_rv = decoded["start"], int(decoded["rv"])
            except (ValueError, KeyError, TypeError) as e:
                raise bad_request(f"continue key is not valid: {e}") from e
            if list_rv <= self.watches.compacted(rt):
                raise gone("The provided continue parameter is too old to display a consistent "
                           "list result. You can start a new list without the continue "
                           "parameter.")
        items = self.list(rt, namespace, labels=labels, fields=fields, copy=False)
        if start is not None:
            items = [o for o in items
                     if [meta(o).get("namespace", ""), meta(o)["name"]] > start]
        next_token = None
        remaining = None
        if limit and len(items) > limit:
            last = items[limit - 1]
            remaining = len(items) - limit
            items = items[:limit]
            next_token = base64.urlsafe_b64encode(json.dumps(
                {"rv": list_rv, "start": [meta(last).get("namespace", ""), meta(last)["name"]]}
            ).encode()).decode()
        return [clone(o) for o in items], list_rv, next_token, remaining

    def namespace_exists(self, namespace: str) -> bool:
        """Whether a Namespace object exists (terminating or not)."""
        ns = self.get(("v1", "Namespace"), None, namespace, copy=False)
        return ns is not None

    def namespace_terminating(self, namespace: str) -> bool:
        """Whether the Namespace is being deleted (no new content accepted)."""
        return namespace in self._terminating

    def _resolve(self, rt: ResourceType | tuple[str, str]) -> ResourceType:
        if isinstance(rt, ResourceType):
            return rt
        return self.table.get(*rt)

    # ------------------------------------------------------------------ writes
    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def create(self, rt: ResourceType | tuple[str, str], obj: Mapping[str, Any]
               ) -> dict[str, Any]:
        """Store a new object; fills uid, resourceVersion, generation, creationTimestamp."""
        rt = self._resolve(rt)
        new = clone(dict(obj))
        md = new.setdefault("metadata", {})
        ns = md.get("namespace", "") if rt.namespaced else ""
        if not rt.namespaced:
            md.pop("namespace", None)
        name = md.get("name")
        if not name:
            raise bad_request("resource name may not be empty")
        with self._lock:
            key = (ns, name)
            if key in self._objects[rt]:
                raise already_exists(rt, name)
            new["apiVersion"] = rt.api_version
            new["kind"] = rt.kind
            md.setdefault("uid", str(uuid.uuid4()))
            md["creationTimestamp"] = rfc3339(self.clock.wall())
            md["generation"] = 1
            md.pop("deletionTimestamp", None)
            md["resourceVersion"] = str(self._next_rv())
            self._objects[rt][key] = new
            self._by_uid[md["uid"]] = (rt, key)
            self._index_owners(rt, key, None, new)
            event = WatchEvent(int(md["resourceVersion"]), "ADDED", rt, new)
            self._record(event)
            if rt.kind == "Event" and not rt.group:
                self._events[key] = None
                self._trim_events()
        self._dispatch(event)
        return clone(new)

    def replace(self, rt: ResourceType | tuple[str, str], obj: Mapping[str, Any]
                ) -> dict[str, Any]:
        """Store a new version of an existing object (no admission, no concurrency check).

        ``metadata.generation`` is bumped when anything outside metadata/status changed;
        an object being deleted whose finalizers are gone is removed.
        """
        rt = self._resolve(rt)
        new = clone(dict(obj))
        md = new.setdefault("metadata", {})
        ns = md.get("namespace", "") if rt.namespaced else ""
        key = (ns, md.get("name", ""))
        with self._lock:
            old = self._objects[rt].get(key)
            if old is None:
                raise not_found(rt, key[1])
            old_md = old["metadata"]
            new["apiVersion"] = rt.api_version
            new["kind"] = rt.kind
            for fixed in ("uid", "creationTimestamp", "deletionTimestamp"):
                if fixed in old_md:
                    md[fixed] = old_md[fixed]
                else:
                    md.pop(fixed, None)
            generation = int(old_md.get("generation", 1))
            if _spec_part(old) != _spec_part(new):
                generation += 1
            md["generation"] = generation
            if old_md.get("deletionTimestamp") and not md.get("finalizers") and \
                    not self._grace_pending(rt, old):
                md["resourceVersion"] = old_md["resourceVersion"]
                return self._remove(rt, key, old, "Background")
            md["resourceVersion"] = str(self._next_rv())
            self._objects[rt][key] = new
            self._index_owners(rt, key, old, new)
            event = WatchEvent(int(md["resourceVersion"]), "MODIFIED", rt, new, old)
            self._record(event)
        self._dispatch(event)
        return clone(new)

    def _index_owners(self, rt: ResourceType, key: ObjKey, old: Mapping[str, Any] | None,
                      new: Mapping[str, Any] | None) -> None:
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            for ref in meta(obj).get("ownerReferences") or []:
                uid = ref.get("uid")
                if not uid:
                    continue
                if add:
                    self._dependents.setdefault(uid, set()).add((rt, key))
                else:
                    self._dependents.get(uid, set()).discard((rt, key))

    def _trim_events(self) -> None:
        while len(self._events) > self._max_events:
            key, _ = self._events.popitem(last=False)
            old = self._objects[self.table.get("v1", "Event")].get(key)
            if old is not None:
                self._remove(self.table.get("v1", "Event"), key, old, "Background")

    # ------------------------------------------------------------------ watch
    def _record(self, event: WatchEvent) -> None:
        self.watches.record(event)

    def add_listener(self, callback: Callable[[WatchEvent], None]) -> None:
        """Call ``callback`` on the loop thread after every change (controllers)."""
        self._listeners.append(callback)

    def _dispatch(self, event: WatchEvent) -> None:
        if self.loop is not None and threading.get_ident() != self.loop_thread:
            self.loop.call_soon_threadsafe(self._dispatch_now, event)
        else:
            self._dispatch_now(event)

    def _dispatch_now(self, event: WatchEvent) -> None:
        self.watches.deliver(event)
        for listener in list(self._listeners):
            listener(event)

    def compact(self) -> int:
        """Drop all watch history (like an etcd compaction); returns the compacted revision."""
        with self._lock:
            self.watches.compact(self._rv)
            return self._rv

    def open_watch(self, rt: ResourceType, namespace: str | None, labels: Predicate,
                   fields: Predicate, since: int | None) -> tuple[Watcher, Backlog]:
        """Subscribe; returns the watcher and the backlog to send first (see WatchCache)."""
        assert self.loop is not None
        with self._lock:
            current = self.list(rt, namespace, labels=labels, fields=fields, copy=False) \
                if since is None else []
            return self.watches.open(rt, namespace, labels, fields, since, current, self.loop,
                                     self._rv)

    def close_watch(self, watcher: Watcher) -> None:
        """Unsubscribe."""
        with self._lock:
            self.watches.close(watcher)

    def watcher_count(self) -> int:
        """Open watch subscriptions."""
        return self.watches.count()

    def open_watches(self) -> dict[tuple[str, str], int]:
        """Open watch streams by (``plural.group``, namespace), e.g.
        ``{("services.serving.knative.dev", "team-a"): 1, ("pods", "team-a"): 1}``."""
        with self._lock:
            return self.watches.count_by()

    def close_all_watches(self) -> None:
        """End every watch stream (server shutdown)."""
        with self._lock:
            self.watches.close_all()

    def all_objects(self) -> Iterable[tuple[ResourceType, dict[str, Any]]]:
        """Every stored object (copies), for debugging and dumps."""
        with self._lock:
            snapshot = [(rt, clone(o)) for rt, objs in self._objects.items() for o in objs.values()]
        return snapshot
