"""The explicit table of kinds the sandbox serves: group/version/kind → plural, scope, subresources.

No plural is ever guessed from a kind; every served resource is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    """One served resource (all its versions share one storage)."""

    group: str
    versions: tuple[str, ...]
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    status: bool = False
    scale: bool = False
    crd: bool = False
    stored: bool = True
    verbs: tuple[str, ...] = (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )
    categories: tuple[str, ...] = field(default=())
    #: Deleting returns a ``Status`` (True) or the deleted object (False), as upstream.
    delete_returns_status: bool = False

    @property
    def version(self) -> str:
        """The storage (preferred) version."""
        return self.versions[0]

    @property
    def api_version(self) -> str:
        """``group/version`` or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``plural.group`` as used in error messages (``pods`` for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        """Kind of the list object."""
        return f"{self.kind}List"

    def api_version_for(self, version: str) -> str:
        """``group/<version>``."""
        return f"{self.group}/{version}" if self.group else version


RESOURCES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType("", ("v1",), "Namespace", "namespaces", "namespace", False, ("ns",), status=True,
                 verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    ResourceType("", ("v1",), "Secret", "secrets", "secret", True, delete_returns_status=True),
    ResourceType("", ("v1",), "ConfigMap", "configmaps", "configmap", True, ("cm",),
                 delete_returns_status=True),
    ResourceType("", ("v1",), "Service", "services", "service", True, ("svc",), status=True,
                 verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update",
                        "watch"), categories=("all",)),
    ResourceType("", ("v1",), "PersistentVolumeClaim", "persistentvolumeclaims",
                 "persistentvolumeclaim", True, ("pvc",), status=True),
    ResourceType("", ("v1",), "Pod", "pods", "pod", True, ("po",), status=True,
                 categories=("all",)),
    ResourceType("", ("v1",), "Event", "events", "event", True, ("ev",),
                 delete_returns_status=True),
    ResourceType("", ("v1",), "ServiceAccount", "serviceaccounts", "serviceaccount", True,
                 ("sa",), delete_returns_status=True),
    ResourceType("", ("v1",), "Node", "nodes", "node", False, ("no",), status=True),
    # rbac
    ResourceType("rbac.authorization.k8s.io", ("v1",), "Role", "roles", "role", True,
                 delete_returns_status=True),
    ResourceType("rbac.authorization.k8s.io", ("v1",), "RoleBinding", "rolebindings",
                 "rolebinding", True, delete_returns_status=True),
    ResourceType("rbac.authorization.k8s.io", ("v1",), "ClusterRole", "clusterroles",
                 "clusterrole", False, delete_returns_status=True),
    ResourceType("rbac.authorization.k8s.io", ("v1",), "ClusterRoleBinding",
                 "clusterrolebindings", "clusterrolebinding", False,
                 delete_returns_status=True),
    ResourceType("scheduling.k8s.io", ("v1",), "PriorityClass", "priorityclasses",
                 "priorityclass", False, ("pc",), delete_returns_status=True),
    ResourceType("authorization.k8s.io", ("v1",), "SelfSubjectAccessReview",
                 "selfsubjectaccessreviews", "selfsubjectaccessreview", False,
                 stored=False, verbs=("create",)),
    ResourceType("authorization.k8s.io", ("v1",), "SelfSubjectRulesReview",
                 "selfsubjectrulesreviews", "selfsubjectrulesreview", False,
                 stored=False, verbs=("create",)),
    ResourceType("authentication.k8s.io", ("v1",), "SelfSubjectReview",
                 "selfsubjectreviews", "selfsubjectreview", False,
                 stored=False, verbs=("create",)),
    # apps/v1 (stored and served; no controller rolls them out)
    ResourceType("apps", ("v1",), "Deployment", "deployments", "deployment", True, ("deploy",),
                 status=True, scale=True, categories=("all",)),
    ResourceType("apps", ("v1",), "StatefulSet", "statefulsets", "statefulset", True, ("sts",),
                 status=True, scale=True, categories=("all",)),
    # Knative Serving
    ResourceType("serving.knative.dev", ("v1",), "Service", "services", "service", True,
                 ("kservice", "ksvc"), status=True, crd=True,
                 categories=("all", "knative", "serving")),
    ResourceType("serving.knative.dev", ("v1",), "Configuration", "configurations",
                 "configuration", True, ("config", "cfg"), status=True, crd=True,
                 categories=("all", "knative", "serving")),
    ResourceType("serving.knative.dev", ("v1",), "Revision", "revisions", "revision", True,
                 ("rev",), status=True, crd=True, categories=("all", "knative", "serving")),
    ResourceType("serving.knative.dev", ("v1",), "Route", "routes", "route", True, ("rt",),
                 status=True, crd=True, categories=("all", "knative", "serving")),
    # LeaderWorkerSet
    ResourceType("leaderworkerset.x-k8s.io", ("v1",), "LeaderWorkerSet", "leaderworkersets",
                 "leaderworkerset", True, ("lws",), status=True, scale=True, crd=True),
    # KAI scheduler
    ResourceType("scheduling.run.ai", ("v2",), "Queue", "queues", "queue", False, status=True,
                 crd=True),
    ResourceType("scheduling.run.ai", ("v2alpha2",), "PodGroup", "podgroups", "podgroup", True,
                 ("pg",), status=True, crd=True),
    # Istio security
    ResourceType("security.istio.io", ("v1", "v1beta1"), "AuthorizationPolicy",
                 "authorizationpolicies", "authorizationpolicy", True, ("ap",), status=True,
                 crd=True, categories=("istio-io", "security-istio-io")),
    ResourceType("security.istio.io", ("v1", "v1beta1"), "RequestAuthentication",
                 "requestauthentications", "requestauthentication", True, ("ra",), status=True,
                 crd=True, categories=("istio-io", "security-istio-io")),
    ResourceType("security.istio.io", ("v1", "v1beta1"), "PeerAuthentication",
                 "peerauthentications", "peerauthentication", True, ("pa",), status=True,
                 crd=True, categories=("istio-io", "security-istio-io")),
)


class ResourceTable:
    """Lookups over :data:`RESOURCES`."""

    def __init__(self, resources: tuple[ResourceType, ...] = RESOURCES) -> None:
        self.resources = resources
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        for rt in resources:
            for version in rt.versions:
                self._by_path[(rt.group, version, rt.plural)] = rt
                self._by_kind[(rt.api_version_for(version), rt.kind)] = rt

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The resource served at ``/apis/<group>/<version>/<plural>``."""
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The resource for ``apiVersion``/``kind``."""
        return self._by_kind.get((api_version, kind))

    def get(self, api_version: str, kind: str) -> ResourceType:
        """Like :meth:`by_kind` but raises ``KeyError`` naming what is served."""
        rt = self.by_kind(api_version, kind)
        if rt is None:
            raise KeyError(f"the sandbox does not serve {api_version} {kind}")
        return rt

    def groups(self) -> dict[str, list[str]]:
        """Group name → served versions (preferred first), excluding the core group."""
        out: dict[str, list[str]] = {}
        for rt in self.resources:
            if not rt.group:
                continue
            versions = out.setdefault(rt.group, [])
            for version in rt.versions:
                if version not in versions:
                    versions.append(version)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        """Resources served in one group/version."""
        return [rt for rt in self.resources if rt.group == group and version in rt.versions]


TABLE = ResourceTable()
