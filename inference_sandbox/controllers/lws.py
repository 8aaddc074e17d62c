"""Simulated LeaderWorkerSet controller (§2): groups of leader + workers, rolling updates.

Failures only show on pods and events — there is no failure condition, as upstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, cast

from inference_sandbox.clock import SimClock, rfc3339
from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.controllers.base import EventRecorder, new_pod
from inference_sandbox.objects import (
    annotations_of,
    clone,
    dig,
    labels_of,
    meta,
    owner_ref,
    short_hash,
)
from inference_sandbox.watchcache import WatchEvent

LWS = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
POD = ("v1", "Pod")
SERVICE = ("v1", "Service")
P = "leaderworkerset.sigs.k8s.io/"
NAME, GROUP, WORKER = P + "name", P + "group-index", P + "worker-index"
GROUP_KEY, HASH = P + "group-key", P + "template-revision-hash"


def scaled(value: Any, total: int, *, round_up: bool, default: int) -> int:
    """An int-or-percent against ``total``."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        exact = int(value[:-1]) * total / 100
        return int(-(-exact // 1)) if round_up else int(exact)
    return default


def _ready(pod: Mapping[str, Any]) -> bool:
    return dig(pod, "status", "phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in dig(pod, "status", "conditions", default=[]))


class LwsController:
    """Reconciles LeaderWorkerSets (key: namespace, name)."""

    name = "leaderworkerset"

    def __init__(self, api: ObjectAPI, clock: SimClock, events: EventRecorder) -> None:
        self.api = api
        self.clock = clock
        self.events = events

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        """The LWS itself, or the LWS named by a pod's label."""
        md = event.obj["metadata"]
        if event.rt.group == "leaderworkerset.x-k8s.io" and event.type != "DELETED":
            return ((md["namespace"], md["name"]),)
        if event.rt.kind == "Pod" and not event.rt.group:
            name = (md.get("labels") or {}).get(NAME)
            return ((md["namespace"], name),) if name else ()
        return ()

    def resync_keys(self) -> Iterable[Hashable]:
        """Every LWS."""
        return [(meta(o)["namespace"], meta(o)["name"]) for o in self.api.list(LWS, copy=False)]

    def reconcile(self, key: Hashable) -> float | None:
        """Services, groups, rolling update, status."""
        namespace, name = cast("tuple[str, str]", key)
        lws = self.api.get(LWS, namespace, name)
        if lws is None or meta(lws).get("deletionTimestamp"):
            return None
        spec = lws["spec"]
        replicas = int(spec.get("replicas", 1))
        lwt = spec.get("leaderWorkerTemplate") or {}
        size = int(lwt.get("size", 1))
        rolling = dig(spec, "rolloutStrategy", "rollingUpdateConfiguration", default={})
        max_unavailable = max(scaled(rolling.get("maxUnavailable", 1), replicas,
                                     round_up=False, default=1), 0)
        max_surge = max(scaled(rolling.get("maxSurge", 0), replicas, round_up=True, default=0), 0)
        partition = int(rolling.get("partition", 0) or 0)
        revision = short_hash({"t": lwt, "n": spec.get("networkConfig")}, 10)
        unique = dig(spec, "networkConfig", "subdomainPolicy") == "UniquePerReplica"
        groups = self._groups(namespace, name)
        self._restart_policy(lws, lwt.get("restartPolicy", "RecreateGroupOnPodRestart"), groups)
        groups = self._groups(namespace, name)
        stale = [g for g in range(partition, replicas)
                 if g in groups and self._hash(groups[g]) != revision]
        surge = min(max_surge, len(stale))
        for g in sorted(groups):
            if g >= replicas + surge:
                self._delete_group(namespace, groups.pop(g))
        for g in range(replicas + surge):
            if g not in groups:
                self._create_leader(lws, g, revision, size, unique)
            elif size > 1:
                self._ensure_workers(lws, g, groups[g], size, unique)
            if unique:
                self._headless(lws, f"{name}-{g}", g)
        if not unique:
            self._headless(lws, name, None)
        groups = self._groups(namespace, name)
        ready = {g for g, pods in groups.items() if self._group_ready(pods, size)}
        unavailable = sum(1 for g in range(replicas) if g not in ready)
        budget = max_unavailable + sum(1 for g in range(replicas, replicas + surge) if g in ready)
        for g in sorted(stale, reverse=True):
            if g in groups and self._hash(groups[g]) != revision and unavailable < budget:
                if g in ready:
                    unavailable += 1
                self._delete_group(namespace, groups.pop(g))
                ready.discard(g)
        self._status(lws, groups, ready, revision, replicas, partition)
        return None

    # ------------------------------------------------------------------ groups
    def _groups(self, namespace: str, name: str) -> dict[int, list[dict[str, Any]]]:
        groups: dict[int, list[dict[str, Any]]] = {}
        for pod in self.api.list(POD, namespace, copy=False):
            labels = labels_of(pod)
            if labels.get(NAME) == name and not meta(pod).get("deletionTimestamp"):
                groups.setdefault(int(labels.get(GROUP, "0")), []).append(pod)
        result = {}
        for g, pods in groups.items():
            if any(labels_of(p).get(WORKER) == "0" for p in pods):
                result[g] = pods
            else:
                self._delete_group(namespace, pods)
        return result

    @staticmethod
    def _hash(pods: list[dict[str, Any]]) -> str | None:
        leader = next((p for p in pods if labels_of(p).get(WORKER) == "0"), None)
        return labels_of(leader).get(HASH) if leader else None

    def _group_ready(self, pods: list[dict[str, Any]], size: int) -> bool:
        return len(pods) >= size and all(_ready(p) for p in pods)

    def _delete_group(self, namespace: str, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            if self.api.get(POD, namespace, meta(pod)["name"], copy=False) is not None:
                self.api.delete(POD, namespace, meta(pod)["name"])

    def _restart_policy(self, lws: dict[str, Any], policy: str,
                        groups: dict[int, list[dict[str, Any]]]) -> None:
        if policy not in ("RecreateGroupOnPodRestart", "RecreateGroupAfterStart"):
            return
        for g, pods in groups.items():
            if policy == "RecreateGroupAfterStart" and any(
                    dig(p, "status", "phase", default="Pending") == "Pending" for p in pods):
                continue
            failed = next((p for p in pods if any(
                cs.get("restartCount", 0) > 0
                for cs in dig(p, "status", "containerStatuses", default=[]))), None)
            if failed is None:
                continue
            leader = f"{meta(lws)['name']}-{g}"
            self.events.emit(lws, "Normal", "RecreateGroupOnPodRestart",
                             f"Worker pod {meta(failed)['name']} failed, deleted leader pod "
                             f"{leader} to recreate group {g}", component="leaderworkerset")
            self._delete_group(meta(lws)["namespace"], pods)

    def _pod_for(self, lws: dict[str, Any], g: int, w: int, revision: str, size: int,
                 unique: bool) -> dict[str, Any]:
        name, ns = meta(lws)["name"], meta(lws)["namespace"]
        lwt = lws["spec"]["leaderWorkerTemplate"]
        template = (lwt.get("leaderTemplate") if w == 0 else None) or lwt.get("workerTemplate") \
            or {}
        leader = f"{name}-{g}"
        pod_name = leader if w == 0 else f"{leader}-{w}"
        subdomain = leader if unique else name
        labels = dict(dig(template, "metadata", "labels", default={}))
        labels.update({NAME: name, GROUP: str(g), WORKER: str(w), HASH: revision,
                       GROUP_KEY: hashlib.sha1(f"{ns}/{leader}".encode()).hexdigest()})
        sub = dig(lwt, "subGroupPolicy", default={})
        annotations = dict(dig(template, "metadata", "annotations", default={}))
        annotations[P + "size"] = str(size)
        if sub.get("subGroupSize"):
            labels[P + "subgroup-index"] = str(w // int(sub["subGroupSize"]))
            annotations[P + "subgroup-size"] = str(sub["subGroupSize"])
        if w:
            annotations[P + "leader-name"] = leader
        elif unique:
            annotations[P + "subdomainPolicy"] = "UniquePerReplica"
        for key in (P + "exclusive-topology", P + "subgroup-exclusive-topology"):
            if key in annotations_of(lws):
                annotations[key] = annotations_of(lws)[key]
        pod_spec = clone(template.get("spec") or {})
        pod_spec["hostname"] = pod_name
        pod_spec["subdomain"] = subdomain
        env = [{"name": "LWS_LEADER_ADDRESS", "value": f"{leader}.{subdomain}.{ns}"},
               {"name": "LWS_GROUP_SIZE", "value": str(size)},
               {"name": "LWS_WORKER_INDEX", "value": str(w)}]
        for container in [*(pod_spec.get("initContainers") or []),
                          *(pod_spec.get("containers") or [])]:
            present = {e.get("name") for e in container.get("env") or []}
            container["env"] = [e for e in env if e["name"] not in present] + list(
                container.get("env") or [])
        return new_pod(pod_name, ns, labels=labels, annotations=annotations, spec=pod_spec,
                       owner=lws)

    def _create_leader(self, lws: dict[str, Any], g: int, revision: str, size: int,
                       unique: bool) -> None:
        self.api.create(POD, self._pod_for(lws, g, 0, revision, size, unique))
        if size > 1 and dig(lws, "spec", "startupPolicy", default="LeaderCreated") != \
                "LeaderReady":
            for w in range(1, size):
                self.api.create(POD, self._pod_for(lws, g, w, revision, size, unique))

    def _ensure_workers(self, lws: dict[str, Any], g: int, pods: list[dict[str, Any]],
                        size: int, unique: bool) -> None:
        leader = next((p for p in pods if labels_of(p).get(WORKER) == "0"), None)
        if leader is None:
            return
        if dig(lws, "spec", "startupPolicy", default="LeaderCreated") == "LeaderReady" and \
                not _ready(leader):
            return
        have = {labels_of(p).get(WORKER) for p in pods}
        revision = labels_of(leader).get(HASH, "")
        for w in range(1, size):
            if str(w) not in have:
                self.api.create(POD, self._pod_for(lws, g, w, revision, size, unique))

    def _headless(self, lws: dict[str, Any], svc_name: str, g: int | None) -> None:
        ns = meta(lws)["namespace"]
        if self.api.get(SERVICE, ns, svc_name, copy=False) is not None:
            return
        selector = {NAME: meta(lws)["name"]}
        if g is not None:
            selector[GROUP] = str(g)
        self.api.create(SERVICE, {
            "metadata": {"name": svc_name, "namespace": ns,
                         "labels": {NAME: meta(lws)["name"]},
                         "ownerReferences": [owner_ref(lws)]},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "type": "ClusterIP",
                     "publishNotReadyAddresses": True, "selector": selector,
                     "sessionAffinity": "None"},
            "status": {"loadBalancer": {}}})

    # ------------------------------------------------------------------ status
    def _status(self, lws: dict[str, Any], groups: dict[int, list[dict[str, Any]]],
                ready: set[int], revision: str, replicas: int, partition: int) -> None:
        updated = {g for g, pods in groups.items() if self._hash(pods) == revision}
        in_range = [g for g in groups if partition <= g < replicas]
        updating = sum(1 for g in in_range if g in updated) < len(in_range) or \
            len(in_range) < replicas - partition
        ready_non_burst = sum(1 for g in ready if g < replicas)
        updated_and_ready = sum(1 for g in in_range if g in updated and g in ready)
        wanted: list[str] = []
        if updating:
            wanted = ["UpdateInProgress", "Progressing"]
        elif ready_non_burst == replicas and updated_and_ready == len(in_range):
            wanted = ["Available"]
        else:
            wanted = ["Progressing"]
        generation = int(meta(lws).get("generation", 1))
        conditions = [dict(c) for c in dig(lws, "status", "conditions", default=[])]
        changed = False
        for ctype in wanted:
            changed = self._set_true(conditions, ctype, generation) or changed
        for cond in conditions:
            cond["observedGeneration"] = generation
        status = dict(lws.get("status") or {})
        new_status = {
            **status,
            "replicas": len(groups), "readyReplicas": len(ready),
            "updatedReplicas": len(updated), "observedGeneration": generation,
            "hpaPodSelector": f"{NAME}={meta(lws)['name']},{WORKER}=0",
            "conditions": conditions,
        }
        if new_status == status:
            return
        lws["status"] = new_status
        self.api.replace(LWS, lws)
        if changed:
            first = next(c for c in conditions if c["type"] == wanted[0])
            self.events.emit(lws, "Normal", first["reason"],
                             f"{first['message']}, with {len(ready)} groups ready of total "
                             f"{replicas} groups", component="leaderworkerset")

    def _set_true(self, conditions: list[dict[str, Any]], ctype: str, generation: int) -> bool:
        """LWS ``setCondition``: exclusive pairs flip to False; only the status changes."""
        reasons = {"Available": ("AllGroupsReady", "All replicas are ready"),
                   "UpdateInProgress": ("GroupsUpdating", "Rolling Upgrade is in progress"),
                   "Progressing": ("GroupsProgressing", "Replicas are progressing")}
        exclusive = {("Available", "Progressing"), ("Progressing", "Available"),
                     ("Available", "UpdateInProgress"), ("UpdateInProgress", "Available")}
        now = rfc3339(self.clock.wall())
        changed = False
        found = False
        for cond in conditions:
            if cond["type"] == ctype:
                found = True
                if cond["status"] != "True":
                    reason, message = reasons[ctype]
                    cond.update(status="True", reason=reason, message=message,
                                lastTransitionTime=now, observedGeneration=generation)
                    changed = True
            elif (cond["type"], ctype) in exclusive and cond["status"] == "True":
                cond["status"] = "False"
                cond["lastTransitionTime"] = now
                changed = True
        if not found:
            reason, message = reasons[ctype]
            conditions.append({"type": ctype, "status": "True", "reason": reason,
                               "message": message, "lastTransitionTime": now,
                               "observedGeneration": generation})
            changed = True
        return changed
