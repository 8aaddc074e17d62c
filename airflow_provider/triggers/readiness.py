"""``InferenceReadyTrigger``: wait, watch-based, until a workload is ready or has failed.

Primitives only; ``serialize()`` mirrors ``__init__`` exactly. The deadline is
``start_time + timeout`` where ``start_time`` is an absolute epoch time fixed when the
task deferred, so a triggerer restart resumes with the time that is left. Exactly one
terminal event: ``status`` is ``ready``, ``failed``, ``timeout`` or ``error``, with
``reason``, ``message``, ``kind``, ``namespace``, ``name``, ``revision``, ``url`` and the
full readiness under ``readiness``.

Watches are shared between triggers of the same process (see ``hooks/informer.py``).
Fail fast: the core's ``evaluate`` reads the rollout's pods and events, so an
ImagePullBackOff, a CrashLoopBackOff or an unschedulable pod ends the wait in seconds
with the kubelet's or scheduler's reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider.hooks import informer, preload
from airflow_provider.hooks.index import (
    ANY,
    involved_key,
    name_key,
    selector_key,
    selector_predicate,
)
from airflow_provider.hooks.resources import EVENT, KNATIVE_REVISION, POD, resource_for
from airflow_provider.triggers.assess import (
    KNATIVE_API,
    assess,
    interest_names,
    target_revision,
)

if TYPE_CHECKING:
    from inference_core.readiness import Readiness

log = logging.getLogger(__name__)

CLASSPATH = "airflow_provider.triggers.readiness.InferenceReadyTrigger"
#: How long a trigger that starts after its deadline may take to judge the object once.
LATE_GRACE_S = 30.0


@dataclass
class _View:
    """The trigger's subscriptions: the object, its revisions, pods and events."""

    main: informer.Subscription
    revisions: informer.Subscription | None = None
    pods: informer.Subscription | None = None
    events: informer.Subscription | None = None


def readiness_payload(status: str, r: Readiness, message: str | None = None) -> dict[str, Any]:
    """The event payload: flat fields plus the full readiness (all JSON-able)."""
    return {
        "status": status,
        "reason": r.reason,
        "message": message or r.message,
        "kind": r.kind,
        "namespace": r.namespace,
        "name": r.name,
        "revision": r.revision,
        "url": r.url,
        "readiness": r.to_dict(),
    }


class InferenceReadyTrigger(BaseTrigger):
    """Fire once when the object is ready, has failed, or the deadline passed.

    :param api_version: the serving object's apiVersion (Knative Service or LWS).
    :param kind: its kind.
    :param name: its name.
    :param namespace: its namespace.
    :param start_time: epoch seconds when waiting began (kept across restarts).
    :param timeout: seconds from ``start_time`` until a ``timeout`` event.
    :param expected_generation: the generation our apply produced (None: any).
    :param expected_revision: the Knative revision our apply created (None: latest).
    :param fail_fast: read pods and events to fail on ImagePullBackOff & co.
    :param kubernetes_conn_id: cncf-kubernetes connection id.
    :param cluster_context: kubeconfig context override.
    :param config_file: kubeconfig path override.
    :param in_cluster: in-cluster override.
    :param resume: small JSON-able values the waiting task needs when it resumes (kind,
        generation, previous revision); echoed under ``"resume"`` in the event. The task also
        gets them as its defer kwargs, but ``dag.test()`` in Airflow 3.3 replaces those with the
        event alone, so the event carries them too.
    """

    def __init__(
        self,
        *,
        api_version: str,
        kind: str,
        name: str,
        namespace: str,
        start_time: float,
        timeout: float,
        expected_generation: int | None = None,
        expected_revision: str | None = None,
        fail_fast: bool = True,
        kubernetes_conn_id: str = "kubernetes_default",
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        resume: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.api_version = api_version
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.start_time = start_time
        self.timeout = timeout
        self.expected_generation = expected_generation
        self.expected_revision = expected_revision
        self.fail_fast = fail_fast
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.resume = resume
        self._subs: list[informer.Subscription] = []
        self._wake: asyncio.Event | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and exactly the constructor's arguments."""
        return CLASSPATH, {
            "api_version": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "start_time": self.start_time,
            "timeout": self.timeout,
            "expected_generation": self.expected_generation,
            "expected_revision": self.expected_revision,
            "fail_fast": self.fail_fast,
            "kubernetes_conn_id": self.kubernetes_conn_id,
            "cluster_context": self.cluster_context,
            "config_file": self.config_file,
            "in_cluster": self.in_cluster,
            "resume": self.resume,
        }

    @property
    def deadline(self) -> float:
        """Absolute epoch second at which waiting ends."""
        return self.start_time + self.timeout

    def _ref(self) -> tuple[str, str, str | None, str]:
        return self.api_version, self.kind, self.namespace, self.name

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield one terminal event (see the module docstring)."""
        conn = informer.ConnectionKey(
            self.kubernetes_conn_id, self.cluster_context, self.config_file, self.in_cluster
        )
        # The client libraries load in a thread: a first wait does not stall the loop.
        await preload.ensure_imported(connection=not self.config_file)
        wake = asyncio.Event()
        self._wake = wake
        subs: list[informer.Subscription] = []
        self._subs = subs
        try:
            view = _View(main=informer.subscribe(
                conn, resource_for(self.api_version, self.kind), self.namespace,
                [name_key(self.name)], wake))
            subs.append(view.main)
            if self.api_version == KNATIVE_API and self.kind == "Service":
                view.revisions = informer.subscribe(
                    conn, KNATIVE_REVISION, self.namespace, [], wake)
                subs.append(view.revisions)
            if self.fail_fast:
                view.pods = informer.subscribe(conn, POD, self.namespace, [], wake)
                view.events = informer.subscribe(conn, EVENT, self.namespace, [], wake)
                subs += [view.pods, view.events]
            event = await self._wait(view, subs, wake)
        finally:
            # Before yielding: nothing guarantees the generator is resumed after its single
            # event (dag.test() and the triggerer may drop it), so watches and sessions
            # close here, on the event, on an error and on cancellation alike.
            await self._release()
        if self.resume is not None:
            event = {**event, "resume": self.resume}
        yield TriggerEvent(event)  # type: ignore[no-untyped-call]

    async def _release(self) -> None:
        subs, self._subs = list(self._subs), []
        await informer.unsubscribe_all(subs)

    async def cleanup(self) -> None:
        """Called by the triggerer when the trigger is removed: leave any watch still held."""
        await self._release()
        await super().cleanup()

    async def _wait(self, view: _View, subs: list[informer.Subscription],
                    wake: asyncio.Event) -> dict[str, Any]:
        last: Readiness | None = None
        while True:
            wake.clear()
            if view.main.informer.error is not None:
                return self._error_payload(str(view.main.informer.error))
            if all(s.informer.synced.is_set() for s in subs):
                last = self._assess(view)
                if last.terminal:
                    log.info("%s %s/%s: %s (%s)", self.kind, self.namespace, self.name,
                             last.state, last.reason)
                    return readiness_payload(str(last.state), last)
            now = time.time()
            if now >= self.deadline and (last is not None or now >= self.deadline + LATE_GRACE_S):
                return self._timeout_payload(last, view.main)
            # A trigger that starts after its deadline (a late or restarted triggerer)
            # still judges the object once before it reports the timeout.
            until = self.deadline if last is not None else max(self.deadline,
                                                               now + LATE_GRACE_S)
            # asyncio.timeout, not asyncio.wait_for: on Python 3.11 wait_for swallows a
            # cancellation that arrives while the wake completes (python/cpython#86296),
            # and the cancelled trigger would keep its watches to the deadline.
            try:
                async with asyncio.timeout(max(0.0, until - now)):
                    await wake.wait()
            except TimeoutError:
                pass

    def _assess(self, view: _View) -> Readiness:
        """Judge the object from the caches, reading only the entries indexed for it, and
        move the subscriptions to the objects this state depends on."""
        obj = view.main.cache.get(self.name)
        selector, names = interest_names(obj, self.name, self.expected_revision)
        revision = target_revision(obj, self.expected_revision) if obj is not None else None
        revisions: dict[str, dict[str, Any]] = {}
        if view.revisions is not None:
            view.revisions.interest([name_key(revision)] if revision else [])
            if revision and revision in view.revisions.cache:
                revisions[revision] = view.revisions.cache[revision]
        pods: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        if view.pods is not None and view.events is not None:
            if selector is not None:
                key = selector_key(selector) or ANY
                view.pods.interest([key])
                matches = selector_predicate(selector)
                pods = [p for p in view.pods.lookup(key) if matches(_labels(p))]
                names |= {str((p.get("metadata") or {}).get("name")) for p in pods}
            view.events.interest([involved_key(n) for n in names])
            events = [e for n in names for e in view.events.lookup(involved_key(n))]
        return assess(
            obj, ref=self._ref(), pods=pods, events=events,
            revisions=revisions if view.revisions is not None else None,
            expected_generation=self.expected_generation,
            expected_revision=self.expected_revision,
        )

    def _timeout_payload(self, last: Readiness | None, main: informer.Subscription
                         ) -> dict[str, Any]:
        waited = time.time() - self.start_time
        if last is None:
            err = main.informer.last_error
            if err is not None:
                text = (f"the API server could not be read within {self.timeout:.0f}s "
                        f"(API outage?); last API error: {err}")
            elif main.informer.synced.is_set():
                text = (f"not judged within {self.timeout:.0f}s: the API server answered but "
                        "the related objects were not all listed yet")
            else:
                text = f"no answer from the API server within {self.timeout:.0f}s"
            return self._error_payload(text, status="timeout", reason="Timeout")
        message = (f"not ready after {waited:.0f}s (timeout {self.timeout:.0f}s); "
                   f"last state {last.state}: {last.reason}: {last.message}")
        err = main.informer.last_error
        if err is not None and main.informer.error is None:
            message += f"; the watch was interrupted meanwhile (last API error: {err})"
        return readiness_payload("timeout", last, message)

    def _error_payload(self, message: str, *, status: str = "error",
                       reason: str = "ApiError") -> dict[str, Any]:
        return {
            "status": status, "reason": reason, "message": message,
            "kind": self.kind, "namespace": self.namespace, "name": self.name,
            "revision": self.expected_revision, "url": None, "readiness": None,
        }


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}
