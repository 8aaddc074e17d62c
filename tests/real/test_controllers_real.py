"""The sandbox's simulated controllers as ordinary API clients of a real kube-apiserver:
rendered workloads are applied with server-side apply, the controllers drive their status,
and ``inference_core.readiness.evaluate`` judges what the real server returns. Also the real
server's watch behaviour (bookmarks, ``410 Gone`` after an etcd compaction), SSA conflicts
between field managers with real ``managedFields``, and a least-privilege Role."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.profile import load_profile
from inference_core.readiness import evaluate, pod_selector
from inference_sandbox.controllers.remote import RemoteControllers
from inference_sandbox.testing import wait_for
from tests.helpers import REPO
from tests.kubehttp import KubeHttp
from tests.real.cluster import RealCluster, dump
from tests.real.manifests import render_all
from tests.real.validate import run_validator

pytestmark = pytest.mark.real
WAIT = 120.0
"""Generous bound on a controller-driven wait (two loaded cores)."""


def webhook_defaulted(validator: Any, objects: list[dict[str, Any]], profile: Any
                      ) -> list[dict[str, Any]]:
    """The objects as the Knative/LWS defaulting webhooks would store them (no webhooks run on
    this API server, so their upstream code runs here first)."""
    report = run_validator(validator, objects, profile, defaulted=True)
    out = []
    for obj, doc in zip(objects, report["documents"], strict=True):
        if doc.get("defaulted"):
            defaulted = doc["defaulted"]
            defaulted.pop("status", None)
            defaulted["metadata"].pop("creationTimestamp", None)
            out.append(defaulted)
        else:
            out.append(obj)
    return out


def judge(http: KubeHttp, obj: dict[str, Any]) -> Any:
    """``readiness.evaluate`` over the live object, its pods, events and revisions."""
    md = obj["metadata"]
    ns = md["namespace"]
    live = http.get(f"/apis/{obj['apiVersion']}/namespaces/{ns}/"
                    f"{'services' if obj['kind'] == 'Service' else 'leaderworkersets'}/"
                    f"{md['name']}").json()
    pods = http.get(f"/api/v1/namespaces/{ns}/pods",
                    labelSelector=pod_selector(live)).json()["items"]
    events = http.get(f"/api/v1/namespaces/{ns}/events").json()["items"]
    revisions = http.get(f"/apis/serving.knative.dev/v1/namespaces/{ns}/revisions").json()[
        "items"] if obj["kind"] == "Service" else []
    return evaluate(live, pods=pods, events=events, revisions=revisions,
                    expected_generation=live["metadata"].get("generation"))


def referenced(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Secrets and ConfigMaps the workloads' pods read (env, envFrom, volumes) that the
    manifests do not create: what a user creates before deploying."""
    made = {(o["kind"], o["metadata"]["name"]) for o in objects}
    wanted: dict[tuple[str, str, str], set[str]] = {}

    def want(kind: str, ns: str, name: str, key: str | None = None) -> None:
        keys = wanted.setdefault((kind, ns, name), set())
        if key:
            keys.add(key)

    def walk(node: Any, ns: str) -> None:
        if isinstance(node, dict):
            for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if isinstance(node.get(field), dict):
                    want(kind, ns, node[field]["name"], node[field].get("key"))
            for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if isinstance(node.get(field), dict):
                    want(kind, ns, node[field]["name"])
            if isinstance(node.get("secret"), dict) and "secretName" in node["secret"]:
                want("Secret", ns, node["secret"]["secretName"])
            if isinstance(node.get("configMap"), dict) and "name" in node["configMap"]:
                want("ConfigMap", ns, node["configMap"]["name"])
            for value in node.values():
                walk(value, ns)
        elif isinstance(node, list):
            for value in node:
                walk(value, ns)

    for obj in objects:
        walk(obj.get("spec"), obj["metadata"].get("namespace", "default"))
    out = []
    for (kind, ns, name), keys in sorted(wanted.items()):
        if (kind, name) in made:
            continue
        data = {key: "placeholder" for key in sorted(keys)} or {"placeholder": "x"}
        body: dict[str, Any] = {"apiVersion": "v1", "kind": kind,
                                "metadata": {"name": name, "namespace": ns}}
        body["stringData" if kind == "Secret" else "data"] = data
        out.append(body)
    return out


def deploy(real_cluster: RealCluster, objects: list[dict[str, Any]],
           manager: str = "infstack") -> None:
    for ns in {o["metadata"]["namespace"] for o in objects}:
        real_cluster.ensure_namespace(ns)
    with real_cluster.client() as http:
        for obj in objects:
            response = http.apply(obj, manager=manager)
            assert response.status_code in (200, 201), response.text


def serving(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] in ("LeaderWorkerSet",)
                or o["apiVersion"] == "serving.knative.dev/v1")


@pytest.mark.parametrize("example", ["custom-http", "distributed-native"])
def test_rendered_workload_becomes_ready_on_the_real_server(
        example: str, real_cluster: RealCluster, controllers: RemoteControllers,
        validator_path: Any) -> None:
    profile = load_profile("default")
    objects = webhook_defaulted(validator_path, render_all(
        REPO / "examples" / f"{example}.yaml", profile), profile)
    deploy(real_cluster, referenced(objects) + objects)
    target = serving(objects)
    with real_cluster.client() as http:
        verdict = wait_for(lambda: (r := judge(http, target)).terminal and r, timeout=WAIT,
                           interval=0.2, what=f"{example} terminal")
        assert verdict.ready, verdict.message
        assert verdict.observed_generation == 1


def test_missing_secret_fails_fast_with_the_kubelet_reason(
        real_cluster: RealCluster, controllers: RemoteControllers, validator_path: Any) -> None:
    profile = load_profile("default")
    objects = render_all(REPO / "examples" / "hf-gated-cluster-local.yaml", profile)
    objects = [o for o in objects if o["kind"] != "Secret"]  # the token Secret never made it
    objects = webhook_defaulted(validator_path, objects, profile)
    target = serving(objects)
    ns = target["metadata"]["namespace"]
    secret_refs = [e["valueFrom"]["secretKeyRef"]["name"]
                   for c in target["spec"]["template"]["spec"]["containers"]
                   for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
    assert secret_refs, "the example reads its token from a Secret"
    others = [o for o in referenced(objects) if o["metadata"]["name"] != secret_refs[0]]
    deploy(real_cluster, others + objects)
    with real_cluster.client() as http:
        assert http.get(f"/api/v1/namespaces/{ns}/secrets/{secret_refs[0]}").status_code == 404
        verdict = wait_for(lambda: (r := judge(http, target)).terminal and r, timeout=WAIT,
                           interval=0.2, what="failed verdict")
    assert verdict.failed, verdict
    assert verdict.reason == "CreateContainerConfigError"
    assert f'secret "{secret_refs[0]}" not found' in verdict.message


def test_second_field_manager_conflicts_and_managed_fields_are_real(
        real_cluster: RealCluster) -> None:
    real_cluster.ensure_namespace("ssa")
    svc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
           "metadata": {"name": "owned", "namespace": "ssa"},
           "spec": {"template": {"metadata": {"labels": {"team": "a"}},
                                 "spec": {"containers": [{"image": "registry.local/a:1"}]}}}}
    with real_cluster.client() as http:
        assert http.apply(svc, manager="infstack").status_code in (200, 201)
        other = {**svc, "spec": {"template": {"spec": {"containers": [
            {"image": "registry.local/a:2"}]}}}}
        conflict = http.apply(other, manager="airflow-rollout")
        assert conflict.status_code == 409
        body = conflict.json()
        assert body["reason"] == "Conflict"
        assert 'conflict with "infstack"' in body["message"]
        assert ".spec.template.spec.containers" in body["message"]
        forced = http.apply(other, manager="airflow-rollout", force=True)
        assert forced.status_code == 200
        managed = {m["manager"]: m for m in forced.json()["metadata"]["managedFields"]}
        assert set(managed) == {"infstack", "airflow-rollout"}
        assert managed["airflow-rollout"]["operation"] == "Apply"
        ours = managed["infstack"]["fieldsV1"]["f:spec"]["f:template"]
        theirs = managed["airflow-rollout"]["fieldsV1"]["f:spec"]["f:template"]
        # The label stays ours; the containers list went to the manager that forced.
        assert "f:metadata" in ours and "f:spec" not in ours
        assert "f:containers" in theirs["f:spec"]
        # The same value applied by both managers is owned by both.
        shared = http.apply({**other, "spec": {"template": {
            "metadata": {"labels": {"team": "a"}}, **other["spec"]["template"]}}},
            manager="airflow-rollout")
        assert shared.status_code == 200, shared.text
        owners = [m["manager"] for m in shared.json()["metadata"]["managedFields"]
                  if "f:labels" in m["fieldsV1"]["f:spec"]["f:template"].get("f:metadata", {})]
        assert sorted(owners) == ["airflow-rollout", "infstack"]


def test_watch_bookmark_marks_the_end_of_initial_events(real_cluster: RealCluster) -> None:
    real_cluster.ensure_namespace("watching")
    with real_cluster.client() as http:
        for i in range(3):
            http.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": f"s{i}", "namespace": "watching"},
                        "stringData": {"k": "v"}})
        seen: list[dict[str, Any]] = []
        for event in http.watch("/api/v1/namespaces/watching/secrets", timeout=60,
                                sendInitialEvents="true", allowWatchBookmarks="true",
                                resourceVersionMatch="NotOlderThan", timeoutSeconds="30"):
            seen.append(event)
            if event["type"] == "BOOKMARK":
                break
    assert [e["type"] for e in seen] == ["ADDED"] * 3 + ["BOOKMARK"], dump(seen)
    bookmark = seen[-1]["object"]["metadata"]
    assert bookmark["annotations"]["k8s.io/initial-events-end"] == "true"
    assert int(bookmark["resourceVersion"]) >= max(
        int(e["object"]["metadata"]["resourceVersion"]) for e in seen[:-1])


def test_watch_from_a_compacted_revision_is_410_gone(real_cluster: RealCluster) -> None:
    real_cluster.ensure_namespace("compaction")
    with real_cluster.client() as http:
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "c", "namespace": "compaction"}, "data": {"n": "0"}}
        first = http.apply(cm).json()["metadata"]["resourceVersion"]
        for n in range(1, 4):
            http.apply({**cm, "data": {"n": str(n)}})
        # Before the compaction the old revision can still be watched.
        events = http.watch("/api/v1/namespaces/compaction/configmaps", resourceVersion=first,
                            timeoutSeconds="5")
        assert next(events)["type"] == "MODIFIED"
        events.close()
        real_cluster.compact_etcd()
        # The compaction reaches kube-apiserver's etcd watch asynchronously: retry (bounded).
        def gone() -> dict[str, Any] | None:
            for event in http.watch("/api/v1/namespaces/compaction/configmaps",
                                    resourceVersion=first, timeoutSeconds="5"):
                if event["type"] == "ERROR" or event["type"] == "HTTP":
                    return event
                return None
            return None

        event = wait_for(gone, timeout=60, interval=0.5, what="410 after compaction")
    status = event.get("object") or event.get("body")
    assert status["code"] == 410
    assert status["reason"] in ("Expired", "Gone")


def test_least_privilege_role_is_enough_to_deploy_and_watch(
        real_cluster: RealCluster) -> None:
    rules = [
        {"apiGroups": ["serving.knative.dev"], "resources": ["services"],
         "verbs": ["get", "list", "watch", "create", "patch"]},
        {"apiGroups": ["serving.knative.dev"], "resources": ["revisions"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
    ]
    kubeconfig = real_cluster.service_account_kubeconfig("least", "deployer", rules=rules)
    svc = {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
           "metadata": {"name": "small", "namespace": "least"},
           "spec": {"template": {"spec": {"containers": [{"image": "registry.local/a:1"}]}}}}
    with real_cluster.client(kubeconfig) as http:
        assert http.apply(svc, manager="infstack").status_code == 201
        assert http.get("/apis/serving.knative.dev/v1/namespaces/least/services",
                        watch="0").status_code == 200
        stream = http.watch("/api/v1/namespaces/least/pods", timeoutSeconds="1")
        assert all(e["type"] != "HTTP" for e in stream)
        denied = http.apply({"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": "x", "namespace": "least"}})
        assert denied.status_code == 403
        other_ns = http.get("/apis/serving.knative.dev/v1/namespaces/default/services")
        assert other_ns.status_code == 403

