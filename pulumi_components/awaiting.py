"""Waiting for the workload on ``pulumi up`` by the core's readiness definition.

The component, not the provider, waits: the serving object is applied with
``pulumi.com/skipAwait: "true"`` and the ``ready`` output then runs the core's wait
(``inference_core.rollout.wait``) on the live objects (the serving object, the pods of the
revision being rolled out, their events, the Knative Revision), judged by
:func:`inference_core.readiness.evaluate` — the same definition and the same wait the CLI
and the Airflow sensor use. A bad image or a crash loop therefore fails ``pulumi up``
within seconds with the kubelet's reason, not after Knative's progress deadline.

The component needs to reach the cluster for this: a ``kubeconfig`` argument, or the default
provider's configuration (``kubernetes:kubeconfig`` / ``kubernetes:context`` stack config,
``$KUBECONFIG`` or ``~/.kube/config``). A component given an explicit ``provider`` object
cannot read its credentials back, so it keeps the provider's own await (the renderer's
``pulumi.com/waitFor`` annotation).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from pulumi_components.args import InferenceArgs
from pulumi_components.errors import InferenceComponentError


@dataclass(frozen=True)
class ClusterAccess:
    """How the component reaches the cluster to wait: kubeconfig contents (maybe an output)
    or a kubeconfig path, and a context."""

    contents: pulumi.Input[str] | None = None
    path: str | None = None
    context: str | None = None


def cluster_access(a: InferenceArgs) -> ClusterAccess | None:
    """The cluster the children are applied to, when the component can reach it itself
    (None: an explicit provider object, whose credentials cannot be read back)."""
    if a.kubeconfig is not None:
        return ClusterAccess(contents=a.kubeconfig)
    if a.provider is not None:
        return None
    config = pulumi.Config("kubernetes")
    context = config.get("context")
    given = config.get("kubeconfig")
    if given:
        if "\n" in given or given.lstrip().startswith(("{", "apiVersion")):
            return ClusterAccess(contents=given, context=context)
        return ClusterAccess(path=str(Path(given).expanduser()), context=context)
    env = os.environ.get("KUBECONFIG", "")
    path = env.split(os.pathsep)[0] if env else str(Path.home() / ".kube" / "config")
    if not Path(path).expanduser().is_file():
        return None
    return ClusterAccess(path=str(Path(path).expanduser()), context=context)


WAIT_THREADS = 64
"""Waits running at once in one program (each blocks a thread while it watches)."""

_clients: dict[tuple[str | None, str | None, str | None], Any] = {}
_clients_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def wait_executor() -> ThreadPoolExecutor:
    """The threads the components' waits run on, shared by every component of the program:
    enough for each workload of a large stack to wait at once (the event loop's default
    executor has ``cpu_count + 4`` threads, so waits would queue behind each other)."""
    global _executor
    with _clients_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=WAIT_THREADS,
                                           thread_name_prefix="infstack-wait")
        return _executor


def shared_api_client(contents: str | None, path: str | None, context: str | None,
                      component: str) -> Any:
    """One ``ApiClient`` per cluster for every component of the program (one kubeconfig
    load, one TLS context, one connection pool sized for :data:`WAIT_THREADS` waits)."""
    key = (contents, path, context)
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = api_client(contents, path, context, component,
                                               pool_size=2 * WAIT_THREADS + 4)
        return found


def api_client(contents: str | None, path: str | None, context: str | None,
               component: str, pool_size: int | None = None) -> Any:
    """A ``kubernetes.client.ApiClient`` for kubeconfig ``contents`` or ``path``
    (``pool_size``: connections kept per host)."""
    from kubernetes import client, config

    try:
        cfg = client.Configuration()
        if contents is not None:
            config.load_kube_config_from_dict(yaml.safe_load(contents), context=context,
                                              client_configuration=cfg, persist_config=False)
        else:
            config.load_kube_config(config_file=path, context=context,
                                    client_configuration=cfg, persist_config=False)
        if pool_size is not None:
            cfg.connection_pool_maxsize = pool_size
        return client.ApiClient(cfg)
    except Exception as e:  # the loader raises many types; the kubeconfig is never echoed
        raise InferenceComponentError(
            component, f"cannot load the kubeconfig to wait for readiness "
            f"({type(e).__name__}); pass skip_await=True to skip the wait",
            ("args.kubeconfig",)) from None


@dataclass(frozen=True)
class Target:
    """The serving object to wait for."""

    api_version: str
    kind: str
    namespace: str
    name: str
    expected_generation: int | None
    timeout_seconds: float


def wait_ready(api: Any, target: Target, component: str) -> bool:
    """The core's wait (``inference_core.rollout.wait.wait_ready``: watches plus re-reads,
    judged by ``readiness.evaluate``) over ``api``; True once ready. A failure raises with the
    core's reason (the kubelet's, for pods); a timeout with what was last observed."""
    from inference_core.errors import InferenceStacksError
    from inference_core.rollout.client import KubernetesClient
    from inference_core.rollout.kube import ObjectKey
    from inference_core.rollout.plan import WaitTarget
    from inference_core.rollout.wait import wait_ready as core_wait

    key = ObjectKey(target.api_version, target.kind, target.namespace, target.name)
    wanted = WaitTarget(key=key, timeout_s=target.timeout_seconds,
                        expected_generation=target.expected_generation)
    try:
        core_wait(KubernetesClient(api), wanted)
    except InferenceStacksError as e:
        raise InferenceComponentError(
            component, f"the workload did not become ready: {type(e).__name__}: {e}") from None
    return True
