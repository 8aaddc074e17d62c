"""The real control plane itself: TLS with our CA, token authentication, RBAC, CRDs."""

from __future__ import annotations

import pytest

from tests.real.cluster import RealCluster

pytestmark = pytest.mark.real


def test_serves_tls_and_rejects_anonymous_and_unknown_tokens(real_cluster: RealCluster) -> None:
    with real_cluster.client() as http:
        assert http.get("/readyz").status_code == 200
        version = http.get("/version").json()
        assert version["gitVersion"].startswith("v1.")
        anonymous = http.http.get("/api/v1/namespaces", headers={"Authorization": ""})
        assert anonymous.status_code in (401, 403)
        bad = http.http.get("/api/v1/namespaces", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401


def test_crds_from_the_shared_schemas_are_served(real_cluster: RealCluster) -> None:
    with real_cluster.client() as http:
        for path, plural in [("/apis/serving.knative.dev/v1", "services"),
                             ("/apis/leaderworkerset.x-k8s.io/v1", "leaderworkersets"),
                             ("/apis/scheduling.run.ai/v2", "queues"),
                             ("/apis/scheduling.run.ai/v2alpha2", "podgroups"),
                             ("/apis/security.istio.io/v1", "authorizationpolicies")]:
            listing = http.get(path)
            assert listing.status_code == 200, path
            assert plural in {r["name"] for r in listing.json()["resources"]}


def test_rbac_denies_an_unbound_user_and_allows_what_a_role_grants(
        real_cluster: RealCluster) -> None:
    real_cluster.ensure_namespace("rbac-check")
    outsider = real_cluster.user_kubeconfig("outsider", "rbac-check")
    with real_cluster.client(outsider) as http:
        denied = http.get("/api/v1/namespaces/rbac-check/configmaps")
        assert denied.status_code == 403
        assert denied.json()["reason"] == "Forbidden"
    sa = real_cluster.service_account_kubeconfig(
        "rbac-check", "reader", rules=[{"apiGroups": [""], "resources": ["configmaps"],
                                        "verbs": ["get", "list"]}])
    with real_cluster.client(sa) as http:
        assert http.get("/api/v1/namespaces/rbac-check/configmaps").status_code == 200
        created = http.create({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "x", "namespace": "rbac-check"}})
        assert created.status_code == 403
        assert "system:serviceaccount:rbac-check:reader" in created.json()["message"]


def test_kubectl_of_the_same_minor_works_with_the_written_kubeconfig(
        real_cluster: RealCluster) -> None:
    result = real_cluster.kubectl("get", "crd", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert "customresourcedefinition.apiextensions.k8s.io/services.serving.knative.dev" \
        in result.stdout.split()
    can_i = real_cluster.kubectl("auth", "can-i", "list", "configmaps", "-n", "rbac-check",
                                 kubeconfig=real_cluster.user_kubeconfig("outsider"))
    assert can_i.stdout.strip() == "no"
