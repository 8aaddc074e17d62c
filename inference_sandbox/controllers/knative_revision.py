"""Knative Revisions: their pods (scaling, scale to zero) and their status (§1.7-1.8)."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.config import Timings
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.controllers.base import new_pod
from inference_sandbox.objects import (
    annotations_of,
    clone,
    dig,
    labels_of,
    meta,
    set_condition,
    short_hash,
)

POD = ("v1", "Pod")
REVISION = ("serving.knative.dev/v1", "Revision")
AUTOSCALING = "autoscaling.knative.dev/"
QUEUE_IMAGE = ("gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:"
               "0000000000000000000000000000000000000000000000000000000000000000")
KNATIVE_ONLY = ("containerConcurrency", "timeoutSeconds", "responseStartTimeoutSeconds",
                "idleTimeoutSeconds")


def parse_duration(text: str) -> float | None:
    """Go duration (``600s``, ``10m``, ``1h30m``) → seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text or "")
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * units[u] for n, u in parts)


def living_ready(conditions: list[dict[str, Any]], dependents: tuple[str, ...]
                 ) -> tuple[str, str, str]:
    """Knative's living condition set: False beats Unknown, the most recent first.

    Timestamps have one-second resolution; ties go to a condition that has a reason, then to
    the one listed first in ``dependents``.
    """
    deps = [c for c in conditions if c.get("type") in dependents]
    deps.sort(key=lambda c: (c.get("lastTransitionTime", ""), bool(c.get("reason")),
                             -dependents.index(c["type"])), reverse=True)
    for wanted in ("False", "Unknown"):
        for cond in deps:
            if cond.get("status") == wanted:
                return wanted, cond.get("reason", ""), cond.get("message", "")
    if len(deps) < len(dependents):
        return "Unknown", "", ""
    return "True", "", ""


@dataclass
class RevisionState:
    """What the simulated autoscaler remembers about a revision (simulated seconds)."""

    created: float
    ready_at: float | None = None
    unrouted_since: float | None = None


class RevisionReconciler:
    """Pods and status of one Revision."""

    def __init__(self, api: ObjectAPI, clock: SimClock, timings: Timings, defaults: Any,
                 seed: int = 0) -> None:
        self.api = api
        self.clock = clock
        self.t = timings
        self.defaults = defaults
        self.states: dict[str, RevisionState] = {}
        self._random = random.Random(seed)

    def state(self, rev: Mapping[str, Any]) -> RevisionState:
        """Per-revision memory (created lazily)."""
        uid = meta(rev)["uid"]
        if uid not in self.states:
            self.states[uid] = RevisionState(self.clock.now())
        return self.states[uid]

    def progress_deadline(self, rev: Mapping[str, Any]) -> float:
        """Annotation ``serving.knative.dev/progress-deadline`` or the cluster default."""
        raw = annotations_of(rev).get("serving.knative.dev/progress-deadline")
        parsed = parse_duration(raw) if raw else None
        if parsed is None:
            parsed = parse_duration(self.defaults().get("progress-deadline", "")) \
                or self.t.progress_deadline
        return parsed

    def desired(self, rev: Mapping[str, Any], routed: bool, latest: bool
                ) -> tuple[int, float | None]:
        """Pods the revision should have now, and when that may change (sim seconds)."""
        st = self.state(rev)
        now = self.clock.now()
        ann = annotations_of(rev)
        defaults = self.defaults()
        min_scale = _int(ann.get(AUTOSCALING + "min-scale"), 0)
        max_scale = _int(ann.get(AUTOSCALING + "max-scale"), 0)
        initial = _int(ann.get(AUTOSCALING + "initial-scale"),
                       _int(defaults.get("initial-scale"), 1))
        if not routed and not latest:
            if st.unrouted_since is None:
                st.unrouted_since = now
            left = st.unrouted_since + self.t.scale_to_zero_after - now
            return (0, None) if left <= 0 else (max(min_scale, 1), left)
        st.unrouted_since = None
        want = max(min_scale, initial)
        wake = None
        if st.ready_at is not None:
            left = st.ready_at + self.t.scale_to_zero_after - now
            if left <= 0:
                want = min_scale
            else:
                wake = left
        if max_scale:
            want = min(want, max_scale)
        return want, wake

    # ------------------------------------------------------------------ pods
    def sync_pods(self, rev: dict[str, Any], want: int) -> list[dict[str, Any]]:
        """Create or delete pods to reach ``want``; returns the current pods."""
        ns, name = meta(rev)["namespace"], meta(rev)["name"]
        pods = [p for p in self.api.list(POD, ns, copy=False)
                if labels_of(p).get("serving.knative.dev/revision") == name
                and not meta(p).get("deletionTimestamp")]
        while len(pods) > want:
            victim = pods.pop()
            self.api.delete(POD, ns, meta(victim)["name"])
        template_hash = short_hash(rev.get("spec"), 10)
        while len(pods) < want:
            suffix = "".join(self._random.choices(string.ascii_lowercase + string.digits, k=5))
            pod = self._pod(rev, f"{name}-deployment-{template_hash}-{suffix}")
            pods.append(self.api.create(POD, pod))
        return pods

    def _pod(self, rev: dict[str, Any], pod_name: str) -> dict[str, Any]:
        md = meta(rev)
        labels = dict(labels_of(rev))
        labels.update({"serving.knative.dev/revision": md["name"],
                       "serving.knative.dev/revisionUID": md["uid"]})
        labels.setdefault("app", md["name"])
        annotations = {k: v for k, v in annotations_of(rev).items()
                       if not k.startswith(AUTOSCALING)}
        spec = {k: clone(v) for k, v in (rev.get("spec") or {}).items() if k not in KNATIVE_ONLY}
        containers = spec.get("containers") or []
        lb = labels
        port = 8080
        for container in containers:
            if container.get("ports"):
                port = container["ports"][0].get("containerPort", 8080)
                container["ports"] = [{"name": "user-port", "containerPort": port,
                                       "protocol": "TCP"}]
        for i, container in enumerate(containers):
            # Knative's webhook names unnamed containers; a server without it leaves them so.
            container.setdefault("name", "user-container" if i == 0 else f"user-container-{i}")
            if i == 0 or container.get("ports"):
                _rewrite_probe_ports(container, port)
                env = container.setdefault("env", [])
                env.extend([{"name": "PORT", "value": str(port)},
                            {"name": "K_REVISION", "value": md["name"]},
                            {"name": "K_CONFIGURATION",
                             "value": lb.get("serving.knative.dev/configuration", "")},
                            {"name": "K_SERVICE", "value": lb.get("serving.knative.dev/service",
                                                                  "")}])
        containers.append({"name": "queue-proxy", "image": QUEUE_IMAGE,
                           "ports": [{"name": "http-queueadm", "containerPort": 8022},
                                     {"name": "http-autometric", "containerPort": 9090},
                                     {"name": "http-usermetric", "containerPort": 9091},
                                     {"name": "queue-port", "containerPort": 8012}],
                           "readinessProbe": {"httpGet": {"port": 8012, "path": "/"},
                                              "periodSeconds": 10}})
        spec["containers"] = containers
        spec["terminationGracePeriodSeconds"] = int(dig(rev, "spec", "timeoutSeconds",
                                                        default=300))
        return new_pod(pod_name, md["namespace"], labels=labels, annotations=annotations,
                       spec=spec, owner=rev)

    # ------------------------------------------------------------------ status
    def status(self, rev: dict[str, Any], pods: list[dict[str, Any]], want: int) -> dict[str, Any]:
        """The Revision's status computed from its pods and the clock."""
        st = self.state(rev)
        now = self.clock.now()
        stamp = rfc3339(self.clock.wall())
        old = rev.get("status") or {}
        conditions = [dict(c) for c in old.get("conditions", [])]
        ready_pods = [p for p in pods if _pod_ready(p)]
        deadline_passed = st.ready_at is None and now >= st.created + self.progress_deadline(rev)
        resources: tuple[str, str, str] = ("Unknown", "Deploying", "")
        health: tuple[str, str, str] = ("Unknown", "Deploying", "")
        for pod in pods:
            scheduled = next((c for c in dig(pod, "status", "conditions", default=[])
                              if c.get("type") == "PodScheduled"), None)
            if scheduled and scheduled.get("status") == "False":
                resources = ("False", scheduled.get("reason", "Unschedulable"),
                             scheduled.get("message", ""))
            for cs in dig(pod, "status", "containerStatuses", default=[]):
                if cs.get("name") == "queue-proxy":
                    continue
                term = dig(cs, "lastState", "terminated")
                waiting = dig(cs, "state", "waiting")
                if term:
                    health = ("False", f"ExitCode{term.get('exitCode', 1)}",
                              f"Container failed with: {term.get('message', '')}")
                elif waiting and deadline_passed and waiting.get("reason") not in (
                        "ContainerCreating",):
                    resources = ("False", waiting.get("reason", ""), waiting.get("message", ""))
        if ready_pods and len(ready_pods) >= min(want, 1):
            if st.ready_at is None:
                st.ready_at = now
            if resources[0] != "False":
                resources = ("True", "", "")
            if health[0] != "False":
                health = ("True", "", "")
        elif st.ready_at is not None and want == 0:
            resources, health = ("True", "", ""), ("True", "", "")
        elif deadline_passed and resources[0] != "False":
            resources = ("False", "ProgressDeadlineExceeded", "Initial scale was never achieved")
        if want == 0 and st.ready_at is not None:
            active = ("False", "NoTraffic", "The target is not receiving traffic.")
        elif ready_pods:
            active = ("True", "", "")
        else:
            active = ("Unknown", "Activating" if st.ready_at else "Deploying", "")
        for ctype, (status, reason, message) in (("ResourcesAvailable", resources),
                                                 ("ContainerHealthy", health),
                                                 ("Active", active)):
            conditions = set_condition(conditions, ctype, status, reason=reason,
                                       message=message, now=stamp)
        ready = living_ready(conditions, ("ResourcesAvailable", "ContainerHealthy"))
        conditions = set_condition(conditions, "Ready", ready[0], reason=ready[1],
                                   message=ready[2], now=stamp)
        conditions.sort(key=lambda c: c["type"])
        images = [c for c in dig(rev, "spec", "containers", default=[])]
        return {
            "observedGeneration": md_generation(rev),
            "conditions": conditions,
            "actualReplicas": len(ready_pods),
            "desiredReplicas": want,
            "containerStatuses": [
                {"name": c.get("name", ""),
                 "imageDigest": f"{str(c.get('image', '')).split(':')[0]}@sha256:"
                                f"{short_hash(c.get('image', ''), 64)}"} for c in images],
        }


def md_generation(obj: Mapping[str, Any]) -> int:
    """``metadata.generation``."""
    return int(meta(obj).get("generation", 1))


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _rewrite_probe_ports(container: dict[str, Any], port: int) -> None:
    """Knative's webhook defaults a probe's port to 0 ("the serving port"); its revision
    reconciler puts the real port in before the pod is made (a pod with port 0 is invalid)."""
    for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container.get(probe_name) or {}
        for handler in ("httpGet", "tcpSocket", "grpc"):
            action = probe.get(handler)
            if isinstance(action, dict) and not action.get("port"):
                action["port"] = port


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in dig(pod, "status", "conditions", default=[]))


def revision_ready(rev: Mapping[str, Any]) -> str:
    """Status of the Revision's Ready condition (``Unknown`` when absent)."""
    for cond in dig(rev, "status", "conditions", default=[]):
        if cond.get("type") == "Ready":
            return str(cond.get("status", "Unknown"))
    return "Unknown"


def revision_message(rev: Mapping[str, Any]) -> str:
    """Message of the Revision's Ready condition."""
    for cond in dig(rev, "status", "conditions", default=[]):
        if cond.get("type") == "Ready":
            return str(cond.get("message", ""))
    return ""
