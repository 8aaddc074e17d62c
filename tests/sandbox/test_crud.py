"""CRUD, resourceVersion/generation semantics, status subresource, selectors, dryRun."""

from __future__ import annotations

import base64
import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.sandbox.util import KSVC, Clients, ksvc


@pytest.fixture
def k(sandbox):
    return Clients(sandbox)


def _status(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_discovery_lists_every_group_the_project_uses(k):
    groups = {g.name: [v.version for v in g.versions]
              for g in client.ApisApi(k.api).get_api_versions().groups}
    assert groups["serving.knative.dev"] == ["v1"]
    assert groups["leaderworkerset.x-k8s.io"] == ["v1"]
    assert groups["scheduling.run.ai"] == ["v2", "v2alpha2"]
    assert groups["security.istio.io"] == ["v1", "v1beta1"]
    core = {r.name: r for r in client.CoreV1Api(k.api).get_api_resources().resources}
    assert core["namespaces"].namespaced is False
    assert core["pods"].namespaced is True
    assert "pods/status" in core
    queues = client.CustomObjectsApi(k.api).get_api_resources("scheduling.run.ai", "v2")
    assert [(r.name, r.namespaced) for r in queues.resources if "/" not in r.name] == [
        ("queues", False)]
    assert client.VersionApi(k.api).get_code().git_version.startswith("v1.")


def test_configmap_crud_bumps_resource_version(k):
    created = k.core.create_namespaced_config_map(
        "default", {"metadata": {"name": "cm", "labels": {"app": "a"}}, "data": {"k": "v"}})
    rv1 = int(created.metadata.resource_version)
    assert created.metadata.uid and created.metadata.creation_timestamp
    created.data["k"] = "w"
    replaced = k.core.replace_namespaced_config_map("cm", "default", created)
    assert int(replaced.metadata.resource_version) > rv1
    assert k.core.read_namespaced_config_map("cm", "default").data == {"k": "w"}
    k.core.delete_namespaced_config_map("cm", "default")
    with pytest.raises(ApiException) as err:
        k.core.read_namespaced_config_map("cm", "default")
    assert err.value.status == 404
    assert _status(err.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'configmaps "cm" not found', "reason": "NotFound",
        "details": {"name": "cm", "kind": "configmaps"}, "code": 404}


def test_create_twice_is_already_exists_and_stale_update_is_conflict(k):
    body = {"metadata": {"name": "cm"}, "data": {"a": "1"}}
    first = k.core.create_namespaced_config_map("default", body)
    with pytest.raises(ApiException) as err:
        k.core.create_namespaced_config_map("default", body)
    assert err.value.status == 409 and _status(err.value)["reason"] == "AlreadyExists"
    k.core.patch_namespaced_config_map("cm", "default", {"data": {"a": "2"}})
    first.data = {"a": "3"}
    with pytest.raises(ApiException) as err:
        k.core.replace_namespaced_config_map("cm", "default", first)
    assert err.value.status == 409
    assert _status(err.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; '
        "please apply your changes to the latest version and try again")


def test_namespace_must_exist_unless_auto_created(k, sandbox_factory):
    with pytest.raises(ApiException) as err:
        k.core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}})
    assert err.value.status == 404
    assert _status(err.value)["message"] == 'namespaces "nowhere" not found'
    auto = Clients(sandbox_factory(auto_create_namespaces=True))
    auto.core.create_namespaced_config_map("team-a", {"metadata": {"name": "x"}})
    assert auto.core.read_namespace("team-a").status.phase == "Active"


def test_label_and_field_selectors_and_pagination(k):
    for i in range(5):
        k.core.create_namespaced_config_map("default", {
            "metadata": {"name": f"cm-{i}", "labels": {"tier": "a" if i % 2 else "b",
                                                       "idx": str(i)}}})
    names = lambda items: [i.metadata.name for i in items]  # noqa: E731
    assert names(k.core.list_namespaced_config_map("default", label_selector="tier=a").items) \
        == ["cm-1", "cm-3"]
    assert names(k.core.list_namespaced_config_map(
        "default", label_selector="tier!=a,idx in (0,2)").items) == ["cm-0", "cm-2"]
    assert names(k.core.list_namespaced_config_map(
        "default", field_selector="metadata.name=cm-4").items) == ["cm-4"]
    page = k.core.list_namespaced_config_map("default", limit=2, label_selector="idx")
    assert names(page.items) == ["cm-0", "cm-1"] and page.metadata.remaining_item_count == 3
    rest = k.core.list_namespaced_config_map("default", limit=10, label_selector="idx",
                                             _continue=page.metadata._continue)
    assert names(rest.items) == ["cm-2", "cm-3", "cm-4"]


def test_generation_moves_on_spec_changes_only_and_status_is_a_subresource(sandbox_factory):
    k = Clients(sandbox_factory(controllers=False))  # nothing else writes the status
    created = k.create(KSVC, ksvc("gen"))
    assert created["metadata"]["generation"] == 1
    labelled = k.patch(KSVC, "gen", {"metadata": {"labels": {"team": "x"}}})
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])
    changed = k.patch(KSVC, "gen", {"spec": {"template": {"spec": {"containers": [
        {"image": "ghcr.io/acme/server:2.0", "ports": [{"containerPort": 8000}]}]}}}})
    assert changed["metadata"]["generation"] == 2
    ignored = k.patch(KSVC, "gen", {"status": {"url": "http://ignored"}})
    assert "url" not in (ignored.get("status") or {})
    status = k.custom.patch_namespaced_custom_object_status(
        "serving.knative.dev", "v1", "default", "services", "gen",
        {"status": {"observedGeneration": 2}}, _content_type="application/merge-patch+json")
    assert status["status"]["observedGeneration"] == 2
    assert status["metadata"]["generation"] == 2


def test_secret_string_data_is_merged_into_data(k):
    secret = k.core.create_namespaced_secret("default", {
        "metadata": {"name": "hf"}, "stringData": {"token": "hf_abc"},
        "data": {"other": base64.b64encode(b"x").decode()}})
    assert secret.string_data is None
    assert base64.b64decode(secret.data["token"]) == b"hf_abc"
    assert set(secret.data) == {"token", "other"}
    status = k.core.delete_namespaced_secret("hf", "default")
    assert status.status == "Success"


def test_dry_run_does_not_store(k, sandbox):
    result = k.core.create_namespaced_config_map("default", {"metadata": {"name": "dry"}},
                                                 dry_run="All")
    assert result.metadata.name == "dry"
    assert sandbox.store.get(("v1", "ConfigMap"), "default", "dry") is None
    assert sandbox.requests.find("create", resource="configmaps")[0].query["dryRun"] == "All"


def test_owner_references_garbage_collect_dependents(k):
    owner = k.core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    k.core.create_namespaced_config_map("default", {
        "metadata": {"name": "child", "ownerReferences": [ref]}})
    k.core.delete_namespaced_config_map("owner", "default")
    names = [c.metadata.name for c in k.core.list_namespaced_config_map("default").items]
    assert "child" not in names


def test_finalizers_delay_deletion(k):
    k.core.create_namespaced_config_map("default", {
        "metadata": {"name": "fin", "finalizers": ["example.com/hold"]}})
    k.core.delete_namespaced_config_map("fin", "default")
    held = k.core.read_namespaced_config_map("fin", "default")
    assert held.metadata.deletion_timestamp is not None
    k.core.patch_namespaced_config_map("fin", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        k.core.read_namespaced_config_map("fin", "default")
    assert err.value.status == 404


def test_cluster_scoped_queue_and_istio_versions(k):
    queue = {"apiVersion": "scheduling.run.ai/v2", "kind": "Queue",
             "metadata": {"name": "team-a"},
             "spec": {"resources": {"gpu": {"quota": 2, "limit": 4, "overQuotaWeight": 1}}}}
    k.custom.create_cluster_custom_object("scheduling.run.ai", "v2", "queues", queue)
    assert k.custom.get_cluster_custom_object("scheduling.run.ai", "v2", "queues", "team-a")[
        "spec"]["resources"]["gpu"]["quota"] == 2
    policy = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
              "metadata": {"name": "allow"},
              "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "x"}}}}
    k.custom.create_namespaced_custom_object("security.istio.io", "v1", "default",
                                             "authorizationpolicies", policy)
    beta = k.custom.get_namespaced_custom_object("security.istio.io", "v1beta1", "default",
                                                 "authorizationpolicies", "allow")
    assert beta["apiVersion"] == "security.istio.io/v1beta1"


def test_unauthenticated_requests_are_rejected(sandbox):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{sandbox.url}/api/v1/namespaces", timeout=5,
                               context=sandbox.ssl_context())
    assert err.value.code == 401
    with urllib.request.urlopen(f"{sandbox.url}/healthz", timeout=5,
                                context=sandbox.ssl_context()) as ok:
        assert ok.read() == b"ok"


def test_request_log_records_verb_path_query_body(k, sandbox):
    k.core.create_namespaced_config_map("default", {"metadata": {"name": "log"}})
    k.core.list_namespaced_config_map("default", label_selector="a=b")
    verb, path, query, body = sandbox.requests.find(resource="configmaps")[0]
    assert (verb, path, query) == ("create", "/api/v1/namespaces/default/configmaps", {})
    assert body["metadata"]["name"] == "log"
    listed = sandbox.requests.find("list", resource="configmaps")[0]
    assert listed.query["labelSelector"] == "a=b" and listed.status == 200


def test_pod_defaulting_fills_container_port_protocol(k):
    pod = k.core.create_namespaced_pod("default", {
        "metadata": {"name": "ports"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1",
                                 "ports": [{"containerPort": 8000},
                                           {"containerPort": 53, "protocol": "UDP"}]}]}})
    assert [(p.container_port, p.protocol) for p in pod.spec.containers[0].ports] == [
        (8000, "TCP"), (53, "UDP")]
