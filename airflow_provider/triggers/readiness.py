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
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider.hooks import informer
from airflow_provider.hooks.resources import EVENT, KNATIVE_REVISION, POD, resource_for
from airflow_provider.triggers.assess import KNATIVE_API, assess, interest_names
from inference_core.readiness import Readiness, selector_matches

log = logging.getLogger(__name__)

CLASSPATH = "airflow_provider.triggers.readiness.InferenceReadyTrigger"


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
        super().__init__()
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
        wake = asyncio.Event()
        view: dict[str, Any] = {"selector": None, "names": {self.name}}
        knative = self.api_version == KNATIVE_API and self.kind == "Service"

        def by_name(obj: dict[str, Any]) -> bool:
            return (obj.get("metadata") or {}).get("name") == self.name

        def by_names(obj: dict[str, Any]) -> bool:
            return (obj.get("metadata") or {}).get("name") in view["names"]

        def by_selector(obj: dict[str, Any]) -> bool:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            return selector_matches(view["selector"], labels)

        def by_involved(obj: dict[str, Any]) -> bool:
            return (obj.get("involvedObject") or {}).get("name") in view["names"]

        main_res = resource_for(self.api_version, self.kind)
        subs: list[informer.Subscription] = []
        self._subs = subs
        try:
            main = informer.subscribe(conn, main_res, self.namespace, by_name, wake)
            subs.append(main)
            if knative:
                subs.append(informer.subscribe(
                    conn, KNATIVE_REVISION, self.namespace, by_names, wake))
            if self.fail_fast:
                subs.append(informer.subscribe(conn, POD, self.namespace, by_selector, wake))
                subs.append(informer.subscribe(conn, EVENT, self.namespace, by_involved, wake))
            event = await self._wait(main, subs, view, wake, knative)
        finally:
            # Before yielding: nothing guarantees the generator is resumed after its single
            # event (dag.test() and the triggerer may drop it), so watches and sessions
            # close here, on the event, on an error and on cancellation alike.
            await self._release()
        if self.resume is not None:
            event = {**event, "resume": self.resume}
        yield TriggerEvent(event)

    async def _release(self) -> None:
        subs, self._subs = list(self._subs), []
        await informer.unsubscribe_all(subs)

    async def cleanup(self) -> None:
        """Called by the triggerer when the trigger is removed: leave any watch still held."""
        await self._release()
        await super().cleanup()

    async def _wait(
        self, main: informer.Subscription, subs: list[informer.Subscription],
        view: dict[str, Any], wake: asyncio.Event, knative: bool,
    ) -> dict[str, Any]:
        last: Readiness | None = None
        while True:
            wake.clear()
            if main.informer.error is not None:
                return self._error_payload(str(main.informer.error))
            if all(s.informer.synced.is_set() for s in subs):
                obj = main.cache.get(self.name)
                aux = {s.informer.resource.kind: s.cache for s in subs[1:]
                       if s.informer.error is None}
                last = assess(
                    obj, ref=self._ref(),
                    pods=aux.get("Pod", {}).values(),
                    events=aux.get("Event", {}).values(),
                    revisions=aux.get("Revision") if knative else None,
                    expected_generation=self.expected_generation,
                    expected_revision=self.expected_revision,
                )
                view["selector"], view["names"] = interest_names(
                    obj, self.name, self.expected_revision)
                view["names"] |= {n for n, p in aux.get("Pod", {}).items()
                                  if selector_matches(view["selector"], _labels(p))}
                if last.terminal:
                    log.info("%s %s/%s: %s (%s)", self.kind, self.namespace, self.name,
                             last.state, last.reason)
                    return readiness_payload(str(last.state), last)
            remaining = self.deadline - time.time()
            if remaining <= 0:
                return self._timeout_payload(last, main)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=remaining)

    def _timeout_payload(self, last: Readiness | None, main: informer.Subscription
                         ) -> dict[str, Any]:
        waited = time.time() - self.start_time
        if last is None:
            err = main.informer.last_error
            detail = f"; last API error: {err}" if err else ""
            return self._error_payload(
                f"no answer from the API server within {self.timeout:.0f}s{detail}",
                status="timeout", reason="Timeout")
        message = (f"not ready after {waited:.0f}s (timeout {self.timeout:.0f}s); "
                   f"last state {last.state}: {last.reason}: {last.message}")
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
