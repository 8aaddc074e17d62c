"""Authentication by bearer token and RBAC authorization, as the API server does them.

The sandbox's main token (``SandboxConfig.token``) belongs to ``sandbox-user`` in
``system:masters``: everything is allowed, as for a cluster administrator. Further tokens
(``SandboxConfig.tokens``: token → username) are ordinary users — a service account is named
``system:serviceaccount:<namespace>:<name>`` and gets the service-account groups — and their
requests are authorized against the stored Roles, ClusterRoles, RoleBindings and
ClusterRoleBindings, with the API server's 403 wording. Every authenticated user may read
discovery, OpenAPI and ``/version`` and create access reviews (``system:basic-user``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from inference_sandbox.apierrors import ApiError
from inference_sandbox.store import Store

ADMIN_GROUP = "system:masters"
ROLE = ("rbac.authorization.k8s.io/v1", "Role")
CLUSTER_ROLE = ("rbac.authorization.k8s.io/v1", "ClusterRole")
ROLE_BINDING = ("rbac.authorization.k8s.io/v1", "RoleBinding")
CLUSTER_ROLE_BINDING = ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
#: Resources every authenticated user may create (self reviews).
SELF_REVIEWS = {("authorization.k8s.io", "selfsubjectaccessreviews"),
                ("authorization.k8s.io", "selfsubjectrulesreviews"),
                ("authentication.k8s.io", "selfsubjectreviews")}


@dataclass(frozen=True)
class User:
    """An authenticated user."""

    name: str
    groups: tuple[str, ...]

    @property
    def admin(self) -> bool:
        """Members of ``system:masters`` bypass authorization."""
        return ADMIN_GROUP in self.groups


@dataclass(frozen=True)
class Attributes:
    """What a request does, in RBAC terms."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


def user_for(name: str) -> User:
    """The groups the API server gives ``name`` (service accounts get theirs)."""
    groups = ["system:authenticated"]
    parts = name.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        groups[:0] = ["system:serviceaccounts", f"system:serviceaccounts:{parts[2]}"]
    return User(name, tuple(groups))


class Authenticator:
    """Bearer tokens → users."""

    def __init__(self, admin_token: str | None, tokens: Mapping[str, str]) -> None:
        self.users: dict[str, User] = {t: user_for(n) for t, n in tokens.items()}
        if admin_token is not None:
            self.users[admin_token] = User("sandbox-user", (ADMIN_GROUP, "system:authenticated"))
        self.open = admin_token is None and not tokens

    def authenticate(self, header: str | None) -> User | None:
        """The user of an ``Authorization: Bearer`` header (None: 401)."""
        if self.open:
            return User("system:anonymous", (ADMIN_GROUP, "system:unauthenticated"))
        if not header or not header.startswith("Bearer "):
            return None
        return self.users.get(header[len("Bearer "):])


def _matches(values: Iterable[str] | None, wanted: str) -> bool:
    listed = list(values or [])
    return "*" in listed or wanted in listed


def _rule_allows(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = list(rule.get("resources") or [])
    resource_ok = "*" in resources or resource in resources or (
        attrs.subresource and f"*/{attrs.subresource}" in resources)
    names = rule.get("resourceNames") or []
    return bool(_matches(rule.get("verbs"), attrs.verb)
                and _matches(rule.get("apiGroups"), attrs.group) and resource_ok
                and (not names or attrs.name in names))


class Authorizer:
    """RBAC over the objects in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _subject_matches(self, subject: Mapping[str, Any], user: User) -> bool:
        kind = subject.get("kind")
        if kind == "User":
            return bool(subject.get("name") == user.name)
        if kind == "Group":
            return subject.get("name") in user.groups
        if kind == "ServiceAccount":
            return user.name == (f"system:serviceaccount:{subject.get('namespace', '')}:"
                                 f"{subject.get('name', '')}")
        return False

    def _rules(self, ref: Mapping[str, Any], namespace: str) -> list[Mapping[str, Any]]:
        if ref.get("kind") == "ClusterRole":
            role = self.store.get(CLUSTER_ROLE, None, ref.get("name", ""), copy=False)
        else:
            role = self.store.get(ROLE, namespace, ref.get("name", ""), copy=False)
        return list((role or {}).get("rules") or [])

    def rules_for(self, user: User, namespace: str) -> list[Mapping[str, Any]]:
        """Every rule granted to ``user`` in ``namespace`` (cluster-wide ones included)."""
        rules: list[Mapping[str, Any]] = []
        for binding in self.store.list(CLUSTER_ROLE_BINDING, copy=False):
            if any(self._subject_matches(s, user) for s in binding.get("subjects") or []):
                rules.extend(self._rules(binding.get("roleRef") or {}, ""))
        if namespace:
            for binding in self.store.list(ROLE_BINDING, namespace, copy=False):
                if any(self._subject_matches(s, user) for s in binding.get("subjects") or []):
                    rules.extend(self._rules(binding.get("roleRef") or {}, namespace))
        return rules

    def allowed(self, user: User, attrs: Attributes) -> bool:
        """Whether RBAC lets ``user`` do ``attrs``."""
        if user.admin or (attrs.group, attrs.resource) in SELF_REVIEWS:
            return True
        return any(_rule_allows(rule, attrs) for rule in self.rules_for(user, attrs.namespace))

    def check(self, user: User, attrs: Attributes) -> None:
        """Raise the API server's 403 when not allowed."""
        if self.allowed(user, attrs):
            return
        qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
        subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource \
            else attrs.resource
        where = f'in the namespace "{attrs.namespace}"' if attrs.namespace \
            else "at the cluster scope"
        details: dict[str, Any] = {"kind": attrs.resource}
        if attrs.name:
            details["name"] = attrs.name
        if attrs.group:
            details["group"] = attrs.group
        raise ApiError(403, "Forbidden",
                       f'{subject} is forbidden: User "{user.name}" cannot {attrs.verb} '
                       f'resource "{resource}" in API group "{attrs.group}" {where}',
                       details=details)
