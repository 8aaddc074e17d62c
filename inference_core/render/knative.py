"""Knative Service for CustomInference and HuggingFaceInference (k8s-mapping.md §1)."""

from __future__ import annotations

from typing import Any

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile
from inference_core.render import pod, vllm
from inference_core.render.credentials import image_pull_secrets, model_credential_env
from inference_core.render.extras import token_env
from inference_core.render.meta import (
    WORKLOAD_LABEL,
    init_timeout,
    object_labels,
    scheduler_labels,
    serving_annotations,
)
from inference_core.render.refusals import refuse
from inference_core.spec.common import AutoscaleMetric, Exposure, Protocol, Replicas
from inference_core.spec.kinds import CustomInference, HuggingFaceInference
from inference_core.spec.quantities import format_duration

AUTOSCALING = "autoscaling.knative.dev/"
CONTAINER_NAME = "inference"
SELECTOR_LABEL = "serving.knative.dev/service"


def pod_selector(name: str) -> dict[str, str]:
    """Labels selecting the pods of a Knative Service (added by Knative)."""
    return {SELECTOR_LABEL: name}


def autoscaling_annotations(replicas: Replicas, profile: ClusterProfile) -> dict[str, str]:
    """Template annotations for the replica range and the autoscaling condition."""
    out = {f"{AUTOSCALING}min-scale": str(replicas.min),
           f"{AUTOSCALING}max-scale": str(replicas.max)}
    scaling = replicas.autoscaling
    if scaling is not None:
        if scaling.metric is AutoscaleMetric.LATENCY:
            knative = profile.knative
            if not knative.hpa_available or not knative.latency_metric:
                refuse(ProfileError("spec.replicas.autoscaling.metric",
                                   "latency-based autoscaling (HPA class with a custom metric)",
                                   "knative.hpaAvailable and knative.latencyMetric",
                                   "install the Knative serving HPA extension and a metrics "
                                   "adapter, then name the latency metric in the profile"))
            out[f"{AUTOSCALING}class"] = "hpa.autoscaling.knative.dev"
            out[f"{AUTOSCALING}metric"] = knative.latency_metric or ""
        else:
            out[f"{AUTOSCALING}class"] = "kpa.autoscaling.knative.dev"
            out[f"{AUTOSCALING}metric"] = (
                "concurrency" if scaling.metric is AutoscaleMetric.CONCURRENCY else "rps")
        out[f"{AUTOSCALING}target"] = f"{scaling.target:g}"
    if replicas.scale_to_zero_after is not None:
        out[f"{AUTOSCALING}scale-to-zero-pod-retention-period"] = \
            format_duration(replicas.scale_to_zero_after)
    return out


def knative_service(doc: CustomInference | HuggingFaceInference,
                    profile: ClusterProfile) -> dict[str, Any]:
    """The ``serving.knative.dev/v1`` Service of a custom or Hugging Face workload."""
    spec = doc.spec
    name = doc.metadata.name
    volumes = pod.Volumes(profile, name, knative=True)
    container: dict[str, Any] = {"name": CONTAINER_NAME}
    env: list[dict[str, Any]]
    if isinstance(doc, CustomInference):
        custom = doc.spec
        container["image"] = custom.image
        container["imagePullPolicy"] = custom.image_pull_policy.value
        if custom.command:
            container["command"] = list(custom.command)
        if custom.args:
            container["args"] = list(custom.args)
        if custom.working_dir:
            container["workingDir"] = custom.working_dir
        port: dict[str, Any] = {"containerPort": custom.endpoint.port}
        if custom.endpoint.protocol is Protocol.GRPC:
            port["name"] = "h2c"
        env = pod.env_vars(custom.env)
        volumes.add_storage(custom.storage, "spec.storage")
    else:
        hf = doc.spec
        par = vllm.parallelism(hf.vllm, hf.compute.gpu_devices, pods=1)
        util = vllm.memory_utilization(hf.vllm, hf.compute, profile)
        container["image"] = hf.vllm.image or profile.vllm_image
        container["imagePullPolicy"] = hf.image_pull_policy.value
        container["command"] = ["vllm", "serve"]
        container["args"] = vllm.serve_args(hf.model, hf.vllm, par, util)
        port = {"containerPort": vllm.VLLM_PORT}
        env = token_env(doc, hf.model) + model_credential_env(hf.model) + pod.env_vars(hf.env)
        cache = hf.model_cache
        if volumes.add_model_cache(cache.claim_name if cache else None,
                                   cache.read_only if cache else False, "spec.modelCache"):
            env.append({"name": "HF_HOME", "value": pod.HF_CACHE_PATH})
        volumes.add_storage(hf.storage, "spec.storage")
        container.update(vllm.probes(init_timeout(doc)))
    compute = spec.compute
    container["ports"] = [port]
    if env:
        container["env"] = env
    res = pod.resources(compute)
    if res:
        container["resources"] = res
    volumes.add_shm(compute, "spec.compute", force=isinstance(doc, HuggingFaceInference))
    pod_sec, container_sec = pod.security(spec.security, profile, "spec.security",
                                          knative=True)
    if container_sec:
        container["securityContext"] = container_sec
    if volumes.mounts:
        container["volumeMounts"] = volumes.mounts

    pod_spec: dict[str, Any] = {}
    pod_spec.update(pod.scheduler_name(profile, "spec", knative=True))
    pod_spec.update(pod.scheduling(spec.scheduling, profile, "spec.scheduling", knative=True))
    if pod_sec:
        pod_spec["securityContext"] = pod_sec
    pull = image_pull_secrets(doc)
    if pull:
        pod_spec["imagePullSecrets"] = pull
    request_timeout = spec.general.request_timeout
    if request_timeout is not None:
        limit = profile.knative.max_revision_timeout_seconds
        if request_timeout > limit:
            refuse(ProfileError("spec.general.requestTimeout",
                               f"a request timeout of {request_timeout}s (the cluster allows "
                               f"{limit}s)", "max-revision-timeout-seconds",
                               "raise it in knative-serving/config-defaults and in the profile "
                               "(knative.maxRevisionTimeoutSeconds)"))
        pod_spec["timeoutSeconds"] = request_timeout
    pod_spec["containers"] = [container]
    if volumes.volumes:
        pod_spec["volumes"] = volumes.volumes

    template_labels = dict(doc.metadata.labels)
    template_labels[WORKLOAD_LABEL] = name
    template_labels.update(scheduler_labels(doc, profile))
    template_annotations = autoscaling_annotations(spec.replicas, profile)
    template_annotations["serving.knative.dev/progress-deadline"] = \
        format_duration(init_timeout(doc))
    template_annotations.update(pod.gpu_annotations(compute, profile, "spec.compute"))

    labels = object_labels(doc)
    if spec.endpoint.exposure is Exposure.CLUSTER_LOCAL:
        labels["networking.knative.dev/visibility"] = "cluster-local"
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": profile.namespace_for(doc.metadata.project),
            "labels": labels,
            "annotations": serving_annotations(doc, "condition=Ready"),
        },
        "spec": {
            "template": {
                "metadata": {"labels": template_labels, "annotations": template_annotations},
                "spec": pod_spec,
            },
        },
    }
