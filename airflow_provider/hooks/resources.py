"""Where each Kubernetes object lives in the API: an explicit GVK → plural table.

No plural guessing (``kind.lower() + "s"`` breaks on ``AuthorizationPolicy``...). A kind
missing from the table is an error that names the kind and lists the ones we know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from inference_core.errors import DeployError


@dataclass(frozen=True)
class Resource:
    """One API resource: ``group/version``, ``kind``, URL ``plural`` and whether namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        """API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    def collection_path(self, namespace: str | None) -> str:
        """``/api/v1/namespaces/ns/pods`` or ``/apis/g/v/namespaces/ns/plural`` (or cluster)."""
        root = f"/api/{self.api_version}" if not self.group else f"/apis/{self.api_version}"
        if self.namespaced:
            if not namespace:
                raise DeployError(
                    f"{self.kind}: a namespace is needed for this namespaced kind (got none)"
                )
            return f"{root}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{root}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        """Path of one named object."""
        return f"{self.collection_path(namespace)}/{quote(name, safe='')}"


_TABLE: tuple[Resource, ...] = (
    Resource("v1", "Namespace", "namespaces", namespaced=False),
    Resource("v1", "Secret", "secrets"),
    Resource("v1", "ConfigMap", "configmaps"),
    Resource("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    Resource("v1", "Service", "services"),
    Resource("v1", "ServiceAccount", "serviceaccounts"),
    Resource("v1", "Pod", "pods"),
    Resource("v1", "Event", "events"),
    Resource("events.k8s.io/v1", "Event", "events"),
    Resource("apps/v1", "Deployment", "deployments"),
    Resource("apps/v1", "StatefulSet", "statefulsets"),
    Resource("serving.knative.dev/v1", "Service", "services"),
    Resource("serving.knative.dev/v1", "Revision", "revisions"),
    Resource("serving.knative.dev/v1", "Configuration", "configurations"),
    Resource("serving.knative.dev/v1", "Route", "routes"),
    Resource("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "leaderworkersets"),
    Resource("security.istio.io/v1", "AuthorizationPolicy", "authorizationpolicies"),
    Resource("security.istio.io/v1", "RequestAuthentication", "requestauthentications"),
    Resource("scheduling.run.ai/v2", "Queue", "queues", namespaced=False),
    Resource("scheduling.run.ai/v2alpha2", "PodGroup", "podgroups"),
    Resource("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", namespaced=False),
)
RESOURCES: Mapping[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in _TABLE}

KNATIVE_SERVICE = RESOURCES[("serving.knative.dev/v1", "Service")]
KNATIVE_REVISION = RESOURCES[("serving.knative.dev/v1", "Revision")]
LEADER_WORKER_SET = RESOURCES[("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")]
POD = RESOURCES[("v1", "Pod")]
EVENT = RESOURCES[("v1", "Event")]


def resource_for(api_version: str, kind: str) -> Resource:
    """Look up a kind; raise ``DeployError`` naming the kind and the known ones."""
    try:
        return RESOURCES[(api_version, kind)]
    except KeyError:
        known = ", ".join(sorted(f"{r.api_version}/{r.kind}" for r in _TABLE))
        raise DeployError(
            f"kind {api_version}/{kind} is not in the provider's resource table; known: {known}"
        ) from None


def resource_of(manifest: Mapping[str, Any]) -> Resource:
    """Resource of a manifest dict (reads ``apiVersion`` and ``kind``)."""
    return resource_for(str(manifest.get("apiVersion", "")), str(manifest.get("kind", "")))


def describe(manifest: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` for messages."""
    meta = manifest.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{manifest.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"
