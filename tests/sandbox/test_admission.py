"""Admission: CRD schemas (strict unknown fields), Knative webhook rules, LWS webhook, names."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.rest import ApiException

from tests.helpers import require_shared
from tests.sandbox.util import KSVC, LWS, Clients, ksvc, lws

KNATIVE = 'admission webhook "validation.webhook.serving.knative.dev" denied the request: ' \
          "validation failed: "


@pytest.fixture
def k(sandbox):
    return Clients(sandbox)


def _rejected(k, plural, body) -> tuple[int, dict]:
    with pytest.raises(ApiException) as err:
        k.create(plural, body)
    return err.value.status, json.loads(err.value.body)


def _container(body):
    return body["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda s: s["metadata"].__setitem__("annotations",
                                         {"autoscaling.knative.dev/min-scale": "1"}),
     'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations\n'
     'autoscaling annotations must be put under "spec.template.metadata.annotations" to work'),
    (lambda s: _container(s)["ports"].append({"containerPort": 9000}),
     "more than one container port is set: spec.template.spec.containers[*].ports\n"
     "Only a single port is allowed across all containers"),
    (lambda s: _container(s).__setitem__("ports", [{"containerPort": 8012}]),
     "invalid value: 8012 is a reserved port: "
     "spec.template.spec.containers[0].ports.containerPort\n"
     "8012 is a reserved port, please use a different value"),
    (lambda s: _container(s).__setitem__("ports", [{"containerPort": 8000, "name": "grpc"}]),
     "Port name grpc is not allowed: spec.template.spec.containers[0].ports\n"
     "Name must be empty, or one of: 'h2c', 'http1'"),
    (lambda s: _container(s).__setitem__("env", [{"name": "K_SERVICE", "value": "x"}]),
     '"K_SERVICE" is a reserved environment variable: '
     "spec.template.spec.containers[0].env[0].name"),
    (lambda s: _container(s).__setitem__("name", "queue-proxy"),
     '"queue-proxy" is a reserved container name: spec.template.spec.containers[0].name'),
    (lambda s: s["spec"].__setitem__("traffic", [{"latestRevision": True, "percent": 60},
                                                 {"revisionName": "x-00001", "percent": 30}]),
     "Traffic targets sum to 90, want 100: spec.traffic"),
    (lambda s: s["spec"].__setitem__("traffic", [
        {"latestRevision": True, "percent": 100, "tag": "a"},
        {"revisionName": "x-00001", "percent": 0, "tag": "a"}]),
     'Multiple definitions for "a": spec.traffic[0].tag, spec.traffic[1].tag'),
    (lambda s: s["spec"].__setitem__("traffic", [
        {"latestRevision": True, "revisionName": "x-00001", "percent": 100}]),
     'may not set revisionName "x-00001" when latestRevision is true: '
     "spec.traffic[0].latestRevision"),
    (lambda s: s["spec"]["template"].__setitem__("metadata", {"name": "other-v1"}),
     'invalid value: "other-v1" must have prefix "x-": spec.template.metadata.name'),
    (lambda s: s["spec"]["template"]["spec"].__setitem__("timeoutSeconds", 900),
     "expected 0 <= 900 <= 600: spec.template.spec.timeoutSeconds"),
    (lambda s: _container(s).__setitem__("readinessProbe", {"tcpSocket": {"port": 9000}}),
     "invalid value: 9000: spec.template.spec.containers[0].readinessProbe.tcpSocket.port\n"
     "Probe port must match container port"),
])
def test_knative_webhook_rules(k, mutate, message):
    body = ksvc("x")
    mutate(body)
    code, status = _rejected(k, KSVC, body)
    assert code == 400
    assert status["message"] == KNATIVE + message
    assert status["kind"] == "Status" and status["status"] == "Failure"


def test_feature_flag_masks_follow_the_features_map(k, sandbox_factory):
    body = ksvc("x")
    body["spec"]["template"]["spec"].update({"schedulerName": "kai-scheduler",
                                             "nodeSelector": {"pool": "a"}})
    _, status = _rejected(k, KSVC, body)
    assert status["message"] == KNATIVE + (
        "must not set the field(s): spec.template.spec.nodeSelector, "
        "spec.template.spec.schedulerName")
    enabled = Clients(sandbox_factory(features={
        "kubernetes.podspec-schedulername": "enabled",
        "kubernetes.podspec-nodeselector": "allowed"}))
    assert enabled.create(KSVC, body)["metadata"]["name"] == "x"


def test_features_are_read_live_from_the_config_map(k):
    body = ksvc("x")
    body["spec"]["template"]["spec"]["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
    _rejected(k, KSVC, body)
    k.core.patch_namespaced_config_map(
        "config-features", "knative-serving",
        {"data": {"kubernetes.podspec-tolerations": "enabled"}})
    assert k.create(KSVC, body)["metadata"]["name"] == "x"


def test_pvc_volume_needs_both_pvc_flags(k, sandbox_factory):
    body = ksvc("x")
    spec = body["spec"]["template"]["spec"]
    spec["volumes"] = [{"name": "cache", "persistentVolumeClaim": {"claimName": "hf"}}]
    _container(body)["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
    _, status = _rejected(k, KSVC, body)
    assert status["message"] == KNATIVE + (
        "Persistent volume claim support is disabled, but found persistent volume claim hf: \n"
        "Persistent volume write support is disabled, but found persistent volume claim hf "
        "that is not read-only: ")
    ok = Clients(sandbox_factory(features={
        "kubernetes.podspec-persistent-volume-claim": "enabled",
        "kubernetes.podspec-persistent-volume-write": "enabled"}))
    ok.create(KSVC, body)


def test_revision_name_must_change_with_the_template(k):
    body = ksvc("x")
    body["spec"]["template"]["metadata"] = {"name": "x-v1"}
    k.create(KSVC, body)
    with pytest.raises(ApiException) as err:
        k.patch(KSVC, "x", {"spec": {"template": {"spec": {"containers": [
            {"image": "ghcr.io/acme/server:2.0", "ports": [{"containerPort": 8000}]}]}}}})
    message = json.loads(err.value.body)["message"]
    assert message.startswith(KNATIVE + "Saw the following changes without a name change "
                              "(-old +new): spec.template.metadata.name\n")
    renamed = k.patch(KSVC, "x", {"spec": {"template": {
        "metadata": {"name": "x-v2"},
        "spec": {"containers": [{"image": "ghcr.io/acme/server:2.0",
                                 "ports": [{"containerPort": 8000}]}]}}}})
    assert renamed["metadata"]["generation"] == 2


def test_knative_defaults_are_applied(k):
    created = k.create(KSVC, ksvc("x"))
    spec = created["spec"]
    assert spec["traffic"] == [{"latestRevision": True, "percent": 100}]
    assert spec["template"]["spec"]["timeoutSeconds"] == 300
    assert _container(created)["name"] == "user-container"
    assert _container(created)["readinessProbe"] == {"tcpSocket": {"port": 0},
                                                     "successThreshold": 1}
    assert created["metadata"]["annotations"]["serving.knative.dev/creator"] == "sandbox-user"


def test_unknown_fields_are_rejected_with_strict_field_validation(k):
    require_shared()
    body = ksvc("x")
    body["spec"]["template"]["spec"]["bogus"] = 1
    body["spec"]["extra"] = True
    with pytest.raises(ApiException) as err:
        k.custom.create_namespaced_custom_object("serving.knative.dev", "v1", "default",
                                                 "services", body, field_validation="Strict")
    code, status = err.value.status, json.loads(err.value.body)
    assert code == 400 and status["reason"] == "BadRequest"
    assert status["message"] == (
        'Service in version "v1" cannot be handled as a Service: strict decoding error: '
        'unknown field "spec.template.spec.bogus", unknown field "spec.extra"')


def test_unknown_fields_with_field_validation_warn_are_accepted(k):
    require_shared()
    body = ksvc("x")
    body["spec"]["extra"] = True
    result = k.custom.create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", body, field_validation="Warn",
        _preload_content=False)
    assert 'unknown field \\"spec.extra\\"' in result.headers["Warning"]


def test_field_validation_defaults_to_warn_like_the_api_server(k):
    require_shared()
    body = ksvc("x")
    body["spec"]["extra"] = True
    result = k.custom.create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", body, _preload_content=False)
    assert result.status == 201
    assert result.headers["Warning"] == '299 - "unknown field \\"spec.extra\\""'
    assert "extra" not in k.get(KSVC, "x")["spec"]  # dropped, as pruning does
    ignored = ksvc("y")
    ignored["spec"]["extra"] = True
    quiet = k.custom.create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", ignored, field_validation="Ignore",
        _preload_content=False)
    assert quiet.status == 201 and "Warning" not in quiet.headers


def test_server_side_apply_is_strict_about_unknown_fields_whatever_the_directive(k):
    require_shared()
    body = ksvc("x")
    body["spec"]["extra"] = True
    for directive in (None, "Warn", "Ignore"):
        with pytest.raises(ApiException) as err:
            k.custom.patch_namespaced_custom_object(
                "serving.knative.dev", "v1", "default", "services", "x", body,
                field_manager="test", field_validation=directive,
                _content_type="application/apply-patch+yaml")
        assert err.value.status == 400
        assert "field not declared in schema" in json.loads(err.value.body)["message"]


def test_schema_types_and_enums_are_validated(k):
    require_shared()
    body = lws("x")
    body["spec"]["startupPolicy"] = "Sometimes"
    code, status = _rejected(k, LWS, body)
    assert code == 422 and status["reason"] == "Invalid"
    assert status["message"] == (
        'LeaderWorkerSet.leaderworkerset.x-k8s.io "x" is invalid: spec.startupPolicy: '
        'Unsupported value: "Sometimes": supported values: "LeaderCreated", "LeaderReady"')
    body = ksvc("y")
    body["spec"]["template"]["spec"]["containerConcurrency"] = "many"
    _, status = _rejected(k, KSVC, body)
    assert status["message"] == (
        'Service.serving.knative.dev "y" is invalid: spec.template.spec.containerConcurrency: '
        'Invalid value: "many": spec.template.spec.containerConcurrency in body must be of '
        'type integer: "many"')
    assert status["details"]["causes"][0]["field"] == "spec.template.spec.containerConcurrency"


def test_schema_defaults_fill_lws_fields(k):
    require_shared()
    created = k.create(LWS, lws("x"))
    assert created["spec"]["startupPolicy"] == "LeaderCreated"
    assert created["spec"]["rolloutStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdateConfiguration": {"maxSurge": 0, "maxUnavailable": 1, "partition": 0}}
    assert created["spec"]["networkConfig"] == {"subdomainPolicy": "Shared"}
    assert created["spec"]["leaderWorkerTemplate"]["restartPolicy"] == \
        "RecreateGroupOnPodRestart"


def test_lws_webhook_rules(k):
    body = lws("x")
    body["spec"]["rolloutStrategy"] = {"type": "RollingUpdate", "rollingUpdateConfiguration": {
        "maxUnavailable": 0, "maxSurge": 0}}
    code, status = _rejected(k, LWS, body)
    assert code == 422
    assert status["message"] == (
        'admission webhook "vleaderworkerset.kb.io" denied the request: '
        'LeaderWorkerSet.leaderworkerset.x-k8s.io "x" is invalid: '
        "spec.rolloutStrategy.rollingUpdateConfiguration.maxUnavailable: Invalid value: 0: "
        "must not be 0 when `maxSurge` is 0")


def test_names_are_validated(k):
    code, status = _rejected(k, LWS, lws("Bad_Name"))
    assert code == 422
    assert status["message"].startswith(
        'LeaderWorkerSet.leaderworkerset.x-k8s.io "Bad_Name" is invalid: metadata.name: '
        'Invalid value: "Bad_Name": a DNS-1035 label must consist of lower case')
    with pytest.raises(ApiException) as err:
        k.core.create_namespaced_config_map("default", {"metadata": {"name": "UPPER"}})
    assert json.loads(err.value.body)["message"].startswith(
        'ConfigMap "UPPER" is invalid: metadata.name: Invalid value: "UPPER": a lowercase '
        "RFC 1123 subdomain must consist of")


def test_schema_admission_can_be_switched_off(sandbox_factory):
    k = Clients(sandbox_factory(schema_admission=False))
    body = ksvc("x")
    body["spec"]["extra"] = True
    assert k.create(KSVC, body)["spec"]["extra"] is True
