"""Server-side apply (field managers, conflicts, force), merge / JSON / strategic patches."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.rest import ApiException

from tests.sandbox.util import KSVC, Clients, ksvc

APPLY = "application/apply-patch+yaml"


@pytest.fixture
def k(sandbox):
    return Clients(sandbox)


def _apply_cm(k, body, manager, **kw):
    return k.core.patch_namespaced_config_map(body["metadata"]["name"], "default", body,
                                              field_manager=manager, _content_type=APPLY, **kw)


def _cm(data, name="app"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_apply_creates_then_updates_and_records_managed_fields(k):
    created = _apply_cm(k, _cm({"a": "1"}), "deployer")
    entry = created.metadata.managed_fields[0]
    assert (entry.manager, entry.operation) == ("deployer", "Apply")
    assert entry.fields_v1 == {"f:data": {"f:a": {}}}
    updated = _apply_cm(k, _cm({"a": "2", "b": "3"}), "deployer")
    assert updated.data == {"a": "2", "b": "3"}
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)


def test_apply_conflict_names_manager_and_field_unless_forced(k):
    _apply_cm(k, _cm({"a": "1"}), "deployer")
    with pytest.raises(ApiException) as err:
        _apply_cm(k, _cm({"a": "2"}), "other")
    assert err.value.status == 409
    status = json.loads(err.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "deployer": .data.a'
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                            "message": 'conflict with "deployer"',
                                            "field": ".data.a"}]
    forced = _apply_cm(k, _cm({"a": "2"}), "other", force=True)
    assert forced.data == {"a": "2"}
    owners = {e.manager: e.fields_v1 for e in forced.metadata.managed_fields}
    assert owners == {"other": {"f:data": {"f:a": {}}}}


def test_same_value_is_shared_not_a_conflict(k):
    _apply_cm(k, _cm({"a": "1"}), "one")
    shared = _apply_cm(k, _cm({"a": "1"}), "two")
    assert sorted(e.manager for e in shared.metadata.managed_fields) == ["one", "two"]


def test_conflict_with_an_update_manager_mentions_api_version(k):
    k.core.create_namespaced_config_map("default", _cm({"a": "1"}), field_manager="kubectl-edit")
    with pytest.raises(ApiException) as err:
        _apply_cm(k, _cm({"a": "2"}), "deployer")
    message = json.loads(err.value.body)["message"]
    assert message.startswith('Apply failed with 1 conflict: conflict with "kubectl-edit" '
                              "using v1 at ")
    assert message.endswith(": .data.a")


def test_multiple_conflicts_are_listed_per_manager(k):
    _apply_cm(k, _cm({"a": "1", "b": "1"}), "one")
    with pytest.raises(ApiException) as err:
        _apply_cm(k, _cm({"a": "2", "b": "2"}), "two")
    assert json.loads(err.value.body)["message"] == (
        'Apply failed with 2 conflicts: conflicts with "one":\n- .data.a\n- .data.b')


def test_reapply_without_a_field_removes_it(k):
    _apply_cm(k, _cm({"a": "1", "b": "2"}), "deployer")
    again = _apply_cm(k, _cm({"a": "1"}), "deployer")
    assert again.data == {"a": "1"}


def test_apply_requires_field_manager(k):
    with pytest.raises(ApiException) as err:
        k.core.patch_namespaced_config_map("x", "default", _cm({"a": "1"}, "x"),
                                           _content_type=APPLY)
    assert err.value.status == 422
    assert "fieldManager: Required value: is required for apply patch" in \
        json.loads(err.value.body)["message"]


def test_apply_custom_object_and_conflict_on_image(k):
    body = ksvc("svc")
    # Created by apply: HTTP 201, which this client method does not deserialize.
    assert k.patch(KSVC, "svc", body, content_type=APPLY, field_manager="pulumi-abc") is None
    first = k.get(KSVC, "svc")
    assert first["metadata"]["generation"] == 1
    assert first["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]
    changed = ksvc("svc", image="ghcr.io/acme/server:2.0")
    with pytest.raises(ApiException) as err:
        k.patch(KSVC, "svc", changed, content_type=APPLY, field_manager="airflow")
    assert err.value.status == 409
    assert '"pulumi-abc"' in json.loads(err.value.body)["message"]
    assert ".spec.template.spec.containers" in json.loads(err.value.body)["message"]
    forced = k.patch(KSVC, "svc", changed, content_type=APPLY, field_manager="airflow",
                     force=True)
    assert forced["metadata"]["generation"] == 2


def test_keyed_lists_merge_by_name_for_core_kinds(k):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "a", "image": "busybox:1"}]}}
    k.core.patch_namespaced_pod("p", "default", pod, field_manager="one", _content_type=APPLY)
    other = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p",
                                                             "labels": {"x": "y"}}}
    merged = k.core.patch_namespaced_pod("p", "default", other, field_manager="two",
                                         _content_type=APPLY)
    assert [c.name for c in merged.spec.containers] == ["a"]
    assert merged.metadata.labels == {"x": "y"}


def test_merge_json_and_strategic_patches(k):
    k.core.create_namespaced_config_map("default", _cm({"a": "1", "b": "2"}))
    merged = k.core.patch_namespaced_config_map("app", "default", {"data": {"b": None, "c": "3"}})
    assert merged.data == {"a": "1", "c": "3"}
    patched = k.core.patch_namespaced_config_map(
        "app", "default", [{"op": "replace", "path": "/data/a", "value": "9"},
                           {"op": "add", "path": "/data/d", "value": "4"}])
    assert patched.data == {"a": "9", "c": "3", "d": "4"}
    with pytest.raises(ApiException) as err:
        k.core.patch_namespaced_config_map(
            "app", "default", [{"op": "test", "path": "/data/a", "value": "0"}])
    assert err.value.status == 422
    k.core.create_namespaced_pod("default", {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}})
    pod = k.core.patch_namespaced_pod("p", "default", {"spec": {"containers": [
        {"name": "b", "image": "y:2"}]}})
    assert [(c.name, c.image) for c in pod.spec.containers] == [("a", "x:1"), ("b", "y:2")]


def test_strategic_merge_is_unsupported_for_custom_resources(k):
    k.create(KSVC, ksvc("smp"))
    with pytest.raises(ApiException) as err:
        k.patch(KSVC, "smp", {"metadata": {"labels": {"a": "b"}}},
                content_type="application/strategic-merge-patch+json")
    assert err.value.status == 415


def test_patch_with_stale_resource_version_conflicts(k):
    k.core.create_namespaced_config_map("default", _cm({"a": "1"}))
    with pytest.raises(ApiException) as err:
        k.core.patch_namespaced_config_map("app", "default", {
            "metadata": {"resourceVersion": "1"}, "data": {"a": "2"}})
    assert err.value.status == 409
