"""Rendering follows k8s-mapping.md: placement, string values, ports, vLLM, KAI, LWS."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile, load_profile, profile_from_dict
from inference_core.render import endpoints, is_redacted, render, serving_object
from inference_core.spec import parse_spec
from tests.helpers import deep_merge

CUSTOM = {"kind": "CustomInference", "metadata": {"name": "svc", "project": "team-a"},
          "spec": {"image": "ghcr.io/acme/model:1"}}
HF = {"kind": "HuggingFaceInference", "metadata": {"name": "llm", "project": "team-a"},
      "spec": {"model": {"id": "org/model"}}}
DIST = {"kind": "DistributedInference", "metadata": {"name": "big", "project": "team-a"},
        "spec": {"model": {"id": "org/big"}, "leader": {"compute": {"gpuDevices": 8}},
                 "workers": {"count": 1, "compute": {"gpuDevices": 8}}}}
KAI = load_profile("kai")


def _render(doc: dict[str, Any], patch: dict[str, Any] | None = None,
            profile: ClusterProfile | None = None, **kw: Any) -> list[dict[str, Any]]:
    return render(parse_spec(deep_merge(doc, patch or {})), profile, **kw)


def _ksvc(doc: dict[str, Any], patch: dict[str, Any] | None = None,
          profile: ClusterProfile | None = None) -> dict[str, Any]:
    return serving_object(_render(doc, patch, profile))


def _strings_only(mapping: dict[str, Any]) -> bool:
    return all(isinstance(v, str) for v in mapping.values())


def test_autoscaling_annotations_on_template_only_and_strings() -> None:
    svc = _ksvc(CUSTOM, {"spec": {"replicas": {"min": 1, "max": 4, "autoscaling": {
        "metric": "concurrency", "target": 10}}}})
    tmpl = svc["spec"]["template"]["metadata"]["annotations"]
    assert tmpl["autoscaling.knative.dev/min-scale"] == "1"
    assert tmpl["autoscaling.knative.dev/max-scale"] == "4"
    assert tmpl["autoscaling.knative.dev/metric"] == "concurrency"
    assert tmpl["autoscaling.knative.dev/class"] == "kpa.autoscaling.knative.dev"
    assert tmpl["autoscaling.knative.dev/target"] == "10"
    assert _strings_only(tmpl) and _strings_only(svc["metadata"]["annotations"])
    assert not any(k.startswith("autoscaling.knative.dev/") for k in svc["metadata"]["annotations"])


def test_throughput_maps_to_rps_and_scale_to_zero_retention() -> None:
    tmpl = _ksvc(CUSTOM, {"spec": {"replicas": {"min": 0, "max": 2, "scaleToZeroAfter": "5m",
                                                "autoscaling": {"metric": "throughput",
                                                                "target": 25}}}})
    ann = tmpl["spec"]["template"]["metadata"]["annotations"]
    assert ann["autoscaling.knative.dev/metric"] == "rps"
    assert ann["autoscaling.knative.dev/min-scale"] == "0"
    assert ann["autoscaling.knative.dev/scale-to-zero-pod-retention-period"] == "300s"


def test_latency_needs_hpa_in_profile_then_uses_hpa_class() -> None:
    patch = {"spec": {"replicas": {"min": 1, "max": 3, "autoscaling": {"metric": "latency",
                                                                       "target": 250}}}}
    with pytest.raises(ProfileError) as err:
        _ksvc(CUSTOM, patch)
    assert err.value.flag == "knative.hpaAvailable and knative.latencyMetric"
    prof = profile_from_dict({"knative": {"hpaAvailable": True, "latencyMetric": "p95_ms"}})
    ann = _ksvc(CUSTOM, patch, prof)["spec"]["template"]["metadata"]["annotations"]
    assert ann["autoscaling.knative.dev/class"] == "hpa.autoscaling.knative.dev"
    assert ann["autoscaling.knative.dev/metric"] == "p95_ms"


def test_one_port_and_h2c_for_grpc() -> None:
    svc = _ksvc(CUSTOM, {"spec": {"endpoint": {"protocol": "grpc", "port": 9000}}})
    containers = svc["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    assert containers[0]["ports"] == [{"containerPort": 9000, "name": "h2c"}]


def test_cluster_local_is_a_label_on_the_service() -> None:
    svc = _ksvc(CUSTOM, {"spec": {"endpoint": {"exposure": "cluster-local"}}})
    assert svc["metadata"]["labels"]["networking.knative.dev/visibility"] == "cluster-local"
    assert "networking.knative.dev/visibility" not in svc["metadata"]["annotations"]
    eps = endpoints(parse_spec(deep_merge(CUSTOM, {"spec": {"endpoint": {
        "exposure": "cluster-local"}}})))
    assert eps.url is None and eps.internal_url == "http://svc.team-a.svc.cluster.local"


def test_vllm_command_port_shm_probes() -> None:
    svc = _ksvc(HF, {"spec": {"compute": {"gpuDevices": 2, "memory": {"limit": "64Gi"}}}})
    pod = svc["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["command"] == ["vllm", "serve"]
    assert c["args"][:3] == ["org/model", "--port", "8000"]
    assert c["args"][c["args"].index("--tensor-parallel-size") + 1] == "2"
    assert c["ports"] == [{"containerPort": 8000}]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in c["volumeMounts"]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Gi"}} in pod["volumes"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/v1/models", "port": 8000}
    assert c["startupProbe"]["failureThreshold"] == 180  # 30 min default / 10 s period
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_gpu_memory_utilization_capped_by_fraction() -> None:
    svc = _ksvc(HF, {"spec": {"compute": {"gpuDevices": 1, "gpuPortion": {"request": 40}}}},
                KAI)
    args = svc["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--gpu-memory-utilization") + 1] == "0.4"
    ann = svc["spec"]["template"]["metadata"]["annotations"]
    assert ann["gpu-fraction"] == "0.4"
    resources = svc["spec"]["template"]["spec"]["containers"][0].get("resources", {})
    assert "nvidia.com/gpu" not in json.dumps(resources)


def test_gpu_memory_fraction_in_mib() -> None:
    svc = _ksvc(CUSTOM, {"spec": {"compute": {"gpuMemory": {"request": "20GB"}}}}, KAI)
    assert svc["spec"]["template"]["metadata"]["annotations"]["gpu-memory"] == "19074"


def test_fraction_needs_kai_and_limits_need_dynamic_fractions() -> None:
    with pytest.raises(ProfileError) as err:
        _ksvc(CUSTOM, {"spec": {"compute": {"gpuPortion": {"request": 50}}}})
    assert err.value.flag == "scheduler.type: kai"
    assert "spec.compute.gpuPortion" in str(err.value)
    with pytest.raises(ProfileError) as err:
        _ksvc(CUSTOM, {"spec": {"compute": {"gpuPortion": {"request": 50, "limit": 80}}}}, KAI)
    assert err.value.flag == "scheduler.dynamicGpuFractions"
    ann = _ksvc(CUSTOM, {"spec": {"compute": {"gpuPortion": {"request": 50, "limit": 80}}}},
                load_profile("runai"))["spec"]["template"]["metadata"]["annotations"]
    assert ann["gpu-fraction-limit"] == "0.8"


def test_kai_labels_on_template_not_only_service() -> None:
    svc = _ksvc(CUSTOM, {"spec": {"priority": "low", "preemptibility": "preemptible"}}, KAI)
    labels = svc["spec"]["template"]["metadata"]["labels"]
    assert labels["kai.scheduler/queue"] == "team-a"
    assert labels["priorityClassName"] == "build-preemptible"
    assert labels["kai.scheduler/preemptibility"] == "preemptible"
    assert svc["spec"]["template"]["spec"]["schedulerName"] == "kai-scheduler"
    assert "kai.scheduler/queue" not in svc["metadata"]["labels"]


def test_runai_profile_namespace_queue_label_no_scheduler_name() -> None:
    svc = _ksvc(CUSTOM, {}, load_profile("runai"))
    assert svc["metadata"]["namespace"] == "runai-team-a"
    assert svc["spec"]["template"]["metadata"]["labels"]["runai/queue"] == "team-a"
    assert "schedulerName" not in svc["spec"]["template"]["spec"]


def test_feature_flags_refused_with_the_flag_named() -> None:
    cases = [
        ({"scheduling": {"nodePools": ["a"]}}, "kubernetes.podspec-affinity"),
        ({"scheduling": {"tolerations": [{"key": "gpu", "operator": "Exists"}]}},
         "kubernetes.podspec-tolerations"),
        ({"security": {"capabilities": ["IPC_LOCK"]}}, "kubernetes.containerspec-addcapabilities"),
        ({"security": {"idsFrom": "custom", "runAsUid": 1000}},
         "kubernetes.podspec-securitycontext"),
        ({"storage": [{"name": "d", "path": "/d", "pvc": {"claimName": "c", "readOnly": True}}]},
         "kubernetes.podspec-persistent-volume-claim"),
    ]
    for patch, flag in cases:
        with pytest.raises(ProfileError) as err:
            _ksvc(CUSTOM, {"spec": patch})
        assert err.value.flag == flag
        assert "config-features" in str(err.value)
    write = profile_from_dict({"knative": {"features": {
        "kubernetes.podspec-persistent-volume-claim": "enabled"}}})
    with pytest.raises(ProfileError) as err:
        _ksvc(CUSTOM, {"spec": {"storage": [{"name": "d", "path": "/d",
                                             "pvc": {"claimName": "c"}}]}}, write)
    assert err.value.flag == "kubernetes.podspec-persistent-volume-write"


def test_schedulername_needs_flag_under_kai_without_namespace_enforcement() -> None:
    prof = profile_from_dict({"scheduler": {"type": "kai"}})
    with pytest.raises(ProfileError) as err:
        _ksvc(CUSTOM, {}, prof)
    assert err.value.flag == "kubernetes.podspec-schedulername"


def test_request_timeout_capped_by_cluster_max() -> None:
    prof = profile_from_dict({"knative": {"maxRevisionTimeoutSeconds": 300}})
    with pytest.raises(ProfileError) as err:
        _ksvc(CUSTOM, {"spec": {"general": {"requestTimeout": "6m"}}}, prof)
    assert err.value.flag == "max-revision-timeout-seconds"
    svc = _ksvc(CUSTOM, {"spec": {"general": {"requestTimeout": "2m"}}}, prof)
    assert svc["spec"]["template"]["spec"]["timeoutSeconds"] == 120


def test_progress_deadline_and_pulumi_await() -> None:
    svc = _ksvc(CUSTOM, {"spec": {"general": {"initializationTimeout": "15m"}}})
    assert svc["spec"]["template"]["metadata"]["annotations"][
        "serving.knative.dev/progress-deadline"] == "900s"
    assert svc["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    assert svc["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "1020"


def test_token_secret_redacted_unless_asked() -> None:
    doc = deep_merge(HF, {"spec": {"model": {"token": "hf_supersecret"}}})
    shown = _render(doc)
    assert "hf_supersecret" not in json.dumps(shown)
    secret = shown[0]
    assert secret["kind"] == "Secret" and is_redacted(secret)
    applied = _render(doc, include_secret_values=True)
    assert base64.b64decode(applied[0]["data"]["HF_TOKEN"]) == b"hf_supersecret"
    assert not is_redacted(applied[0])
    env = serving_object(applied)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "llm-hf-token", "key": "HF_TOKEN"}}}
    assert "hf_supersecret" not in json.dumps(serving_object(applied))


def test_lws_shape_names_and_parallelism() -> None:
    objs = _render(DIST, {"spec": {"replicas": 2}}, KAI)
    lws, leader_svc = objs[-2], objs[-1]
    assert lws["kind"] == "LeaderWorkerSet"
    tmpl = lws["spec"]["leaderWorkerTemplate"]
    assert tmpl["size"] == 2 and lws["spec"]["replicas"] == 2
    assert lws["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"] == {
        "maxSurge": 0, "maxUnavailable": 1, "partition": 0}
    cmd = tmpl["leaderTemplate"]["spec"]["containers"][0]["command"]
    assert cmd[:2] == ["sh", "-c"]
    assert "--tensor-parallel-size 8 --pipeline-parallel-size 2" in cmd[2]
    assert "--distributed-executor-backend ray" in cmd[2]
    assert "worker --ray_address=$(LWS_LEADER_ADDRESS)" in \
        tmpl["workerTemplate"]["spec"]["containers"][0]["command"][2]
    for role in ("leaderTemplate", "workerTemplate"):
        assert tmpl[role]["spec"]["schedulerName"] == "kai-scheduler"
        assert tmpl[role]["metadata"]["labels"]["priorityClassName"] == "inference"
    assert lws["metadata"]["labels"]["priorityClassName"] == "inference"
    assert lws["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Available"
    assert leader_svc["metadata"]["name"] == "big-leader"
    assert leader_svc["spec"]["selector"] == {"leaderworkerset.sigs.k8s.io/name": "big",
                                              "leaderworkerset.sigs.k8s.io/worker-index": "0"}


def test_lws_native_multinode_flags() -> None:
    objs = _render(DIST, {"spec": {"multiNode": "native"}}, KAI)
    tmpl = serving_object(objs)["spec"]["leaderWorkerTemplate"]
    leader = tmpl["leaderTemplate"]["spec"]["containers"][0]
    worker = tmpl["workerTemplate"]["spec"]["containers"][0]
    assert leader["command"] == ["vllm", "serve"]
    assert "--headless" not in leader["args"] and worker["args"][-1] == "--headless"
    assert "$(LWS_LEADER_ADDRESS)" in worker["args"]


def test_access_policies_need_istio_and_cover_groups() -> None:
    patch = {"spec": {"endpoint": {"access": {"mode": "groups", "groups": ["ml"]}}}}
    with pytest.raises(ProfileError) as err:
        _render(CUSTOM, patch)
    assert err.value.flag == "istio.enabled"
    objs = _render(CUSTOM, patch, KAI)
    kinds = [o["kind"] for o in objs]
    assert kinds == ["Service", "RequestAuthentication", "AuthorizationPolicy"]
    rule = objs[-1]["spec"]["rules"][0]
    assert rule["when"] == [{"key": "request.auth.claims[groups]", "values": ["ml"]}]
    assert objs[-1]["spec"]["selector"]["matchLabels"] == {"serving.knative.dev/service": "svc"}


def test_public_endpoint_keeps_its_own_allow_rule_beside_restricted_tool() -> None:
    objs = _render(CUSTOM, {"spec": {"tools": [{"name": "ui", "port": 8888}]}}, KAI)
    policy = objs[-1]
    assert policy["kind"] == "AuthorizationPolicy"
    assert policy["spec"]["rules"][0] == {"to": [{"operation": {"notPorts": ["8888"]}}]}
    assert policy["spec"]["rules"][1]["to"] == [{"operation": {"ports": ["8888"]}}]
    tool_svc = next(o for o in objs if o["metadata"]["name"] == "svc-ui")
    assert tool_svc["spec"]["type"] == "LoadBalancer"


def test_identity_labels_on_every_object() -> None:
    doc = deep_merge(HF, {"spec": {"model": {"token": "hf_x"}, "storage": [
        {"name": "scratch", "path": "/scratch", "volume": {"size": "10Gi"}}]}})
    prof = profile_from_dict({"knative": {"features": {
        "kubernetes.podspec-persistent-volume-claim": "enabled",
        "kubernetes.podspec-persistent-volume-write": "enabled"}}})
    for obj in render(parse_spec(doc), prof):
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "inference-stacks"
        assert obj["metadata"]["labels"]["inference-stacks.io/workload"] == "llm"


def test_block_volumes_refused_on_knative_but_devices_on_lws() -> None:
    vol = {"storage": [{"name": "raw", "path": "/dev/raw0",
                        "volume": {"size": "1Ti", "volumeMode": "Block"}}]}
    with pytest.raises(ProfileError, match="volumeDevices"):
        _render(CUSTOM, {"spec": vol}, KAI)
    objs = _render(DIST, {"spec": {"leader": vol}}, KAI)
    pvc = objs[0]
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["spec"]["volumeMode"] == "Block"
    leader = serving_object(objs)["spec"]["leaderWorkerTemplate"]["leaderTemplate"]
    assert leader["spec"]["containers"][0]["volumeDevices"] == [
        {"name": "raw", "devicePath": "/dev/raw0"}]


def test_explicit_priority_refused_without_kai() -> None:
    with pytest.raises(ProfileError) as err:
        _render(CUSTOM, {"spec": {"priority": "low"}})
    assert err.value.flag == "scheduler.type: kai"
    assert "scheduler.type: kai" in str(err.value)
