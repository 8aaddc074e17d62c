"""Canary steps for a LeaderWorkerSet: a partitioned rollout behind the leader Service.

The candidate is deployed with ``spec.rollout.partition`` equal to ``replicas`` (no group
updated yet). A step of ``percent`` lowers the partition so that ``ceil(replicas * percent /
100)`` groups (the highest indexes) run the candidate template: the leader Service then
spreads requests over the groups, so the candidate's share is its share of the groups. The
versions are the LWS template revisions (``leaderworkerset.sigs.k8s.io/template-revision-
hash`` of the leader pods). Promotion is partition 0; rollback goes through the engine
(re-applies the recorded good template, every group returns to it).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

from inference_core.analysis.providers import VersionRef
from inference_core.errors import DeployError, ObjectRef, ReadinessTimeout

LWS_API = "leaderworkerset.x-k8s.io/v1"
P = "leaderworkerset.sigs.k8s.io/"


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or [])


class LwsPartitionTraffic:
    """``TrafficControl`` for a LeaderWorkerSet (see the module docstring).

    :param engine: the rollout engine; its history's newest entry must be the candidate
        (deployed with ``rollout.partition`` = ``replicas``).
    :param rollout_id: the candidate's rollout id (the rollback target is the good entry
        recorded before it).
    :param timeout_s: how long each step may take until its groups are ready.
    :param poll_s: how often the groups are read while a step settles.
    """

    def __init__(self, engine: Any, name: str, namespace: str, *,
                 rollout_id: str | None = None, timeout_s: float = 300.0,
                 poll_s: float = 0.2, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.name = name
        self.namespace = namespace
        self.rollout_id = rollout_id
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.sleep = sleep
        self.ref = ObjectRef("LeaderWorkerSet", namespace, name)
        live = engine.client.get(LWS_API, "LeaderWorkerSet", name, namespace)
        if live is None:
            raise DeployError("does not exist", ref=self.ref)
        self.replicas = int((live.get("spec") or {}).get("replicas", 1))
        groups = self.groups()
        hashes = {h for h, _ in groups.values()}
        if len(hashes) != 1:
            raise DeployError(f"runs {len(hashes)} template revisions ({sorted(hashes)}); "
                              "stage the candidate with rollout.partition = replicas first",
                              ref=self.ref)
        self.stable = VersionRef(namespace, name, hashes.pop())
        self.candidate = VersionRef(namespace, name, "")  # known after the first step

    def groups(self) -> dict[int, tuple[str, bool]]:
        """``{group index: (template revision hash, leader ready)}``."""
        pods = self.engine.client.list("v1", "Pod", self.namespace,
                                       label_selector=f"{P}name={self.name},{P}worker-index=0")
        out: dict[int, tuple[str, bool]] = {}
        for pod in pods:
            md = pod.get("metadata") or {}
            if md.get("deletionTimestamp"):
                continue
            labels = md.get("labels") or {}
            out[int(labels.get(P + "group-index", "0"))] = (
                str(labels.get(P + "template-revision-hash", "")), _ready(pod))
        return out

    def _apply_partition(self, partition: int) -> None:
        history = self.engine.history(self.name, self.namespace)
        entry = history.latest
        if entry is None or entry.manifest.get("kind") != "LeaderWorkerSet":
            raise DeployError("has no recorded LeaderWorkerSet rollout", ref=self.ref)
        manifest = copy.deepcopy(entry.manifest)
        rolling = manifest.setdefault("spec", {}).setdefault("rolloutStrategy", {}) \
            .setdefault("rollingUpdateConfiguration", {})
        rolling["partition"] = partition
        self.engine.client.apply(manifest)
        deadline = time.monotonic() + self.timeout_s
        while True:
            groups = self.groups()
            fresh = {h for g, (h, _) in groups.items() if g >= partition}
            settled = (len(groups) == self.replicas and all(r for _, r in groups.values())
                       and all(groups[g][0] == self.stable.revision for g in range(partition))
                       and len(fresh) == 1 and self.stable.revision not in fresh)
            if settled or (partition >= self.replicas and len(groups) == self.replicas):
                if fresh and self.stable.revision not in fresh:
                    self.candidate = VersionRef(self.namespace, self.name, fresh.pop())
                return
            if time.monotonic() > deadline:
                raise ReadinessTimeout(f"partition {partition}: groups did not settle within "
                                       f"{self.timeout_s:g}s ({groups})", ref=self.ref)
            self.sleep(self.poll_s)

    def split(self, percent: int) -> None:
        """``ceil(replicas * percent / 100)`` groups (at least one) on the candidate."""
        groups = max(1, math.ceil(self.replicas * percent / 100))
        self._apply_partition(max(self.replicas - groups, 0))

    def promote(self) -> None:
        """Partition 0: every group on the candidate."""
        self._apply_partition(0)

    def rollback(self) -> str:
        """Through ``Engine.rollback`` (the recorded good template, every group)."""
        result = self.engine.rollback(self.name, self.namespace, rollout_id=self.rollout_id,
                                      timeout_s=self.timeout_s)
        return "; ".join([*result.notes, "groups " + ", ".join(
            f"{rev} {pct}%" for rev, pct in self.current().items())])

    def current(self) -> dict[str, int]:
        """``{template revision: percent of the groups}``."""
        counts: dict[str, int] = {}
        for h, _ in self.groups().values():
            counts[h] = counts.get(h, 0) + 1
        total = sum(counts.values()) or 1
        return {h: round(100 * n / total) for h, n in counts.items()}
