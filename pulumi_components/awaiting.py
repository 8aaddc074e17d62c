"""Waiting for the workload on ``pulumi up`` by the core's readiness definition.

The component, not the provider, waits: the serving object is applied with
``pulumi.com/skipAwait: "true"`` and the ``ready`` output then polls the live objects (the
serving object, the pods of the revision being rolled out, their events, the Knative Revision)
and judges them with :func:`inference_core.readiness.evaluate` — the same definition the CLI
``wait`` and the Airflow sensor use. A bad image or a crash loop therefore fails ``pulumi up``
within seconds with the kubelet's reason, not after Knative's progress deadline.

The component needs to reach the cluster for this: a ``kubeconfig`` argument, or the default
provider's configuration (``kubernetes:kubeconfig`` / ``kubernetes:context`` stack config,
``$KUBECONFIG`` or ``~/.kube/config``). A component given an explicit ``provider`` object
cannot read its credentials back, so it keeps the provider's own await (the renderer's
``pulumi.com/waitFor`` annotation).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from inference_core.readiness import Readiness, State, evaluate, pod_selector, selector_matches
from pulumi_components.args import InferenceArgs
from pulumi_components.errors import InferenceComponentError

KNATIVE_API = "serving.knative.dev/v1"
POLL_SECONDS = 1.0
"""Pause between two looks at the live objects."""


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


def api_client(contents: str | None, path: str | None, context: str | None,
               component: str) -> Any:
    """A ``kubernetes.client.ApiClient`` for kubeconfig ``contents`` or ``path``."""
    from kubernetes import client, config

    try:
        if contents is not None:
            return config.new_client_from_config_dict(yaml.safe_load(contents),
                                                      context=context)
        cfg = client.Configuration()
        config.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                persist_config=False)
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


def _get_json(api: Any, path: str, query: list[tuple[str, str]] | None = None) -> Any:
    from kubernetes.client.exceptions import ApiException

    try:
        response = api.call_api(path, "GET", query_params=query or [],
                                header_params={"Accept": "application/json"},
                                auth_settings=["BearerToken"], _preload_content=False,
                                _return_http_data_only=True, _request_timeout=30)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    return json.loads(response.data)


def _collection(api_version: str, namespace: str, plural: str) -> str:
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    return f"{prefix}/namespaces/{namespace}/{plural}"


def look(api: Any, target: Target) -> Readiness:
    """One look at the live objects, judged by the core."""
    plural = "services" if target.kind == "Service" else "leaderworkersets"
    obj = _get_json(api, f"{_collection(target.api_version, target.namespace, plural)}/"
                         f"{target.name}")
    if obj is None:
        return Readiness(state=State.PROGRESSING, reason="NotFound",
                         message=f"{target.kind} {target.namespace}/{target.name} does not "
                         "exist (yet)", kind=target.kind, namespace=target.namespace,
                         name=target.name)
    revision = None
    revisions: list[Any] = []
    if target.api_version == KNATIVE_API:
        revision = (obj.get("status") or {}).get("latestCreatedRevisionName")
        if revision:
            found = _get_json(api, f"{_collection(KNATIVE_API, target.namespace, 'revisions')}/"
                                   f"{revision}")
            revisions = [found] if found else []
    selector = pod_selector(obj, revision)
    pods = (_get_json(api, _collection("v1", target.namespace, "pods"),
                      [("labelSelector", selector)]) or {}).get("items") or []
    pods = [p for p in pods
            if selector_matches(selector, (p.get("metadata") or {}).get("labels") or {})]
    names = {target.name, *(str((p.get("metadata") or {}).get("name")) for p in pods)}
    if revision:
        names.add(revision)
    events = [e for e in (_get_json(api, _collection("v1", target.namespace, "events"))
                          or {}).get("items") or []
              if str((e.get("involvedObject") or {}).get("name")) in names]
    return evaluate(obj, pods=pods, events=events, revisions=revisions,
                    expected_generation=target.expected_generation)


def wait_ready(api: Any, target: Target, component: str) -> bool:
    """Poll until the core judges the workload ready (True); raise with the core's reason
    (the kubelet's, for pods) when it failed, or with the last verdict on timeout."""
    deadline = time.monotonic() + target.timeout_seconds
    while True:
        verdict = look(api, target)
        if verdict.state is State.READY:
            return True
        if verdict.state is State.FAILED:
            raise InferenceComponentError(
                component, f"the workload failed ({verdict.reason}): {verdict.message}")
        if time.monotonic() >= deadline:
            raise InferenceComponentError(
                component, f"{target.kind} {target.namespace}/{target.name} was not ready "
                f"after {target.timeout_seconds:.0f}s (last: {verdict.reason}: "
                f"{verdict.message})")
        time.sleep(POLL_SECONDS)
