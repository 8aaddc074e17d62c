"""One home for the names every front door shares: kinds and their API plurals, labels,
annotations and the server-side apply field manager.

Nearly import-free on purpose (stdlib and ``inference_core.errors``): the renderer, the
rollout engine, the Airflow provider and the Pulumi components all read these without
pulling anything else in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from inference_core.errors import DeployError

#: The server-side apply field manager of every write (traffic included).
FIELD_MANAGER = "inference-stacks"

# -- labels ------------------------------------------------------------------------------
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "inference-stacks"
WORKLOAD_LABEL = "inference-stacks.io/workload"
KIND_LABEL = "inference-stacks.io/kind"
#: Label of the history ConfigMap (value: ``history``).
ROLE_LABEL = "inference-stacks.io/role"

# -- annotations -------------------------------------------------------------------------
AUTO_DELETE_ANNOTATION = "inference-stacks.io/auto-delete-after"
REDACTED_ANNOTATION = "inference-stacks.io/redacted"
STABLE_ANNOTATION = "inference-stacks.io/stable-revision"
CANDIDATE_ANNOTATION = "inference-stacks.io/candidate-revision"
#: Written by Knative's webhook; never ours to own (owning them breaks later updates).
KNATIVE_CREATOR_ANNOTATION = "serving.knative.dev/creator"
KNATIVE_LAST_MODIFIER_ANNOTATION = "serving.knative.dev/lastModifier"
SERVER_SET_ANNOTATIONS = frozenset({KNATIVE_CREATOR_ANNOTATION,
                                    KNATIVE_LAST_MODIFIER_ANNOTATION})

# -- Knative / LWS labels set by their controllers ------------------------------------------
KNATIVE_SERVICE_LABEL = "serving.knative.dev/service"
KNATIVE_REVISION_LABEL = "serving.knative.dev/revision"
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_HASH_LABEL = "leaderworkerset.sigs.k8s.io/template-revision-hash"

# -- API groups ----------------------------------------------------------------------------
KNATIVE_API = "serving.knative.dev/v1"
LWS_API = "leaderworkerset.x-k8s.io/v1"


def workload_selector(name: str) -> str:
    """Label selector matching every object we render for the workload ``name``."""
    return f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{WORKLOAD_LABEL}={name}"


def token_secret_name(workload: str) -> str:
    """Name of the Secret holding a Hugging Face token given in the spec."""
    return f"{workload}-hf-token"


def leader_service_name(workload: str) -> str:
    """Name of a DistributedInference's leader Service."""
    return f"{workload}-leader"


def history_name(workload: str) -> str:
    """Name of the ConfigMap holding the workload's rollout history."""
    return f"{workload}-history"


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
                raise DeployError(f"{self.kind}: a namespace is needed for this namespaced "
                                  "kind (got none)")
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
    Resource("v1", "Node", "nodes", namespaced=False),
    Resource("events.k8s.io/v1", "Event", "events"),
    Resource("apps/v1", "Deployment", "deployments"),
    Resource("apps/v1", "StatefulSet", "statefulsets"),
    Resource(KNATIVE_API, "Service", "services"),
    Resource(KNATIVE_API, "Revision", "revisions"),
    Resource(KNATIVE_API, "Configuration", "configurations"),
    Resource(KNATIVE_API, "Route", "routes"),
    Resource(LWS_API, "LeaderWorkerSet", "leaderworkersets"),
    Resource("security.istio.io/v1", "AuthorizationPolicy", "authorizationpolicies"),
    Resource("security.istio.io/v1", "RequestAuthentication", "requestauthentications"),
    Resource("scheduling.run.ai/v2", "Queue", "queues", namespaced=False),
    Resource("scheduling.run.ai/v2alpha2", "PodGroup", "podgroups"),
    Resource("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", namespaced=False),
)
#: ``(apiVersion, kind)`` → :class:`Resource`. No plural guessing.
RESOURCES: Mapping[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in _TABLE}

KNATIVE_SERVICE = RESOURCES[(KNATIVE_API, "Service")]
KNATIVE_REVISION = RESOURCES[(KNATIVE_API, "Revision")]
LEADER_WORKER_SET = RESOURCES[(LWS_API, "LeaderWorkerSet")]
POD = RESOURCES[("v1", "Pod")]
EVENT = RESOURCES[("v1", "Event")]
SECRET = RESOURCES[("v1", "Secret")]
CONFIG_MAP = RESOURCES[("v1", "ConfigMap")]
#: The serving objects, in the order a lookup by name tries them.
SERVING_RESOURCES = (KNATIVE_SERVICE, LEADER_WORKER_SET)


class UnknownKind(DeployError, ValueError):
    """A kind missing from :data:`RESOURCES` (the message lists the known ones)."""


def resource_for(api_version: str, kind: str) -> Resource:
    """Look up a kind; raise :class:`UnknownKind` naming it and the known ones."""
    try:
        return RESOURCES[(api_version, kind)]
    except KeyError:
        known = ", ".join(sorted(f"{r.api_version}/{r.kind}" for r in _TABLE))
        raise UnknownKind(f"kind {api_version}/{kind} is not in the resource table; "
                          f"known: {known}") from None


def resource_of(manifest: Mapping[str, object]) -> Resource:
    """Resource of a manifest dict (reads ``apiVersion`` and ``kind``)."""
    return resource_for(str(manifest.get("apiVersion", "")), str(manifest.get("kind", "")))
