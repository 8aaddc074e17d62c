"""Labels and annotations: identity, scheduler conventions, readiness await hints.

Where each goes matters (k8s-mapping.md): labels on a Knative Service's own metadata never
reach pods, so scheduler labels go on the pod template; autoscaling annotations go on the
template only; Pulumi await annotations go on the serving object's own metadata.
"""

from __future__ import annotations

from typing import Any

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile
from inference_core.render.refusals import refuse
from inference_core.rollout import constants
from inference_core.rollout.constants import AUTO_DELETE_ANNOTATION as AUTO_DELETE_ANNOTATION
from inference_core.rollout.constants import KIND_LABEL as KIND_LABEL
from inference_core.rollout.constants import REDACTED_ANNOTATION as REDACTED_ANNOTATION
from inference_core.rollout.constants import WORKLOAD_LABEL as WORKLOAD_LABEL
from inference_core.spec.common import Preemptibility, Priority
from inference_core.spec.loader import AnySpec

MANAGED_BY = constants.MANAGED_BY_LABEL
MANAGER = constants.MANAGED_BY_VALUE
PREEMPTIBILITY_LABEL = "kai.scheduler/preemptibility"
PRIORITY_LABEL = "priorityClassName"
# Grace added to the initialization timeout for Pulumi's await, so Knative's own progress
# deadline (set to the initialization timeout) fails the revision first, with its reason.
PULUMI_AWAIT_GRACE_SECONDS = 120

DEFAULT_INIT_TIMEOUT = {
    "CustomInference": 600,
    "HuggingFaceInference": 1800,
    "DistributedInference": 1800,
}


def workload_selector(name: str) -> str:
    """Label selector matching every object rendered for the workload ``name``."""
    return constants.workload_selector(name)


def object_labels(spec: AnySpec) -> dict[str, str]:
    """Labels of every rendered object: the user's plus our identity labels."""
    labels = dict(spec.metadata.labels)
    labels[MANAGED_BY] = MANAGER
    labels[WORKLOAD_LABEL] = spec.metadata.name
    labels[KIND_LABEL] = spec.kind
    return labels


def init_timeout(spec: AnySpec) -> int:
    """The initialization timeout in seconds (spec value or the kind's default)."""
    value = spec.spec.general.initialization_timeout
    return value if value is not None else DEFAULT_INIT_TIMEOUT[spec.kind]


def scheduler_labels(spec: AnySpec, profile: ClusterProfile) -> dict[str, str]:
    """Queue, priority and preemptibility labels (KAI reads them from the top owner or pod)."""
    sched = profile.scheduler
    body = spec.spec
    if sched.type != "kai":
        explicit = body.model_fields_set & {"priority", "preemptibility"}
        nondefault = body.priority is not Priority.VERY_HIGH or \
            body.preemptibility is not Preemptibility.NON_PREEMPTIBLE
        if explicit and nondefault:
            field = "priority" if "priority" in explicit else "preemptibility"
            refuse(ProfileError(f"spec.{field}", "scheduler priority and preemption",
                               "scheduler.type: kai",
                               "install KAI-Scheduler and use the 'kai' profile"))
        return {}
    return {
        sched.queue_label: profile.queue_for(spec.metadata.project),
        PRIORITY_LABEL: sched.priority_classes[body.priority],
        PREEMPTIBILITY_LABEL: body.preemptibility.value,
    }


def serving_annotations(spec: AnySpec, wait_for: str) -> dict[str, str]:
    """Annotations of the serving object: the user's, Pulumi await hints, auto-deletion."""
    annotations = dict(spec.metadata.annotations)
    annotations["pulumi.com/waitFor"] = wait_for
    annotations["pulumi.com/timeoutSeconds"] = str(init_timeout(spec) + PULUMI_AWAIT_GRACE_SECONDS)
    auto_delete = spec.spec.general.auto_deletion_after
    if auto_delete is not None:
        annotations[AUTO_DELETE_ANNOTATION] = f"{auto_delete}s"
    return annotations


def base_metadata(spec: AnySpec, profile: ClusterProfile, name: str) -> dict[str, Any]:
    """``metadata`` of a supporting object (Secret, PVC, Service, policy)."""
    return {
        "name": name,
        "namespace": profile.namespace_for(spec.metadata.project),
        "labels": object_labels(spec),
    }
