"""Controller plumbing: a work queue fed by API changes (the sandbox store or a real API
server), timers on the simulated clock, events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Protocol

from inference_sandbox.admission.core import default_core
from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.objects import clone, meta, owner_ref
from inference_sandbox.watchcache import WatchEvent

log = logging.getLogger(__name__)


class Controller(Protocol):
    """A reconciler of one kind of work key."""

    name: str

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        """Work keys affected by a change."""

    def resync_keys(self) -> Iterable[Hashable]:
        """Every key (periodic resync)."""

    def reconcile(self, key: Hashable) -> float | None:
        """Do one pass; return simulated seconds until the next needed pass, or None."""


class EventRecorder:
    """Writes ``core/v1`` Events like the kubelet/controllers do (deduplicated, counted)."""

    def __init__(self, api: ObjectAPI, clock: SimClock) -> None:
        self.api = api
        self.clock = clock
        self._names: dict[tuple[str, str, str, str], str] = {}

    def emit(self, obj: Mapping[str, Any], etype: str, reason: str, message: str, *,
             component: str, host: str | None = None, field_path: str | None = None) -> None:
        """Record (or bump the count of) an event about ``obj``."""
        md = meta(obj)
        namespace = md.get("namespace") or "default"
        key = (md.get("uid", ""), reason, message, component)
        now = rfc3339(self.clock.wall())
        name = self._names.get(key)
        if name is not None:
            current = self.api.get(("v1", "Event"), namespace, name)
            if current is not None:
                current["count"] = int(current.get("count", 1)) + 1
                current["lastTimestamp"] = now
                self.api.replace(("v1", "Event"), current)
                return
        name = f"{md.get('name', 'object')}.{uuid.uuid4().hex[:16]}"
        involved = {"kind": obj.get("kind"), "namespace": md.get("namespace"),
                    "name": md.get("name"), "uid": md.get("uid"),
                    "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": md.get("resourceVersion")}
        if field_path:
            involved["fieldPath"] = field_path
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {k: v for k, v in involved.items() if v is not None},
            "reason": reason, "message": message, "type": etype,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": component, "reportingInstance": host or "",
        }
        if not self.api.namespace_exists(namespace):
            return
        self.api.create(("v1", "Event"), event)
        self._names[key] = name


def new_pod(name: str, namespace: str, *, labels: Mapping[str, str],
            annotations: Mapping[str, str], spec: Mapping[str, Any],
            owner: Mapping[str, Any]) -> dict[str, Any]:
    """A Pod object as a controller would create it (API-server defaults applied)."""
    from inference_sandbox.resources import TABLE

    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": dict(labels),
                        "annotations": dict(annotations), "ownerReferences": [owner_ref(owner)]},
           "spec": clone(dict(spec))}
    return default_core(TABLE.get("v1", "Pod"), pod, None)


class ControllerManager:
    """Runs controllers on the server loop: event-driven, plus timers and periodic resync."""

    def __init__(self, api: ObjectAPI, clock: SimClock, controllers: list[Any], *,
                 resync_period: float) -> None:
        self.api = api
        self.clock = clock
        self.controllers = controllers
        self.resync_period = resync_period
        # One ordered set of keys per controller; lower indexes run first, so pods are up to
        # date before their owners are looked at.
        self._pending: list[dict[Hashable, None]] = [{} for _ in controllers]
        self._timers: dict[tuple[int, Hashable], float] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.errors = 0
        self._stopping = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Subscribe to the API and start the worker task (call on the loop thread)."""
        self._loop = loop
        self._wake = asyncio.Event()
        self.api.add_listener(self._on_event)
        self.clock.add_listener(self.kick)
        self._task = loop.create_task(self._run())
        self.kick()

    async def stop(self) -> None:
        """Cancel the worker."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(2.0):
                    await asyncio.shield(self._task)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    def _on_event(self, event: WatchEvent) -> None:
        for index, controller in enumerate(self.controllers):
            for key in controller.keys_for(event):
                self._enqueue(index, key)

    def _enqueue(self, index: int, key: Hashable) -> None:
        self._pending[index][key] = None
        if self._wake is not None:
            self._wake.set()

    def kick(self) -> None:
        """Resync everything soon (thread-safe; used after the clock is advanced)."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._resync)

    def _resync(self) -> None:
        for index, controller in enumerate(self.controllers):
            for key in controller.resync_keys():
                self._enqueue(index, key)

    async def _run(self) -> None:
        assert self._wake is not None and self._loop is not None
        next_resync = self._loop.time() + self.resync_period
        while not self._stopping:
            timeout = max(next_resync - self._loop.time(), 0.0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            if self._loop.time() >= next_resync:
                self._resync()
                next_resync = self._loop.time() + self.resync_period
            done = 0
            while (item := self._next()) is not None:
                self._reconcile(*item)
                done += 1
                if done % 200 == 0:
                    await asyncio.sleep(0)
            await asyncio.sleep(0)

    def _next(self) -> tuple[int, Hashable] | None:
        for index, keys in enumerate(self._pending):
            if keys:
                key = next(iter(keys))
                del keys[key]
                return index, key
        return None

    def _reconcile(self, index: int, key: Hashable) -> None:
        controller = self.controllers[index]
        try:
            delay = controller.reconcile(key)
        except Exception:
            self.errors += 1
            log.exception("sandbox controller %s failed on %r", controller.name, key)
            delay = 1.0
        if delay is None or self._loop is None:
            return
        due = self._loop.time() + self.clock.real_delay(max(delay, 0.0)) + 0.001
        current = self._timers.get((index, key))
        if current is not None and current <= due:
            return
        self._timers[(index, key)] = due
        self._loop.call_at(due, self._fire, index, key, due)

    def _fire(self, index: int, key: Hashable, due: float) -> None:
        if self._timers.get((index, key)) == due:
            del self._timers[(index, key)]
        self._enqueue(index, key)
