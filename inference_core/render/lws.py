"""LeaderWorkerSet and its leader Service for DistributedInference (k8s-mapping.md §2-§4)."""

from __future__ import annotations

from typing import Any

from inference_core.profile import ClusterProfile
from inference_core.render import pod, vllm
from inference_core.render.credentials import image_pull_secrets, model_credential_env
from inference_core.render.extras import token_env
from inference_core.render.meta import (
    WORKLOAD_LABEL,
    base_metadata,
    init_timeout,
    object_labels,
    scheduler_labels,
    serving_annotations,
)
from inference_core.spec.common import Exposure
from inference_core.spec.kinds import DistributedInference, MultiNode, Role

LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
CONTAINER_NAME = "inference"


def leader_service_name(name: str) -> str:
    """The client-facing Service (LWS itself owns the headless Service named ``name``)."""
    return f"{name}-leader"


def leader_selector(name: str) -> dict[str, str]:
    """Labels selecting the leader pods of every group."""
    return {LWS_NAME_LABEL: name, WORKER_INDEX_LABEL: "0"}


def _container(doc: DistributedInference, role: Role, profile: ClusterProfile, base: str,
               volumes: pod.Volumes, *, leader: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = doc.spec
    container: dict[str, Any] = {"name": CONTAINER_NAME,
                                 "image": role.image or spec.vllm.image or profile.vllm_image,
                                 "imagePullPolicy": role.image_pull_policy.value}
    env = pod.env_vars(role.env)
    if spec.model is not None:
        size = spec.workers.count + 1
        par = vllm.parallelism(spec.vllm, role.compute.gpu_devices, pods=size)
        util = vllm.memory_utilization(spec.vllm, role.compute, profile)
        args = vllm.serve_args(spec.model, spec.vllm, par, util, port=spec.endpoint.port)
        if spec.multi_node is MultiNode.RAY:
            leader_cmd, worker_cmd = vllm.ray_commands(args, init_timeout(doc))
            container["command"] = leader_cmd if leader else worker_cmd
        else:
            container["command"] = ["vllm", "serve"]
            container["args"] = vllm.native_args(args, headless=not leader)
        env = token_env(doc, spec.model) + model_credential_env(spec.model) + env
        cache = spec.model_cache
        if volumes.add_model_cache(cache.claim_name if cache else None,
                                   cache.read_only if cache else False, "spec.modelCache"):
            env.append({"name": "HF_HOME", "value": pod.HF_CACHE_PATH})
        if leader:
            container.update(vllm.probes(init_timeout(doc), port=spec.endpoint.port))
    else:
        if role.command:
            container["command"] = list(role.command)
        if role.args:
            container["args"] = list(role.args)
    if role.working_dir:
        container["workingDir"] = role.working_dir
    if leader:
        container["ports"] = [{"containerPort": spec.endpoint.port, "name": "http"}]
    if env:
        container["env"] = env
    res = pod.resources(role.compute)
    if res:
        container["resources"] = res
    volumes.add_storage(role.storage, f"{base}.storage")
    volumes.add_shm(role.compute, f"{base}.compute", force=spec.model is not None)
    pod_sec, container_sec = pod.security(role.security, profile, f"{base}.security",
                                          knative=False)
    if container_sec:
        container["securityContext"] = container_sec
    if volumes.mounts:
        container["volumeMounts"] = volumes.mounts
    if volumes.devices:
        container["volumeDevices"] = volumes.devices
    return container, pod_sec


def _template(doc: DistributedInference, role: Role, profile: ClusterProfile, base: str,
              *, leader: bool) -> dict[str, Any]:
    spec = doc.spec
    volumes = pod.Volumes(profile, doc.metadata.name, knative=False)
    container, pod_sec = _container(doc, role, profile, base, volumes, leader=leader)
    pod_spec: dict[str, Any] = {}
    pod_spec.update(pod.scheduler_name(profile, base, knative=False))
    # Node pools are set on the leader and inherited by the workers.
    pod_spec.update(pod.scheduling(spec.scheduling, profile, "spec.scheduling", knative=False))
    if pod_sec:
        pod_spec["securityContext"] = pod_sec
    pull = image_pull_secrets(doc)
    if pull:
        pod_spec["imagePullSecrets"] = pull
    pod_spec["containers"] = [container]
    if volumes.volumes:
        pod_spec["volumes"] = volumes.volumes
    labels = dict(doc.metadata.labels)
    labels[WORKLOAD_LABEL] = doc.metadata.name
    labels.update(scheduler_labels(doc, profile))
    metadata: dict[str, Any] = {"labels": labels}
    annotations = pod.gpu_annotations(role.compute, profile, f"{base}.compute")
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": pod_spec}


def leader_worker_set(doc: DistributedInference, profile: ClusterProfile) -> dict[str, Any]:
    """The ``leaderworkerset.x-k8s.io/v1`` LeaderWorkerSet."""
    spec = doc.spec
    labels = object_labels(doc)
    labels.update(scheduler_labels(doc, profile))
    annotations = serving_annotations(doc, "condition=Available")
    topo = spec.scheduling.topology
    if topo is not None:
        if topo.exclusive_key:
            annotations["leaderworkerset.sigs.k8s.io/exclusive-topology"] = topo.exclusive_key
        if topo.name:
            annotations["kai.scheduler/topology"] = topo.name
        if topo.required_level:
            annotations["kai.scheduler/topology-required-placement"] = topo.required_level
        if topo.preferred_level:
            annotations["kai.scheduler/topology-preferred-placement"] = topo.preferred_level
    rollout = spec.rollout
    return {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": doc.metadata.name,
                     "namespace": profile.namespace_for(doc.metadata.project),
                     "labels": labels, "annotations": annotations},
        "spec": {
            "replicas": spec.replicas,
            "startupPolicy": spec.startup_policy.value,
            "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdateConfiguration": {
                "maxSurge": rollout.max_surge, "maxUnavailable": rollout.max_unavailable,
                "partition": rollout.partition}},
            "leaderWorkerTemplate": {
                "size": spec.workers.count + 1,
                "restartPolicy": spec.restart_policy.value,
                "leaderTemplate": _template(doc, spec.leader, profile, "spec.leader",
                                            leader=True),
                "workerTemplate": _template(doc, spec.workers, profile, "spec.workers",
                                            leader=False),
            },
        },
    }


def leader_service(doc: DistributedInference, profile: ClusterProfile) -> dict[str, Any]:
    """The Service clients call: the leader pod of each group."""
    external = doc.spec.endpoint.exposure is Exposure.EXTERNAL
    port = doc.spec.endpoint.port
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": base_metadata(doc, profile, leader_service_name(doc.metadata.name)),
        "spec": {"type": profile.external_service_type if external else "ClusterIP",
                 "selector": leader_selector(doc.metadata.name),
                 "ports": [{"name": "http", "port": port, "targetPort": port,
                            "protocol": "TCP"}]},
    }
