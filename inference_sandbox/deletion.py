"""Deletion as the API server does it, for :class:`~inference_sandbox.store.Store`.

Grace periods (pods bound to a node stay Terminating until the kubelet's final delete),
finalizers, ownerReference garbage collection with Background/Foreground/Orphan propagation,
and namespaces that terminate until their content has gone.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from inference_sandbox.apierrors import not_found
from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.objects import clone, meta
from inference_sandbox.resources import ResourceTable, ResourceType
from inference_sandbox.watchcache import WatchEvent

ObjKey = tuple[str, str]  # (namespace or "", name)
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
#: A Pod's default ``terminationGracePeriodSeconds``.
DEFAULT_GRACE = 30


def _is_pod(rt: ResourceType) -> bool:
    return rt.kind == "Pod" and not rt.group


class DeletionMixin:
    """The delete path of the store (its state is the store's)."""

    clock: SimClock
    table: ResourceTable
    _lock: threading.RLock
    _objects: dict[ResourceType, dict[ObjKey, dict[str, Any]]]
    _dependents: dict[str, set[tuple[ResourceType, ObjKey]]]
    _by_uid: dict[str, tuple[ResourceType, ObjKey]]
    _terminating: set[str]
    _events: Any
    _rv: int

    if TYPE_CHECKING:
        def _resolve(self, rt: ResourceType | tuple[str, str]) -> ResourceType: ...
        def _next_rv(self) -> int: ...
        def _record(self, event: WatchEvent) -> None: ...
        def _dispatch(self, event: WatchEvent) -> None: ...
        def _index_owners(self, rt: ResourceType, key: ObjKey,
                          old: Mapping[str, Any] | None,
                          new: Mapping[str, Any] | None) -> None: ...
        def get(self, rt: ResourceType | tuple[str, str], namespace: str | None, name: str,
                *, copy: bool = True) -> dict[str, Any] | None: ...
        def replace(self, rt: ResourceType | tuple[str, str], obj: Mapping[str, Any]
                    ) -> dict[str, Any]: ...

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
                unchanged: dict[str, Any] = clone(old)
                return unchanged
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
        gone_obj: dict[str, Any] = clone(old)
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
            current: dict[str, Any] = clone(old)
            return current
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
