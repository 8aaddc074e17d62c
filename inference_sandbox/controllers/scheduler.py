"""Fake schedulers: default-scheduler and KAI (pod groups, gangs, queue quotas)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from inference_sandbox import capacity
from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.config import Timings
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.controllers.base import EventRecorder
from inference_sandbox.objects import (
    annotations_of,
    clone,
    dig,
    labels_of,
    meta,
    owner_ref,
    set_condition,
)
from inference_sandbox.watchcache import WatchEvent

POD = ("v1", "Pod")
NODE = ("v1", "Node")
QUEUE = ("scheduling.run.ai/v2", "Queue")
PODGROUP = ("scheduling.run.ai/v2alpha2", "PodGroup")
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
LWS_GROUP = "leaderworkerset.sigs.k8s.io/group-index"


class Scheduler:
    """One global key: every pass schedules all pending pods it can."""

    name = "scheduler"

    def __init__(self, api: ObjectAPI, clock: SimClock, events: EventRecorder,
                 timings: Timings) -> None:
        self.api = api
        self.clock = clock
        self.events = events
        self.timings = timings
        self._first_seen: dict[str, float] = {}
        #: Simulated time each pod was bound (read by the kubelet, so a clock jump counts as
        #: time the pod spent running).
        self.bind_times: dict[str, float] = {}
        self._blocked: set[str] = set()

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        """Pods, nodes, queues and priority classes change what fits."""
        if event.rt.kind == "Pod" and event.type == "ADDED" and not event.rt.group:
            self._first_seen.setdefault(event.obj["metadata"]["uid"], self.clock.now())
        if event.rt.kind in ("Pod", "Node", "Queue", "PriorityClass"):
            if event.rt.kind == "Pod" and event.type == "MODIFIED" and \
                    dig(event.obj, "spec", "nodeName") and dig(event.old, "spec", "nodeName"):
                return ()
            return ("all",)
        return ()

    def resync_keys(self) -> Iterable[Hashable]:
        """The single key."""
        return ("all",)

    def reconcile(self, key: Hashable) -> float | None:
        """Group, then place pending pods (gangs all-or-nothing)."""
        pods = self.api.list(POD, copy=False)
        now = self.clock.now()
        live = {meta(p)["uid"] for p in pods}
        for uid in [u for u in self._first_seen if u not in live]:
            del self._first_seen[uid]
            self._blocked.discard(uid)
        for uid in [u for u in self.bind_times if u not in live]:
            del self.bind_times[uid]
        pending = [clone(p) for p in pods if not dig(p, "spec", "nodeName")
                   and not meta(p).get("deletionTimestamp")]
        if not pending:
            return None
        wait: float | None = None
        ready = []
        for pod in pending:
            seen = self._first_seen.setdefault(meta(pod)["uid"], now)
            left = seen + self.timings.schedule_delay - now
            if left > 0:
                wait = left if wait is None else min(wait, left)
            else:
                ready.append(pod)
        gangs = self._gangs(ready)
        nodes = capacity.nodes_from(self.api.list(NODE, copy=False), pods)
        usage = self._queue_usage(pods)
        classes = {meta(pc)["name"]: int(pc.get("value", 0))
                   for pc in self.api.list(("scheduling.k8s.io/v1", "PriorityClass"),
                                             copy=False)}
        for members, min_member, group in gangs:
            if len(members) < min_member:
                continue
            message = self._queue_problem(members, group, usage, classes)
            plan = None
            if message is None:
                plan, message = capacity.place(members, nodes)
            if plan is None:
                for pod in members:
                    self._unschedulable(pod, message)
                continue
            for pod in members:
                node = plan[meta(pod)["name"]]
                nodes[node].used += capacity.pod_gpus(pod)
                self._bind(pod, node)
            if group is not None:
                queue = capacity.pod_queue(members[0])
                if queue:
                    use = usage.setdefault(queue, capacity.QueueUse())
                    need = sum(capacity.pod_gpus(p) for p in members)
                    use.total += need
                    if not self._preemptible(members[0], group, classes):
                        use.non_preemptible += need
        return wait

    # ------------------------------------------------------------------ groups
    def _gangs(self, pods: list[dict[str, Any]]
               ) -> list[tuple[list[dict[str, Any]], int, dict[str, Any] | None]]:
        singles: list[tuple[list[dict[str, Any]], int, dict[str, Any] | None]] = []
        groups: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            if dig(pod, "spec", "schedulerName") not in capacity.KAI_SCHEDULERS:
                singles.append(([pod], 1, None))
                continue
            name = self._ensure_podgroup(pod)
            groups.setdefault(name, []).append(pod)
        for name, members in groups.items():
            group = self.api.get(PODGROUP, meta(members[0])["namespace"], name, copy=False)
            min_member = int(dig(group, "spec", "minMember", default=1))
            singles.append((members, min_member, group))
        return singles

    def _ensure_podgroup(self, pod: dict[str, Any]) -> str:
        existing = annotations_of(pod).get("pod-group-name")
        ns = meta(pod)["namespace"]
        if existing and self.api.get(PODGROUP, ns, existing, copy=False):
            return existing
        labels = labels_of(pod)
        owner = (meta(pod).get("ownerReferences") or [{}])[0]
        priority = labels.get("priorityClassName") or dig(pod, "spec", "priorityClassName")
        min_member = 1
        workload: dict[str, Any] | None = None
        if owner.get("kind") == "Revision":
            name = f"pg-{owner['name']}-{owner['uid']}"
            rev = self.api.get(("serving.knative.dev/v1", "Revision"), ns, owner["name"],
                                 copy=False)
            workload = rev
            raw = annotations_of(rev or {}).get("autoscaling.knative.dev/min-scale", "1")
            min_member = int(raw) if raw.isdigit() and int(raw) > 0 else 1
            priority = priority or "inference"
        elif labels.get(LWS_NAME):
            lws = self.api.get(("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"), ns,
                                 labels[LWS_NAME], copy=False) or {}
            workload = lws or None
            name = f"pg-{labels[LWS_NAME]}-{meta(lws).get('uid', '')}-group-" \
                   f"{labels.get(LWS_GROUP, '0')}"
            if dig(lws, "spec", "startupPolicy", default="LeaderCreated") == "LeaderCreated":
                min_member = int(dig(lws, "spec", "leaderWorkerTemplate", "size", default=1))
            priority = priority or labels_of(lws).get("priorityClassName") or "train"
        else:
            name = f"pg-{meta(pod)['name']}-{meta(pod)['uid']}"
            priority = priority or "train"
            workload = pod
        if self.api.get(PODGROUP, ns, name, copy=False) is None:
            # Owned by the workload (as KAI's pod grouper does), so garbage collection removes
            # the PodGroup with its Revision, LeaderWorkerSet or bare pod.
            owners = [owner_ref(workload, controller=False)] if workload and \
                meta(workload).get("uid") else []
            self.api.create(PODGROUP, {
                "metadata": {"name": name, "namespace": ns, "labels": {
                    k: v for k, v in labels.items() if k in capacity.QUEUE_LABELS},
                    **({"ownerReferences": owners} if owners else {})},
                "spec": {"minMember": min_member, "queue": capacity.pod_queue(pod) or
                         "default-queue", "priorityClassName": priority},
                "status": {"phase": "Pending"}})
        updated = self.api.get(POD, ns, meta(pod)["name"])
        if updated is not None:
            updated["metadata"].setdefault("annotations", {})["pod-group-name"] = name
            self.api.replace(POD, updated)
            pod["metadata"] = updated["metadata"]
        return name

    def _preemptible(self, pod: dict[str, Any], group: dict[str, Any] | None,
                     classes: dict[str, int]) -> bool:
        label = labels_of(pod).get("kai.scheduler/preemptibility")
        if label:
            return label == "preemptible"
        name = dig(group, "spec", "priorityClassName") if group else None
        return capacity.priority_value(name, classes) < 100

    def _queue_usage(self, pods: list[dict[str, Any]]) -> dict[str, capacity.QueueUse]:
        usage: dict[str, capacity.QueueUse] = {}
        classes: dict[str, int] = {}
        for pod in pods:
            queue = capacity.pod_queue(pod)
            if not queue or not dig(pod, "spec", "nodeName") or capacity.is_terminal(pod):
                continue
            if dig(pod, "spec", "schedulerName") not in capacity.KAI_SCHEDULERS:
                continue
            use = usage.setdefault(queue, capacity.QueueUse())
            gpus = capacity.pod_gpus(pod)
            use.total += gpus
            group_name = annotations_of(pod).get("pod-group-name")
            group = self.api.get(PODGROUP, meta(pod)["namespace"], group_name or "",
                                   copy=False) if group_name else None
            if not self._preemptible(pod, group, classes):
                use.non_preemptible += gpus
        return usage

    def _queue_problem(self, members: list[dict[str, Any]], group: dict[str, Any] | None,
                       usage: dict[str, capacity.QueueUse], classes: dict[str, int]
                       ) -> str | None:
        if group is None:
            return None
        queue_name = capacity.pod_queue(members[0]) or dig(group, "spec", "queue")
        if not queue_name:
            return None
        queue = self.api.get(QUEUE, None, queue_name, copy=False)
        need = sum(capacity.pod_gpus(p) for p in members)
        return capacity.check_queue(queue_name, queue, need,
                                    usage.get(queue_name, capacity.QueueUse()),
                                    self._preemptible(members[0], group, classes))

    # ------------------------------------------------------------------ writes
    def _component(self, pod: dict[str, Any]) -> str:
        return dig(pod, "spec", "schedulerName", default="default-scheduler")

    def _unschedulable(self, pod: dict[str, Any], message: str) -> None:
        self._blocked.add(meta(pod)["uid"])
        current = dig(pod, "status", "conditions", default=[])
        existing = next((c for c in current if c.get("type") == "PodScheduled"), None)
        if existing and existing.get("status") == "False" and existing.get("message") == message:
            return
        updated = self.api.get(POD, meta(pod)["namespace"], meta(pod)["name"])
        if updated is None:
            return
        status = updated.setdefault("status", {})
        status["phase"] = "Pending"
        status["conditions"] = set_condition(
            status.get("conditions", []), "PodScheduled", "False", reason="Unschedulable",
            message=message, now=rfc3339(self.clock.wall()), extra={"lastProbeTime": None})
        self.api.replace(POD, updated)
        reason = "Unschedulable" if self._component(pod) in capacity.KAI_SCHEDULERS \
            else "FailedScheduling"
        self.events.emit(updated, "Warning", reason, message, component=self._component(pod))
        self._podgroup_phase(updated, "Pending", message)

    def _bind(self, pod: dict[str, Any], node: str) -> None:
        updated = self.api.get(POD, meta(pod)["namespace"], meta(pod)["name"])
        if updated is None:
            return
        updated["spec"]["nodeName"] = node
        uid = meta(updated)["uid"]
        first = self._first_seen.get(uid, self.clock.now())
        self.bind_times[uid] = self.clock.now() if uid in self._blocked else \
            min(first + self.timings.schedule_delay, self.clock.now())
        status = updated.setdefault("status", {})
        status["conditions"] = set_condition(
            status.get("conditions", []), "PodScheduled", "True",
            now=rfc3339(self.clock.wall()), extra={"lastProbeTime": None})
        self.api.replace(POD, updated)
        md = updated["metadata"]
        self.events.emit(updated, "Normal", "Scheduled",
                         f"Successfully assigned {md['namespace']}/{md['name']} to {node}",
                         component=self._component(pod))
        self._podgroup_phase(updated, "Running", None)

    def _podgroup_phase(self, pod: dict[str, Any], phase: str, message: str | None) -> None:
        name = annotations_of(pod).get("pod-group-name")
        if not name:
            return
        group = self.api.get(PODGROUP, meta(pod)["namespace"], name)
        if group is None:
            return
        status = group.setdefault("status", {})
        conditions = [] if message is None else [{
            "type": "UnschedulableOnNodePool", "status": "True", "reason": "Unschedulable",
            "message": message, "nodePool": "default",
            "transitionID": "0", "lastTransitionTime": rfc3339(self.clock.wall())}]
        if status.get("phase") == phase and status.get("schedulingConditions", []) == conditions:
            return
        status["phase"] = phase
        status["schedulingConditions"] = conditions
        self.api.replace(PODGROUP, group)
