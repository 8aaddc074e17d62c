"""RBAC for the sandbox's extra tokens: Roles, ClusterRoles, bindings, 403s and access reviews."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from inference_sandbox.testing import api_client

WORKER = "system:serviceaccount:team-a:worker"
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
def cluster(sandbox_factory, tmp_path):
    """A sandbox with a worker service-account token bound to a read-pods Role in team-a;
    returns (sandbox, admin clients, worker clients)."""
    sb = sandbox_factory(namespaces=("team-a", "team-b"), tokens={"worker-token": WORKER},
                         controllers=False)
    admin = api_client(sb.kubeconfig_path)
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role("team-a", {
        "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"],
                   "verbs": ["get", "list", "watch"]},
                  {"apiGroups": ["serving.knative.dev"], "resources": ["services"],
                   "verbs": ["*"]}]})
    rbac.create_namespaced_role_binding("team-a", {
        "metadata": {"name": "worker-reads"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "worker", "namespace": "team-a"}]})
    worker = api_client(sb.write_kubeconfig(tmp_path / "worker", "worker-token",
                                            namespace="team-a"))
    return sb, admin, worker


def test_bound_role_allows_only_its_rules(cluster):
    sb, _, worker = cluster
    core = client.CoreV1Api(worker)
    assert core.list_namespaced_pod("team-a").items == []
    with pytest.raises(ApiException) as other_ns:
        core.list_namespaced_pod("team-b")
    assert other_ns.value.status == 403
    status = json.loads(other_ns.value.body)
    assert status["reason"] == "Forbidden"
    assert status["message"] == (
        f'pods is forbidden: User "{WORKER}" cannot list resource "pods" in API group "" in '
        'the namespace "team-b"')
    with pytest.raises(ApiException) as write:
        core.create_namespaced_config_map("team-a", {"metadata": {"name": "x"}})
    assert write.value.status == 403
    with pytest.raises(ApiException) as named:
        core.delete_namespaced_pod("p", "team-a")
    assert json.loads(named.value.body)["message"].startswith(
        f'pods "p" is forbidden: User "{WORKER}" cannot delete resource "pods"')
    with pytest.raises(ApiException) as cluster_scope:
        core.list_node()
    assert json.loads(cluster_scope.value.body)["message"].endswith("at the cluster scope")
    custom = client.CustomObjectsApi(worker)
    assert custom.list_namespaced_custom_object("serving.knative.dev", "v1", "team-a",
                                                "services")["items"] == []
    assert sb.store.get(("v1", "ConfigMap"), "team-a", "x") is None


def test_cluster_role_binding_grants_everywhere(cluster):
    _, admin, worker = cluster
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_cluster_role({"metadata": {"name": "node-reader"},
                              "rules": [{"apiGroups": [""], "resources": ["nodes"],
                                         "verbs": ["list"]}]})
    rbac.create_cluster_role_binding({
        "metadata": {"name": "workers-read-nodes"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "node-reader"},
        "subjects": [{"kind": "Group", "name": "system:serviceaccounts:team-a"}]})
    assert len(client.CoreV1Api(worker).list_node().items) == 2


def test_access_reviews_use_the_same_rules(cluster):
    _, admin, worker = cluster
    auth = client.AuthorizationV1Api(worker)

    def can(verb: str, resource: str, namespace: str) -> bool:
        review = auth.create_self_subject_access_review({"spec": {"resourceAttributes": {
            "verb": verb, "resource": resource, "namespace": namespace}}})
        return bool(review.status.allowed)

    assert can("watch", "pods", "team-a") is True
    assert can("create", "pods", "team-a") is False
    assert can("list", "pods", "team-b") is False
    rules = auth.create_self_subject_rules_review({"spec": {"namespace": "team-a"}})
    assert any("pods" in r.resources and "watch" in r.verbs
               for r in rules.status.resource_rules)
    who = client.AuthenticationV1Api(worker).create_self_subject_review({})
    assert who.status.user_info.username == WORKER
    assert "system:serviceaccounts:team-a" in who.status.user_info.groups
    admin_review = client.AuthorizationV1Api(admin).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
    assert admin_review.status.allowed is True


def test_unknown_tokens_are_unauthorized(cluster, tmp_path):
    sb, _, _ = cluster
    stranger = api_client(sb.write_kubeconfig(tmp_path / "stranger", "nobody"))
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(stranger).list_namespaced_pod("team-a")
    assert err.value.status == 401
