"""Run the simulated controllers (Knative, LeaderWorkerSet, KAI scheduler, kubelet) against a
real kube-apiserver: the same controllers the sandbox runs, given a
:class:`~inference_sandbox.controllers.kubeapi.KubeObjectAPI` instead of the sandbox's store.

>>> with RemoteControllers("admin.kubeconfig", SandboxConfig(speed=100)).running() as ctl:
...     ...  # apply a Knative Service; the controllers make it Ready

The cluster is seeded as a fresh sandbox is (GPU nodes, KAI queues, priority classes, the
``knative-serving`` ConfigMaps). A real API server has no garbage collector or namespace
controller without kube-controller-manager: objects owned by a deleted workload stay.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from inference_sandbox import seed
from inference_sandbox.apierrors import ApiError
from inference_sandbox.clock import SimClock
from inference_sandbox.config import DEFAULT_KNATIVE_DEFAULTS, KNATIVE_NAMESPACE, SandboxConfig
from inference_sandbox.controllers import build
from inference_sandbox.controllers.base import ControllerManager
from inference_sandbox.controllers.kubeapi import KubeObjectAPI
from inference_sandbox.resources import TABLE

START_TIMEOUT = 120.0
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
KNATIVE_CONFIGMAPS = ("config-defaults", "config-autoscaler", "config-deployment")


class RemoteControllers:
    """The simulated controllers as API clients of the cluster a kubeconfig points at."""

    def __init__(self, kubeconfig: str | Path, config: SandboxConfig | None = None, *,
                 seed_cluster: bool = True) -> None:
        self.config = config or SandboxConfig()
        self.clock = SimClock(self.config.speed, sim_timestamps=self.config.sim_timestamps)
        self.api = KubeObjectAPI(kubeconfig)
        self.seed_cluster = seed_cluster
        self.manager: ControllerManager | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def knative_defaults(self) -> dict[str, str]:
        """Knative's defaults merged with the cluster's ``knative-serving`` ConfigMaps."""
        merged = dict(DEFAULT_KNATIVE_DEFAULTS)
        for name in KNATIVE_CONFIGMAPS:
            cm = self.api.get(("v1", "ConfigMap"), KNATIVE_NAMESPACE, name, copy=False)
            merged.update((cm or {}).get("data") or {})
        return merged

    def _seed(self) -> None:
        for obj in seed.initial_objects(self.config):
            rt = TABLE.get(obj["apiVersion"], obj["kind"])
            try:
                created = self.api.create(rt, obj)
            except ApiError as err:
                if err.code != 409:
                    raise
                continue
            if rt.kind == "Node" and not rt.group:
                self._node_ready(created)

    def _node_ready(self, node: dict[str, Any]) -> None:
        """Drop the ``not-ready`` taint the API server puts on a new Node (the node lifecycle
        controller does so once the kubelet reports Ready; ours are Ready from the start)."""
        taints = (node.get("spec") or {}).get("taints") or []
        kept = [t for t in taints if t.get("key") != NOT_READY_TAINT]
        if kept != taints:
            node["spec"]["taints"] = kept
            self.api.replace(("v1", "Node"), node)

    def start(self) -> RemoteControllers:
        """Seed the cluster, fill the caches and start the controllers (background thread)."""
        if self.seed_cluster:
            self._seed()
        self._thread = threading.Thread(target=self._main, name="remote-controllers",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError(f"controllers did not start within {START_TIMEOUT:g}s")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.api.start(loop)
            self.manager, _ = build(self.api, self.clock, self.config, self.knative_defaults)
            self.manager.start(loop)
        except BaseException as err:  # reported to the starting thread
            self._error = err
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop the controllers and the informers."""
        loop, manager = self._loop, self.manager
        if loop is not None and manager is not None and loop.is_running():
            async def shutdown() -> None:
                await manager.stop()
                loop.stop()

            asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.api.stop()

    @property
    def errors(self) -> int:
        """Reconciles that raised (logged; retried by the manager)."""
        return self.manager.errors if self.manager else 0

    @contextmanager
    def running(self) -> Iterator[RemoteControllers]:
        """Start, yield, stop."""
        self.start()
        try:
            yield self
        finally:
            self.stop()
