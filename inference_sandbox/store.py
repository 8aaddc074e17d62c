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
from datetime import timedelta
from typing import Any

from inference_sandbox.apierrors import already_exists, bad_request, gone, not_found
from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.objects import clone, meta
from inference_sandbox.resources import TABLE, ResourceTable, ResourceType
from inference_sandbox.selectors import Predicate
from inference_sandbox.watchcache import WatchCache, Watcher, WatchEvent

ObjKey = tuple[str, str]  # (namespace or "", name)
Objects = list[dict[str, Any]]
Page = tuple[Objects, int, "str | None", "int | None"]
Backlog = list[WatchEvent]



FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
#: A Pod's default ``terminationGracePeriodSeconds``.
DEFAULT_GRACE = 30


def _spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _is_pod(rt: ResourceType) -> bool:
    return rt.kind == "Pod" and not rt.group


class Store:
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

    def delete(self, rt: ResourceType | tuple[str, str], namespace: str | None, name: str, *,
               propagation: str = "Background", grace_period: int | None = None
               ) -> dict[str, Any]:
        """Delete like the API server; returns the object as it now stands.

        - Pods bound to a node get a grace period (``grace_period``, else the pod's
          ``terminationGracePeriodSeconds``, default 30): they stay, Terminating, with
          ``deletionTimestamp`` = now + grace until the kubelet deletes them again with a
          zero grace period (``grace_period=None`` on a terminating pod means that).
        - An object with finalizers keeps ``deletionTimestamp`` until they are removed.
        - ``propagation``: ``Background`` (remove, then collect dependents), ``Foreground``
          (the owner waits, with the ``foregroundDeletion`` finalizer, until every dependent
          whose ownerReference blocks it is gone) or ``Orphan`` (dependents lose the
          ownerReference and stay).
        """
        rt = self._resolve(rt)
        key = (namespace or "" if rt.namespaced else "", name)
        with self._lock:
            old = self._objects[rt].get(key)
            if old is None:
                raise not_found(rt, name)
            md = old["metadata"]
            uid = md.get("uid", "")
            if propagation == "Orphan":
                self._orphan(uid)
            if rt.kind == "Namespace" and not rt.group and self._has_content(name):
                return self._terminate_namespace(rt, key, old)
            grace = self._grace(rt, old, grace_period)
            finalizers = list(md.get("finalizers") or [])
            if propagation == "Foreground" and self._dependents.get(uid) and \
                    FOREGROUND not in finalizers:
                finalizers.append(FOREGROUND)
            if not grace and not finalizers:
                return self._remove(rt, key, old, propagation)
            if md.get("deletionTimestamp") and finalizers == list(md.get("finalizers") or []) \
                    and not self._shortens(old, grace):
                return clone(old)
            new = clone(old)
            new["metadata"]["deletionTimestamp"] = rfc3339(self.clock.wall() +
                                                           timedelta(seconds=grace))
            new["metadata"]["deletionGracePeriodSeconds"] = grace
            if finalizers:
                new["metadata"]["finalizers"] = finalizers
            new["metadata"]["resourceVersion"] = str(self._next_rv())
            self._objects[rt][key] = new
            event = WatchEvent(self._rv, "MODIFIED", rt, new, old)
            self._record(event)
        self._dispatch(event)
        if FOREGROUND in finalizers and FOREGROUND not in (md.get("finalizers") or []):
            self._collect(uid, "Foreground")
            self._finish_foreground(rt, key)
        return self.get(rt, namespace, name) or clone(new)

    def _grace(self, rt: ResourceType, obj: Mapping[str, Any], requested: int | None) -> int:
        """Seconds a deletion waits: only bound, running Pods have a grace period."""
        if not _is_pod(rt):
            return 0
        md = meta(obj)
        if not (obj.get("spec") or {}).get("nodeName") or \
                (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is None:
            if md.get("deletionTimestamp"):
                return 0  # the kubelet's final delete
            requested = (obj.get("spec") or {}).get("terminationGracePeriodSeconds")
            requested = DEFAULT_GRACE if requested is None else requested
        return max(int(requested), 0)

    @staticmethod
    def _shortens(old: Mapping[str, Any], grace: int) -> bool:
        current = meta(old).get("deletionGracePeriodSeconds")
        return current is not None and grace < int(current)

    def _grace_pending(self, rt: ResourceType, obj: Mapping[str, Any]) -> bool:
        """A terminating Pod whose kubelet has not finished yet."""
        return _is_pod(rt) and bool(meta(obj).get("deletionGracePeriodSeconds"))

    def _orphan(self, uid: str) -> None:
        """Dependents of ``uid`` lose their ownerReference to it."""
        for dep_rt, dep_key in sorted(self._dependents.pop(uid, set()),
                                      key=lambda d: (d[0].plural, d[1])):
            dep = self._objects[dep_rt].get(dep_key)
            if dep is None:
                continue
            orphan = clone(dep)
            orphan["metadata"]["ownerReferences"] = [
                ref for ref in orphan["metadata"].get("ownerReferences", [])
                if ref.get("uid") != uid]
            if not orphan["metadata"]["ownerReferences"]:
                orphan["metadata"].pop("ownerReferences")
            self.replace(dep_rt, orphan)

    def _collect(self, uid: str, propagation: str) -> None:
        """Delete every dependent of ``uid`` (the garbage collector's job)."""
        for dep_rt, dep_key in sorted(self._dependents.get(uid, set()),
                                      key=lambda d: (d[0].plural, d[1])):
            if self._objects[dep_rt].get(dep_key) is not None:
                self.delete(dep_rt, dep_key[0], dep_key[1], propagation=propagation)

    def _finish_foreground(self, rt: ResourceType, key: ObjKey) -> None:
        """Drop the ``foregroundDeletion`` finalizer once no blocking dependent remains."""
        owner = self._objects[rt].get(key)
        if owner is None or FOREGROUND not in (meta(owner).get("finalizers") or []):
            return
        uid = meta(owner).get("uid", "")
        for dep_rt, dep_key in self._dependents.get(uid, set()):
            dep = self._objects[dep_rt].get(dep_key)
            if dep is not None and any(ref.get("uid") == uid and
                                       ref.get("blockOwnerDeletion")
                                       for ref in meta(dep).get("ownerReferences") or []):
                return
        done = clone(owner)
        done["metadata"]["finalizers"] = [f for f in done["metadata"]["finalizers"]
                                          if f != FOREGROUND]
        self.replace(rt, done)

    def _remove(self, rt: ResourceType, key: ObjKey, old: dict[str, Any],
                propagation: str) -> dict[str, Any]:
        gone_obj = clone(old)
        gone_obj["metadata"]["resourceVersion"] = str(self._next_rv())
        del self._objects[rt][key]
        self._by_uid.pop(old["metadata"].get("uid", ""), None)
        self._index_owners(rt, key, old, None)
        if rt.kind == "Event" and not rt.group:
            self._events.pop(key, None)
        event = WatchEvent(self._rv, "DELETED", rt, gone_obj, old)
        self._record(event)
        self._dispatch(event)
        uid = old["metadata"].get("uid", "")
        if propagation == "Orphan":
            self._orphan(uid)
        else:
            self._collect(uid, "Background" if propagation == "Foreground" else propagation)
        self._dependents.pop(uid, None)
        for ref in meta(old).get("ownerReferences") or []:
            self._finish_owner(ref.get("uid", ""))
        if rt.kind == "Namespace" and not rt.group:
            self._terminating.discard(key[1])
            self._purge_namespace(key[1])
        elif rt.namespaced and key[0] in self._terminating:
            self._finish_namespace(key[0])
        return gone_obj

    def _has_content(self, namespace: str) -> bool:
        return any(k[0] == namespace for rt, objects in self._objects.items() if rt.namespaced
                   for k in objects)

    def _terminate_namespace(self, rt: ResourceType, key: ObjKey, old: dict[str, Any]
                             ) -> dict[str, Any]:
        """Phase Terminating, delete the content (pods get their grace period); the Namespace
        goes when the last object has gone."""
        namespace = key[1]
        if namespace in self._terminating:
            return clone(old)
        new = clone(old)
        new["metadata"]["deletionTimestamp"] = rfc3339(self.clock.wall())
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        new.setdefault("status", {})["phase"] = "Terminating"
        new["metadata"]["resourceVersion"] = str(self._next_rv())
        self._objects[rt][key] = new
        self._terminating.add(namespace)
        event = WatchEvent(self._rv, "MODIFIED", rt, new, old)
        self._record(event)
        self._dispatch(event)
        for content_rt, objects in self._objects.items():
            if not content_rt.namespaced:
                continue
            for content_key in [k for k in objects if k[0] == namespace]:
                if content_key in objects:
                    self.delete(content_rt, namespace, content_key[1])
        self._finish_namespace(namespace)
        return self.get(rt, None, namespace) or clone(new)

    def _finish_namespace(self, namespace: str) -> None:
        """Remove a terminating Namespace once only Events (if anything) are left in it."""
        if namespace not in self._terminating:
            return
        remaining = [(rt, k) for rt, objects in self._objects.items() if rt.namespaced
                     for k in objects if k[0] == namespace]
        if any(not (rt.kind == "Event" and not rt.group) for rt, _ in remaining):
            return
        ns_rt = self.table.get("v1", "Namespace")
        ns = self._objects[ns_rt].get(("", namespace))
        if ns is not None:
            self._remove(ns_rt, ("", namespace), ns, "Background")

    def _finish_owner(self, uid: str) -> None:
        """A dependent went: an owner deleting in the foreground may be done."""
        found = self._by_uid.get(uid)
        if found is not None:
            self._finish_foreground(*found)

    def _purge_namespace(self, namespace: str) -> None:
        for rt, objects in self._objects.items():
            if not rt.namespaced:
                continue
            for key in [k for k in objects if k[0] == namespace]:
                if key in objects:
                    self._remove(rt, key, objects[key], "Background")

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
