"""API conformance, run against both the sandbox and the real kube-apiserver: CRUD, server-side
apply, watch resume and ``410 Gone``, dry run, field validation, the status subresource,
admission errors, label selectors, namespaces that must exist, deletion with finalizers.

Each test asserts what the real server does; a difference the sandbox keeps on purpose is
listed in docs/sandbox.md ("Known limits")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inference_sandbox import Sandbox
from inference_sandbox.config import SandboxConfig
from inference_sandbox.testing import wait_for
from tests.kubehttp import MERGE, KubeHttp
from tests.real.cluster import RealCluster
from tests.real.parity import ApiServerUnderTest


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[ApiServerUnderTest]:
    with Sandbox(SandboxConfig(speed=100.0, controllers=False)).running() as sb:
        yield ApiServerUnderTest("sandbox", sb.kubeconfig_path,
                                 lambda: sb.call(sb.store.compact))


@pytest.fixture(params=[pytest.param("sandbox"), pytest.param("real", marks=pytest.mark.real)])
def server(request: pytest.FixtureRequest) -> ApiServerUnderTest:
    if request.param == "sandbox":
        return request.getfixturevalue("sandbox_server")  # type: ignore[no-any-return]
    cluster: RealCluster = request.getfixturevalue("real_cluster")
    return ApiServerUnderTest("real", cluster.kubeconfig, cluster.compact_etcd)


@pytest.fixture
def http(server: ApiServerUnderTest) -> Iterator[KubeHttp]:
    client = server.client()
    yield client
    client.close()


def cm(ns: str, name: str = "c", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": dict(data)}


def lws(ns: str, name: str = "dist", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 1, "leaderWorkerTemplate": {"size": 2, "workerTemplate": {
                "spec": {"containers": [{"name": "w", "image": "registry.local/w:1"}]}}},
                **spec}}


def test_crud_and_status_bodies(server: ApiServerUnderTest, http: KubeHttp) -> None:
    ns = server.namespace(http)
    created = http.create(cm(ns, a="1"))
    assert created.status_code == 201
    again = http.create(cm(ns, a="1"))
    assert again.status_code == 409
    assert (again.json()["kind"], again.json()["reason"]) == ("Status", "AlreadyExists")
    assert again.json()["details"] == {"name": "c", "kind": "configmaps"}
    stale = {**created.json(), "data": {"a": "2"}}
    assert http.request("PUT", f"/api/v1/namespaces/{ns}/configmaps/c", body=stale
                        ).status_code == 200
    conflict = http.request("PUT", f"/api/v1/namespaces/{ns}/configmaps/c", body=stale)
    assert conflict.status_code == 409
    assert conflict.json()["reason"] == "Conflict"
    assert "the object has been modified" in conflict.json()["message"]
    assert http.delete(cm(ns)).status_code == 200
    missing = http.get(f"/api/v1/namespaces/{ns}/configmaps/c")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'configmaps "c" not found'


def test_namespace_must_exist(server: ApiServerUnderTest, http: KubeHttp) -> None:
    response = http.create(cm("no-such-namespace"))
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "no-such-namespace" not found'


def test_server_side_apply_conflict_and_managed_fields(server: ApiServerUnderTest,
                                                       http: KubeHttp) -> None:
    ns = server.namespace(http)
    assert http.apply(cm(ns, image="a:1", keep="x"), manager="infstack").status_code == 201
    conflict = http.apply(cm(ns, image="a:2"), manager="other")
    assert conflict.status_code == 409
    assert conflict.json()["reason"] == "Conflict"
    assert 'conflict with "infstack"' in conflict.json()["message"]
    assert ".data.image" in conflict.json()["message"]
    forced = http.apply(cm(ns, image="a:2"), manager="other", force=True)
    assert forced.status_code == 200
    managers = {m["manager"]: m for m in forced.json()["metadata"]["managedFields"]}
    assert set(managers) == {"infstack", "other"}
    assert managers["other"]["operation"] == "Apply"
    assert "f:image" in managers["other"]["fieldsV1"]["f:data"]
    # The first manager keeps what it alone applies and no longer owns the field it lost.
    assert "f:keep" in managers["infstack"]["fieldsV1"]["f:data"]
    assert "f:image" not in managers["infstack"]["fieldsV1"]["f:data"]
    assert forced.json()["data"] == {"image": "a:2", "keep": "x"}


def test_watch_resumes_from_a_resource_version_and_expires_after_compaction(
        server: ApiServerUnderTest, http: KubeHttp) -> None:
    ns = server.namespace(http)
    first = http.apply(cm(ns, n="0")).json()["metadata"]["resourceVersion"]
    for n in (1, 2):
        http.apply(cm(ns, n=str(n)))
    path = f"/api/v1/namespaces/{ns}/configmaps"
    seen = []
    for event in http.watch(path, resourceVersion=first, timeoutSeconds="5"):
        seen.append((event["type"], event["object"]["data"]["n"]))
        if len(seen) == 2:
            break
    assert seen == [("MODIFIED", "1"), ("MODIFIED", "2")]
    server.compact()

    def expired() -> dict[str, Any] | None:
        for event in http.watch(path, resourceVersion=first, timeoutSeconds="5"):
            if event["type"] in ("ERROR", "HTTP"):
                return event
            return None
        return None

    event = wait_for(expired, timeout=60, interval=0.5, what="410 after compaction")
    status = event.get("object") or event.get("body") or {}
    assert status["code"] == 410
    assert status["reason"] in ("Expired", "Gone")


def test_dry_run_stores_nothing(server: ApiServerUnderTest, http: KubeHttp) -> None:
    ns = server.namespace(http)
    response = http.create(cm(ns, a="1"), dryRun="All")
    assert response.status_code == 201
    assert response.json()["data"] == {"a": "1"}
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/c").status_code == 404
    applied = http.apply(lws(ns), dry_run=True)
    assert applied.status_code == 201
    assert http.get(f"/apis/leaderworkerset.x-k8s.io/v1/namespaces/{ns}/leaderworkersets/dist"
                    ).status_code == 404


@pytest.mark.parametrize("mode", ["Strict", "Warn", "Ignore", None])
def test_field_validation_of_unknown_fields(server: ApiServerUnderTest, http: KubeHttp,
                                            mode: str | None) -> None:
    ns = server.namespace(http)
    body = lws(ns)
    body["spec"]["bogus"] = 1
    params = {"fieldValidation": mode} if mode else {}
    response = http.create(body, **params)
    warnings = response.headers.get_list("warning")
    if mode == "Strict":
        assert response.status_code == 400
        assert response.json()["reason"] == "BadRequest"
        assert 'unknown field "spec.bogus"' in response.json()["message"]
        return
    assert response.status_code == 201, response.text
    assert "bogus" not in response.json()["spec"]
    if mode == "Ignore":
        assert warnings == []
    else:  # Warn, and the server's default for clients that send none
        assert any("unknown field" in w and "spec.bogus" in w for w in warnings), warnings


def test_status_subresource_separates_spec_and_status(server: ApiServerUnderTest,
                                                      http: KubeHttp) -> None:
    ns = server.namespace(http)
    created = http.create(lws(ns)).json()
    base = f"/apis/leaderworkerset.x-k8s.io/v1/namespaces/{ns}/leaderworkersets/dist"
    assert created["metadata"]["generation"] == 1
    with_status = {**created, "status": {"replicas": 7}}
    updated = http.request("PUT", base, body=with_status).json()
    assert updated.get("status", {}).get("replicas") != 7
    assert updated["metadata"]["generation"] == 1
    status_write = {**updated, "spec": {**updated["spec"], "replicas": 3},
                    "status": {"replicas": 7}}
    response = http.request("PUT", base + "/status", body=status_write)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["status"]["replicas"] == 7
    assert stored["spec"]["replicas"] == 1
    assert stored["metadata"]["generation"] == 1
    patched = http.request("PATCH", base, body={"spec": {"replicas": 2}}, content_type=MERGE)
    assert patched.json()["metadata"]["generation"] == 2
    assert patched.json()["status"]["replicas"] == 7


def test_admission_errors_name_the_field(server: ApiServerUnderTest, http: KubeHttp) -> None:
    ns = server.namespace(http)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
           "spec": {"containers": []}}
    response = http.create(pod)
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert body["message"].startswith('Pod "p" is invalid: spec.containers: Required value')
    bad = lws(ns)
    bad["spec"]["replicas"] = "three"
    response = http.create(bad)
    assert response.status_code == 422
    assert response.json()["reason"] == "Invalid"
    assert "spec.replicas" in response.json()["message"]
    assert "integer" in response.json()["message"]


@pytest.mark.parametrize(("selector", "expected"), [
    ("tier=gpu", ["a", "b"]), ("tier!=gpu", ["c", "d"]), ("tier in (gpu,cpu)", ["a", "b", "c"]),
    ("tier notin (gpu)", ["c", "d"]), ("tier", ["a", "b", "c"]), ("!tier", ["d"]),
    ("tier=gpu,size=big", ["b"]),
])
def test_label_selectors(server: ApiServerUnderTest, http: KubeHttp, selector: str,
                         expected: list[str]) -> None:
    ns = server.namespace(http)
    labels = {"a": {"tier": "gpu"}, "b": {"tier": "gpu", "size": "big"}, "c": {"tier": "cpu"},
              "d": {}}
    for name, lab in labels.items():
        obj = cm(ns, name)
        obj["metadata"]["labels"] = lab
        assert http.create(obj).status_code == 201
    listing = http.get(f"/api/v1/namespaces/{ns}/configmaps", labelSelector=selector).json()
    assert sorted(i["metadata"]["name"] for i in listing["items"]) == expected


def test_deletion_waits_for_finalizers(server: ApiServerUnderTest, http: KubeHttp) -> None:
    ns = server.namespace(http)
    obj = cm(ns)
    obj["metadata"]["finalizers"] = ["example.com/hold"]
    assert http.create(obj).status_code == 201
    path = f"/api/v1/namespaces/{ns}/configmaps/c"
    deleting = http.delete(obj)
    assert deleting.status_code in (200, 202)
    held = http.get(path)
    assert held.status_code == 200
    assert held.json()["metadata"]["deletionTimestamp"]
    assert held.json()["metadata"]["finalizers"] == ["example.com/hold"]
    released = http.request("PATCH", path, body={"metadata": {"finalizers": None}},
                            content_type=MERGE)
    assert released.status_code == 200
    wait_for(lambda: http.get(path).status_code == 404, timeout=30, what="object removed")
