"""From the cluster's objects to the data plane's routing table (pure).

- Knative Service: ``status.url`` (and the cluster-local ``status.address.url``) split by
  ``status.traffic[].percent`` over revisions; each tag URL (``status.traffic[].url``) goes
  100 % to its revision. Backends are revisions; their container comes from the Revision.
- core/v1 Service with a selector (the LWS leader Service ``<name>-leader``): every Ready
  leader pod (worker index 0) it selects is one group; groups are pooled per LWS template
  revision (``leaderworkerset.sigs.k8s.io/template-revision-hash``) and weighted by their
  number of groups (that is what kube-proxy's per-endpoint spreading gives). Hosts:
  ``<svc>.<ns>.svc.cluster.local``, ``<svc>.<ns>.svc``, ``<svc>.<ns>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from inference_sandbox.dataplane.modelserver import BackendId

LWS = "leaderworkerset.sigs.k8s.io/"


@dataclass
class RoutingTable:
    """``hosts``: host -> [(backend, weight)]; ``containers``: backend -> its container."""

    hosts: dict[str, list[tuple[BackendId, int]]] = field(default_factory=dict)
    containers: dict[BackendId, dict[str, Any]] = field(default_factory=dict)


def host_of(url: str) -> str:
    """The host part of a URL (no port)."""
    return (urlsplit(url).hostname or "").lower()


def serving_container(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The container that serves (the first one with ports, else the first)."""
    containers = [c for c in spec.get("containers") or [] if isinstance(c, Mapping)]
    for c in containers:
        if c.get("ports"):
            return dict(c)
    return dict(containers[0]) if containers else {}


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or [])


def _knative(table: RoutingTable, ksvc: Mapping[str, Any],
             revisions: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
    md = ksvc.get("metadata") or {}
    ns, name = md.get("namespace", ""), md.get("name", "")
    status = ksvc.get("status") or {}
    split: list[tuple[BackendId, int]] = []
    for entry in status.get("traffic") or []:
        rev_name = entry.get("revisionName")
        revision = revisions.get((ns, rev_name or ""))
        if not rev_name or revision is None:
            continue
        ident = BackendId(ns, name, rev_name)
        table.containers[ident] = serving_container(revision.get("spec") or {})
        percent = int(entry.get("percent") or 0)
        if percent > 0:
            split.append((ident, percent))
        if entry.get("url"):
            table.hosts[host_of(entry["url"])] = [(ident, 100)]
    for url in (status.get("url"), (status.get("address") or {}).get("url")):
        if url and split:
            table.hosts[host_of(url)] = list(split)


def _service(table: RoutingTable, svc: Mapping[str, Any],
             pods: Iterable[Mapping[str, Any]]) -> None:
    md = svc.get("metadata") or {}
    ns, name = md.get("namespace", ""), md.get("name", "")
    selector = (svc.get("spec") or {}).get("selector") or {}
    if not selector:
        return
    weights: dict[BackendId, int] = {}
    for pod in pods:
        pmd = pod.get("metadata") or {}
        labels = pmd.get("labels") or {}
        if pmd.get("namespace") != ns or pmd.get("deletionTimestamp"):
            continue
        if any(labels.get(k) != v for k, v in selector.items()):
            continue
        if LWS + "name" not in labels or labels.get(LWS + "worker-index") != "0":
            continue
        if not _pod_ready(pod):
            continue
        ident = BackendId(ns, labels[LWS + "name"], labels.get(LWS + "template-revision-hash",
                                                               ""), kind="lws")
        weights[ident] = weights.get(ident, 0) + 1
        table.containers.setdefault(ident, serving_container(pod.get("spec") or {}))
    if weights:
        pool = sorted(weights.items(), key=lambda kv: kv[0].revision)
        for host in (f"{name}.{ns}.svc.cluster.local", f"{name}.{ns}.svc", f"{name}.{ns}"):
            table.hosts[host] = pool


def routing_table(ksvcs: Iterable[Mapping[str, Any]],
                  revisions: Mapping[tuple[str, str], Mapping[str, Any]],
                  services: Iterable[Mapping[str, Any]],
                  pods: Iterable[Mapping[str, Any]]) -> RoutingTable:
    """The routing table for these objects."""
    table = RoutingTable()
    for ksvc in ksvcs:
        _knative(table, ksvc, revisions)
    pod_list = list(pods)
    for svc in services:
        _service(table, svc, pod_list)
    return table
