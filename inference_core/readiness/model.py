"""Value types of the readiness verdict: State, TrafficTarget, Readiness."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inference_core.errors import InferenceStacksError, ObjectRef


class State(StrEnum):
    """Where a workload stands. ``READY`` and ``FAILED`` are terminal for a waiter."""

    READY = "ready"
    PROGRESSING = "progressing"
    FAILED = "failed"


@dataclass(frozen=True)
class TrafficTarget:
    """One entry of a Knative Service's ``status.traffic[]``.

    ``revision`` is the revision that receives the traffic, ``percent`` its share (0 for a
    tag-only target), ``tag`` the optional tag, ``url`` the tag's own URL (only tagged
    targets have one), ``latest_revision`` whether the entry follows the latest ready
    revision (``latestRevision: true``) instead of pinning a revision by name.
    """

    revision: str | None
    percent: int = 0
    tag: str | None = None
    url: str | None = None
    latest_revision: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with the same (snake_case) names as the attributes."""
        return {
            "revision": self.revision,
            "percent": self.percent,
            "tag": self.tag,
            "url": self.url,
            "latest_revision": self.latest_revision,
        }


@dataclass(frozen=True)
class Readiness:
    """The verdict on one serving object, computed by :func:`inference_core.readiness.evaluate`.

    ``reason`` is one CamelCase word (a Kubernetes/Knative/kubelet reason where there is one,
    for example ``ImagePullBackOff``, ``ExitCode1``, ``Unschedulable``, ``GroupsProgressing``),
    ``message`` a sentence for a human that names the object (kind namespace/name).
    ``revision`` is the revision that serves traffic now (Knative: ``latestReadyRevisionName``,
    so on a failed update it is the *old* revision) or the pod template hash (LWS).
    ``url`` is the external URL (Knative ``status.url``) or the cluster-local leader Service
    URL (LWS). ``observed_generation`` is ``status.observedGeneration``. ``traffic`` is the
    parsed Knative ``status.traffic`` (empty for LWS).
    """

    state: State
    reason: str
    message: str
    kind: str
    namespace: str | None
    name: str
    revision: str | None = None
    url: str | None = None
    observed_generation: int | None = None
    traffic: tuple[TrafficTarget, ...] = ()

    @property
    def ready(self) -> bool:
        """True when the workload serves the wanted generation/revision."""
        return self.state is State.READY

    @property
    def failed(self) -> bool:
        """True when waiting longer will not help without a change."""
        return self.state is State.FAILED

    @property
    def terminal(self) -> bool:
        """True when a waiter should stop (ready or failed)."""
        return self.state is not State.PROGRESSING

    @property
    def ref(self) -> ObjectRef:
        """Kind/namespace/name of the evaluated object, for error messages."""
        return ObjectRef(kind=self.kind, namespace=self.namespace, name=self.name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``state`` as its string value, ``traffic`` as a list of dicts)."""
        return {
            "state": self.state.value,
            "reason": self.reason,
            "message": self.message,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "revision": self.revision,
            "url": self.url,
            "observed_generation": self.observed_generation,
            "traffic": [target.to_dict() for target in self.traffic],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Readiness:
        """Inverse of :meth:`to_dict` (for payloads that crossed a process boundary)."""
        return cls(
            state=State(data["state"]),
            reason=str(data["reason"]),
            message=str(data["message"]),
            kind=str(data["kind"]),
            namespace=data.get("namespace"),
            name=str(data["name"]),
            revision=data.get("revision"),
            url=data.get("url"),
            observed_generation=data.get("observed_generation"),
            traffic=tuple(TrafficTarget(**t) for t in data.get("traffic") or ()),
        )


class UnsupportedObject(InferenceStacksError, ValueError):
    """``evaluate``/``pod_selector`` got an object whose apiVersion/kind it does not judge."""
