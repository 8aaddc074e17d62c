"""Builders of realistic status payloads (shapes as the API server returns them)."""

from __future__ import annotations

from typing import Any

NS = "team-a"
T0 = "2025-03-01T10:00:00Z"
T1 = "2025-03-01T10:00:20Z"
T2 = "2025-03-01T10:01:30Z"
GOOD_IMAGE = "ghcr.io/acme/llm-server:1.4.0"
BAD_IMAGE = "ghcr.io/acme/llm-server:does-not-exist"

# Messages as the kubelet, scheduler and Knative write them.
MSG_BACKOFF_PULL = f'Back-off pulling image "{BAD_IMAGE}"'
MSG_PULL_NOT_FOUND = (
    f'rpc error: code = NotFound desc = failed to pull and unpack image "{BAD_IMAGE}": '
    f'failed to resolve reference "{BAD_IMAGE}": {BAD_IMAGE}: not found'
)
MSG_PULL_TRANSIENT = (
    f'rpc error: code = Unknown desc = failed to pull and unpack image "{GOOD_IMAGE}": '
    "failed to copy: httpReadSeeker: failed open: unexpected status code 429 Too Many Requests"
)
MSG_INVALID_NAME = (
    'Failed to apply default image tag "ghcr.io/Acme/LLM:v1": couldn\'t parse image reference '
    '"ghcr.io/Acme/LLM:v1": invalid reference format: repository name must be lowercase'
)
MSG_SECRET_MISSING = 'secret "hf-token" not found'
MSG_UNSCHEDULABLE = (
    "0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are "
    "available: 4 No preemption victims found for incoming pod."
)
MSG_CRASH = "back-off 40s restarting failed container=user-container pod=llm-00002-deployment-x"
MSG_CONTAINER_MISSING = (
    'Unable to fetch image "ghcr.io/acme/llm-server:nope": failed to resolve image to digest: '
    "GET https://ghcr.io/v2/acme/llm-server/manifests/nope: MANIFEST_UNKNOWN: manifest unknown"
)


def cond(
    ctype: str,
    status: str,
    reason: str | None = None,
    message: str | None = None,
    observed_generation: int | None = None,
) -> dict[str, Any]:
    """One status condition."""
    out: dict[str, Any] = {"type": ctype, "status": status, "lastTransitionTime": T0}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    if observed_generation is not None:
        out["observedGeneration"] = observed_generation
    return out


# ---------------------------------------------------------------- Knative


def ksvc(
    *,
    name: str = "llm",
    generation: int = 2,
    observed: int | None = 2,
    created: str | None = "llm-00002",
    ready: str | None = "llm-00002",
    conditions: list[dict[str, Any]] | None = None,
    traffic: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Knative Service as read back from the API server."""
    status: dict[str, Any] = {
        "url": f"https://{name}.{NS}.example.com",
        "address": {"url": f"http://{name}.{NS}.svc.cluster.local"},
        "conditions": conditions if conditions is not None else ready_conditions(),
    }
    if observed is not None:
        status["observedGeneration"] = observed
    if created:
        status["latestCreatedRevisionName"] = created
    if ready:
        status["latestReadyRevisionName"] = ready
    if traffic is None and ready:
        traffic = [{"revisionName": ready, "percent": 100, "latestRevision": True}]
    if traffic is not None:
        status["traffic"] = traffic
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {
            "name": name, "namespace": NS, "generation": generation, "uid": "svc-uid",
            "labels": {"app.kubernetes.io/managed-by": "inference-stacks"},
        },
        "spec": {"template": {"spec": {"containers": [{"image": GOOD_IMAGE}]}}},
        "status": status,
    }


def ready_conditions() -> list[dict[str, Any]]:
    """Service conditions of a settled, ready Service."""
    return [cond("ConfigurationsReady", "True"), cond("Ready", "True"), cond("RoutesReady", "True")]


def settling_conditions(reason: str, message: str) -> list[dict[str, Any]]:
    """Service conditions while a change settles (Ready Unknown with ``reason``)."""
    return [
        cond("ConfigurationsReady", "Unknown", reason, message),
        cond("Ready", "Unknown", reason, message),
        cond("RoutesReady", "Unknown", reason, message),
    ]


def failed_update_conditions(revision: str, inner: str) -> list[dict[str, Any]]:
    """Service conditions when the latest created revision failed (RevisionFailed)."""
    msg = f'Revision "{revision}" failed with message: {inner}.'
    return [
        cond("ConfigurationsReady", "False", "RevisionFailed", msg),
        cond("Ready", "False", "RevisionFailed", msg),
        cond("RoutesReady", "True"),
    ]


def revision(
    name: str = "llm-00002",
    conditions: list[dict[str, Any]] | None = None,
    *,
    created: str = T0,
    generation: int = 1,
) -> dict[str, Any]:
    """A Knative Revision."""
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": {
            "name": name, "namespace": NS, "generation": generation,
            "creationTimestamp": created,
            "labels": {"serving.knative.dev/service": "llm",
                       "serving.knative.dev/configuration": "llm"},
        },
        "status": {
            "observedGeneration": generation,
            "conditions": conditions if conditions is not None else [
                cond("Active", "True"), cond("ContainerHealthy", "True"),
                cond("Ready", "True"), cond("ResourcesAvailable", "True"),
            ],
            "actualReplicas": 1, "desiredReplicas": 1,
        },
    }


def revision_failed(name: str, ctype: str, reason: str, message: str) -> dict[str, Any]:
    """A Revision whose ``ctype`` condition (and Ready) is False with ``reason``."""
    conds = [cond("Active", "Unknown", "Deploying")]
    other = "ResourcesAvailable" if ctype == "ContainerHealthy" else "ContainerHealthy"
    conds.append(cond(other, "Unknown", "Deploying"))
    conds.append(cond(ctype, "False", reason, message))
    conds.append(cond("Ready", "False", reason, message))
    return revision(name, conds)


# ---------------------------------------------------------------- pods and events


def waiting(name: str, reason: str, message: str = "", **extra: Any) -> dict[str, Any]:
    """A container status stuck waiting."""
    state: dict[str, Any] = {"reason": reason}
    if message:
        state["message"] = message
    out = {"name": name, "image": BAD_IMAGE, "ready": False, "started": False,
           "restartCount": 0, "state": {"waiting": state}}
    out.update(extra)
    return out


def running(name: str = "user-container", *, ready: bool = True) -> dict[str, Any]:
    """A running container status."""
    return {"name": name, "image": GOOD_IMAGE, "ready": ready, "started": True,
            "restartCount": 0, "state": {"running": {"startedAt": T1}}}


def crashlooping(
    name: str = "user-container", *, exit_code: int = 1, reason: str = "Error",
    message: str | None = None, restarts: int = 3,
) -> dict[str, Any]:
    """A container in CrashLoopBackOff with its last termination."""
    term: dict[str, Any] = {"exitCode": exit_code, "reason": reason, "startedAt": T0,
                            "finishedAt": T1}
    if message:
        term["message"] = message
    return waiting(name, "CrashLoopBackOff", MSG_CRASH, restartCount=restarts,
                   lastState={"terminated": term})


def pod(
    name: str,
    *,
    pod_labels: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
    phase: str = "Pending",
    scheduled: bool = True,
    unschedulable_message: str | None = None,
    ready: bool = False,
    uid: str | None = None,
    created: str = T0,
    terminating: bool = False,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A pod as listed by the API server."""
    conditions: list[dict[str, Any]] = []
    if unschedulable_message is not None:
        conditions.append(cond("PodScheduled", "False", "Unschedulable", unschedulable_message))
    elif scheduled:
        conditions += [cond("PodScheduled", "True"), cond("Initialized", "True"),
                       cond("ContainersReady", str(ready)), cond("Ready", str(ready))]
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": uid or f"uid-{name}",
                            "labels": pod_labels or {}, "creationTimestamp": created}
    if annotations:
        meta["annotations"] = annotations
    if terminating:
        meta["deletionTimestamp"] = T2
    status: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if containers is not None:
        status["containerStatuses"] = containers
    if init_containers is not None:
        status["initContainerStatuses"] = init_containers
    spec: dict[str, Any] = {"containers": [{"name": "user-container", "image": GOOD_IMAGE}]}
    if scheduled and unschedulable_message is None:
        spec["nodeName"] = "gpu-node-1"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def kpod(
    revision_name: str = "llm-00002", suffix: str = "6d4b9c7f8-x2x9q", **kw: Any
) -> dict[str, Any]:
    """A pod of a Knative revision."""
    labels = {"serving.knative.dev/revision": revision_name,
              "serving.knative.dev/service": "llm",
              "serving.knative.dev/configuration": "llm"}
    return pod(f"{revision_name}-deployment-{suffix}", pod_labels=labels, **kw)


def event(
    reason: str,
    message: str,
    obj_name: str,
    *,
    kind: str = "Pod",
    count: int = 1,
    first: str = T0,
    last: str = T1,
    uid: str | None = None,
    etype: str = "Warning",
) -> dict[str, Any]:
    """A core/v1 Event."""
    involved: dict[str, Any] = {"kind": kind, "name": obj_name, "namespace": NS}
    involved["uid"] = uid or f"uid-{obj_name}"
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{obj_name}.17f0a", "namespace": NS},
        "involvedObject": involved, "reason": reason, "message": message, "type": etype,
        "count": count, "firstTimestamp": first, "lastTimestamp": last,
        "source": {"component": "kubelet"},
    }


# ---------------------------------------------------------------- LeaderWorkerSet


def lws(
    *,
    name: str = "dist",
    replicas: int = 2,
    size: int = 2,
    generation: int = 1,
    observed: int | None = 1,
    ready: int = 2,
    updated: int = 2,
    total: int | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A LeaderWorkerSet as read back from the API server."""
    container = {"name": "vllm-leader", "image": GOOD_IMAGE,
                 "ports": [{"containerPort": 8000, "name": "http"}]}
    status: dict[str, Any] = {
        "readyReplicas": ready, "updatedReplicas": updated,
        "replicas": replicas if total is None else total,
        "hpaPodSelector": f"leaderworkerset.sigs.k8s.io/name={name},"
                          "leaderworkerset.sigs.k8s.io/worker-index=0",
        "conditions": conditions if conditions is not None else lws_available(generation),
    }
    if observed is not None:
        status["observedGeneration"] = observed
    return {
        "apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
        "metadata": {"name": name, "namespace": NS, "generation": generation},
        "spec": {
            "replicas": replicas,
            "leaderWorkerTemplate": {
                "size": size,
                "leaderTemplate": {"spec": {"containers": [container]}},
                "workerTemplate": {"spec": {"containers": [{"name": "vllm-worker",
                                                            "image": GOOD_IMAGE}]}},
            },
        },
        "status": status,
    }


def lws_available(generation: int = 1) -> list[dict[str, Any]]:
    """Conditions of an LWS with every group ready."""
    return [
        cond("Available", "True", "AllGroupsReady", "All replicas are ready", generation),
        cond("Progressing", "False", "GroupsProgressing", "Replicas are progressing", generation),
    ]


def lws_progressing(generation: int = 1) -> list[dict[str, Any]]:
    """Conditions of an LWS whose groups are still coming up."""
    return [
        cond("Available", "False", "AllGroupsReady", "All replicas are ready", generation),
        cond("Progressing", "True", "GroupsProgressing", "Replicas are progressing", generation),
    ]


def lws_updating(generation: int = 2) -> list[dict[str, Any]]:
    """Conditions of an LWS in a rolling update."""
    return [
        cond("Available", "False", "AllGroupsReady", "All replicas are ready", generation),
        cond("UpdateInProgress", "True", "GroupsUpdating", "Rolling Upgrade is in progress",
             generation),
    ]


def lpod(
    group: int, worker: int = 0, *, lws_name: str = "dist", hash_: str = "7c9f5d6b4",
    **kw: Any,
) -> dict[str, Any]:
    """A pod of an LWS group (worker 0 = leader)."""
    name = f"{lws_name}-{group}" if worker == 0 else f"{lws_name}-{group}-{worker}"
    labels = {
        "leaderworkerset.sigs.k8s.io/name": lws_name,
        "leaderworkerset.sigs.k8s.io/group-index": str(group),
        "leaderworkerset.sigs.k8s.io/worker-index": str(worker),
        "leaderworkerset.sigs.k8s.io/group-key": f"key{group}",
        "leaderworkerset.sigs.k8s.io/template-revision-hash": hash_,
    }
    return pod(name, pod_labels=labels, **kw)


def podgroup(name: str, *, queue: str = "team-a", reasons: list[tuple[str, str]]) -> dict[str, Any]:
    """A KAI PodGroup with one unschedulable scheduling condition."""
    return {
        "apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"minMember": 2, "queue": queue},
        "status": {
            "phase": "Pending",
            "schedulingConditions": [{
                "type": "UnschedulableOnNodePool", "status": "True", "nodePool": "default",
                "transitionID": "0", "lastTransitionTime": T1,
                "reasons": [
                    {"reason": r, "message": m, "details": {"queueDetails": {"name": queue}}}
                    for r, m in reasons
                ],
            }],
        },
    }
