"""How the canary moves traffic: a small protocol, and its Knative implementation over the
rollout engine (server-side apply with our field manager; rollback to the recorded good
revision).

LeaderWorkerSets have no traffic split; see ``docs/promotion.md`` for the partitioned
rollout the analysis uses instead (groups weighted by replicas behind the leader Service).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from inference_core.analysis.providers import VersionRef
from inference_core.errors import DeployError, ObjectRef


class TrafficControl(Protocol):
    """Moves traffic between the stable and the candidate version of one workload."""

    stable: VersionRef
    candidate: VersionRef

    def split(self, percent: int) -> None:
        """``percent`` to the candidate, the rest to stable; returns once routed."""

    def promote(self) -> None:
        """All traffic to the candidate."""

    def rollback(self) -> str:
        """All traffic back to stable; a one-line description of what was done."""

    def current(self) -> dict[str, int]:
        """``{revision: percent}`` routed now."""


def _routed(live: Mapping[str, Any] | None) -> dict[str, int]:
    return {str(t.get("revisionName")): int(t.get("percent") or 0)
            for t in ((live or {}).get("status") or {}).get("traffic") or []
            if int(t.get("percent") or 0) > 0}


@dataclass(frozen=True)
class Versions:
    """The stable and candidate revisions of a Knative Service and its candidate tag URL."""

    stable: VersionRef
    candidate: VersionRef
    candidate_url: str | None


def knative_versions(live: Mapping[str, Any], tag: str = "candidate") -> Versions:
    """Stable (the revision serving traffic that is not the candidate) and candidate (the
    tag's revision) from a live Knative Service; raises ``DeployError`` when either is
    missing."""
    md = live.get("metadata") or {}
    ns, name = str(md.get("namespace", "")), str(md.get("name", ""))
    ref = ObjectRef("Service", ns, name)
    status = live.get("status") or {}
    tagged = next((t for t in status.get("traffic") or [] if t.get("tag") == tag), None)
    if tagged is None or not tagged.get("revisionName"):
        raise DeployError(f"has no revision tagged {tag!r}; deploy the candidate with "
                          f"--candidate-tag {tag} first", ref=ref)
    candidate = str(tagged["revisionName"])
    stable = next((str(t["revisionName"]) for t in status.get("traffic") or []
                   if t.get("revisionName") and t["revisionName"] != candidate
                   and int(t.get("percent") or 0) > 0), None)
    if stable is None:
        raise DeployError(f"serves no stable revision beside the candidate {candidate!r}; "
                          "a canary needs one to compare with", ref=ref)
    return Versions(VersionRef(ns, name, stable), VersionRef(ns, name, candidate),
                    tagged.get("url"))


class KnativeTraffic:
    """Traffic steps of a Knative Service through ``inference_core.rollout.engine.Engine``.

    :param engine: the rollout engine (its client reaches the cluster).
    :param rollout_id: the candidate's rollout id, so a rollback targets the good entry
        recorded before it (None: the newest entry is the candidate's).
    :param timeout_s: how long each step may take to be routed.
    """

    def __init__(self, engine: Any, name: str, namespace: str, *, tag: str = "candidate",
                 rollout_id: str | None = None, timeout_s: float = 120.0) -> None:
        self.engine = engine
        self.name = name
        self.namespace = namespace
        self.tag = tag
        self.rollout_id = rollout_id
        self.timeout_s = timeout_s
        live = self.live()
        if live is None:
            raise DeployError("does not exist", ref=ObjectRef("Service", namespace, name))
        versions = knative_versions(live, tag)
        self.stable, self.candidate = versions.stable, versions.candidate
        self.candidate_url = versions.candidate_url

    def live(self) -> dict[str, Any] | None:
        """The Service as the API server has it now."""
        live: dict[str, Any] | None = self.engine.client.get(
            "serving.knative.dev/v1", "Service", self.name, self.namespace)
        return live

    def split(self, percent: int) -> None:
        """Through ``Engine.traffic(split=...)`` (waits until routed)."""
        self.engine.traffic(self.name, self.namespace, split=percent, tag=self.tag,
                            timeout_s=self.timeout_s)

    def promote(self) -> None:
        """Through ``Engine.traffic(promote=True)``."""
        self.engine.traffic(self.name, self.namespace, promote=True, tag=self.tag,
                            timeout_s=self.timeout_s)

    def rollback(self) -> str:
        """Through ``Engine.rollback`` (to the recorded good revision)."""
        result = self.engine.rollback(self.name, self.namespace, rollout_id=self.rollout_id,
                                      timeout_s=self.timeout_s)
        routed = self.current()
        return "; ".join([*result.notes, "routed " + ", ".join(
            f"{rev} {pct}%" for rev, pct in routed.items())])

    def current(self) -> dict[str, int]:
        """``status.traffic`` percentages now."""
        return _routed(self.live())


def traffic_for(engine: Any, name: str, namespace: str, *, tag: str = "candidate",
                rollout_id: str | None = None, timeout_s: float = 120.0) -> TrafficControl:
    """The traffic control for the workload's kind: ``KnativeTraffic`` for a Knative
    Service, ``LwsPartitionTraffic`` for a LeaderWorkerSet."""
    from inference_core.rollout.engine import find_serving

    key, live = find_serving(engine.client, name, namespace)
    if key is None or live is None:
        raise DeployError("does not exist (neither a Knative Service nor a LeaderWorkerSet)",
                          ref=ObjectRef("Service", namespace, name))
    if key.kind == "LeaderWorkerSet":
        from inference_core.analysis.lws_traffic import LwsPartitionTraffic

        return LwsPartitionTraffic(engine, name, namespace, rollout_id=rollout_id,
                                   timeout_s=timeout_s)
    return KnativeTraffic(engine, name, namespace, tag=tag, rollout_id=rollout_id,
                          timeout_s=timeout_s)
