"""Capacity preflight against a KAI-Scheduler queue (pure arithmetic, no I/O).

A queue (``scheduling.run.ai/v2`` Queue) gives its GPUs as ``quota`` (guaranteed; ``-1`` =
unlimited) and ``limit`` (ceiling including over-quota; ``-1`` = no limit, ``0``/unset = nothing
beyond quota). The ceiling an operation may reach:

- preemptible workloads (priority < 100): ``limit`` (or ``quota`` when limit is 0, unbounded
  when -1), against the GPUs all the project's pods use now;
- non-preemptible workloads (priority >= 100, e.g. the ``inference`` class): ``quota`` only —
  KAI never lets them run over quota — against the GPUs used by the project's non-preemptible
  pods (preemptible pods of the same queue can be evicted for them).

Peak GPUs of an operation for one workload (``g_old``/``g_new`` GPUs per replica, ``R_old`` →
``R_new`` replicas, ``s`` = max surge replicas):

- deploy: ``R_new x g_new``;
- ``rollout="blue-green"`` (Knative: the new revision comes up at min-scale before the old one
  goes away): ``R_old x g_old + R_new x g_new``;
- ``rollout="rolling"`` (LWS rolling update): with ``s > 0``,
  ``max(R_oldxg_old + min(s, R_new)xg_new, R_newxg_new + min(s, R_old)xg_old)``; with ``s = 0``,
  ``max(R_oldxg_old, R_newxg_new)``.

The operation fits when ``used - (this workload's current GPUs) + peak ≤ ceiling``. When only the
surge does not fit, a rolling update can still complete with ``maxSurge: 0, maxUnavailable: 1``
(one replica at a time is taken down first): with ``allow_capacity_dip`` that rollout is returned
with a warning, otherwise :class:`~inference_core.errors.InsufficientQuota` is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from inference_core.errors import InsufficientQuota

UNLIMITED = -1.0
NON_PREEMPTIBLE_PRIORITY = 100
_EPS = 1e-9


@dataclass(frozen=True)
class QueueState:
    """A queue's GPU settings and what the project's pods use now.

    ``used_gpus`` counts every non-terminated pod of the project in this queue;
    ``used_non_preemptible_gpus`` those with priority >= 100 (None = unknown, treated as all).
    """

    name: str
    quota_gpus: float
    limit_gpus: float = 0.0
    used_gpus: float = 0.0
    used_non_preemptible_gpus: float | None = None

    def ceiling(self, *, non_preemptible: bool) -> float:
        """The most GPUs the queue's pods may hold (``inf`` when unbounded)."""
        quota = float("inf") if self.quota_gpus < 0 else self.quota_gpus
        if non_preemptible:
            return quota
        if self.limit_gpus < 0:
            return float("inf")
        if self.limit_gpus == 0:
            return quota
        return max(self.limit_gpus, 0.0 if quota == float("inf") else quota)

    def used_for(self, *, non_preemptible: bool) -> float:
        """GPUs that count against the ceiling for such a workload."""
        if non_preemptible and self.used_non_preemptible_gpus is not None:
            return self.used_non_preemptible_gpus
        return self.used_gpus


@dataclass(frozen=True)
class GpuDemand:
    """GPUs one workload needs during a deploy or an update.

    ``replica_gpus``: GPUs of one new replica (pods per replica x GPUs per pod; fractions allowed).
    ``current_replicas``/``current_replica_gpus``: what runs now (0 for a first deploy; these
    GPUs are part of ``QueueState.used_gpus``). ``max_surge``/``max_unavailable``: rollout
    settings in replicas (LWS ``rollingUpdateConfiguration``). ``rollout``: ``"rolling"`` (LWS)
    or ``"blue-green"`` (Knative revision: new pods before old go away).
    """

    workload: str
    replica_gpus: float
    target_replicas: int
    current_replicas: int = 0
    current_replica_gpus: float | None = None
    max_surge: int = 0
    max_unavailable: int = 1
    rollout: Literal["rolling", "blue-green"] = "rolling"
    non_preemptible: bool = False

    @property
    def current_gpus(self) -> float:
        """GPUs this workload holds now."""
        return self.current_replicas * self._old_replica_gpus

    @property
    def _old_replica_gpus(self) -> float:
        if self.current_replica_gpus is None:
            return self.replica_gpus
        return self.current_replica_gpus

    @property
    def target_gpus(self) -> float:
        """GPUs this workload holds when the operation is done."""
        return self.target_replicas * self.replica_gpus

    def peak_gpus(self, *, max_surge: int | None = None) -> float:
        """Most GPUs this workload holds at once during the operation (see module doc)."""
        surge = self.max_surge if max_surge is None else max_surge
        old, new = self.current_gpus, self.target_gpus
        if self.current_replicas == 0:
            return new
        g_old = self._old_replica_gpus
        if self.rollout == "blue-green":
            return old + new
        if surge <= 0:
            return max(old, new)
        return max(old + min(surge, self.target_replicas) * self.replica_gpus,
                   new + min(surge, self.current_replicas) * g_old)


@dataclass(frozen=True)
class CapacityReport:
    """Outcome of a passed capacity preflight."""

    queue: str
    operation: str
    peak_gpus: float
    other_gpus: float
    ceiling_gpus: float
    free_gpus_after: float
    suggested_rollout: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())


def fmt_gpus(n: float) -> str:
    """GPU count for messages: ``2``, ``0.5``, ``unlimited``."""
    if n == float("inf"):
        return "unlimited"
    return f"{n:.2f}".rstrip("0").rstrip(".")


def check_capacity(
    queue: QueueState, demand: GpuDemand, *, allow_capacity_dip: bool = False,
) -> CapacityReport:
    """Refuse (InsufficientQuota) or accept an operation given the queue state; see module doc."""
    np_ = demand.non_preemptible
    ceiling = queue.ceiling(non_preemptible=np_)
    used = queue.used_for(non_preemptible=np_)
    others = max(0.0, used - demand.current_gpus)
    operation = "update" if demand.current_replicas else "deploy"
    peak = demand.peak_gpus()
    notes: list[str] = []
    if np_:
        notes.append(
            f"workload {demand.workload!r} is non-preemptible (priority >= "
            f"{NON_PREEMPTIBLE_PRIORITY}): it may only use the queue's in-quota GPUs "
            f"({fmt_gpus(ceiling)}), never over-quota GPUs"
        )
        if queue.used_non_preemptible_gpus is not None and queue.used_gpus > used + _EPS:
            notes.append(f"{fmt_gpus(queue.used_gpus - used)} GPU(s) of preemptible workloads "
                         "in the queue may be preempted to make room")
    if others + peak <= ceiling + _EPS:
        return CapacityReport(queue.name, operation, peak, others, ceiling,
                              ceiling - others - peak, notes=tuple(notes))
    head = _shortfall(queue, demand, operation, peak, others, ceiling, used)
    if others + demand.target_gpus > ceiling + _EPS:
        raise InsufficientQuota(
            f"{head}; even the finished {operation} ({fmt_gpus(demand.target_gpus)} GPUs) does "
            f"not fit. {_options(queue, np_)}" + _np_suffix(np_)
        )
    can_dip = demand.rollout == "rolling" and demand.current_replicas > 0
    dipped = demand.peak_gpus(max_surge=0)
    if can_dip and others + dipped <= ceiling + _EPS:
        rollout = {"maxSurge": 0, "maxUnavailable": max(1, demand.max_unavailable)}
        if allow_capacity_dip:
            warning = (
                f"capacity will dip during the update of {demand.workload!r}: the surge does not "
                f"fit queue {queue.name!r}, so replicas are replaced in place (maxSurge 0, "
                f"maxUnavailable {rollout['maxUnavailable']}); up to {rollout['maxUnavailable']} "
                f"of {demand.target_replicas} replica(s) will be down at a time"
            )
            return CapacityReport(queue.name, operation, dipped, others, ceiling,
                                  ceiling - others - dipped, suggested_rollout=rollout,
                                  warnings=(warning,), notes=tuple(notes))
        raise InsufficientQuota(
            f"{head}. The update would hang with its surge pods pending. Allow a capacity dip to "
            f"roll with maxSurge 0, maxUnavailable {rollout['maxUnavailable']} (replicas replaced "
            f"in place), or: {_options(queue, np_)}" + _np_suffix(np_)
        )
    extra = ""
    if demand.rollout == "blue-green" and demand.current_replicas:
        extra = (" A Knative revision starts its new pods before the old ones stop, so the update "
                 "needs both at once; there is no in-place rollout.")
    raise InsufficientQuota(f"{head}.{extra} {_options(queue, np_)}" + _np_suffix(np_))


def _shortfall(
    queue: QueueState, demand: GpuDemand, operation: str, peak: float, others: float,
    ceiling: float, used: float,
) -> str:
    parts = [f"{fmt_gpus(demand.target_gpus)} new"] if not demand.current_replicas else [
        f"{fmt_gpus(demand.current_gpus)} running", f"{fmt_gpus(peak - demand.current_gpus)} surge"
    ]
    kind = "in-quota GPUs" if demand.non_preemptible else "GPUs"
    limit = ("no limit" if queue.limit_gpus < 0 else "none beyond quota"
             if queue.limit_gpus == 0 else fmt_gpus(queue.limit_gpus))
    return (
        f"queue {queue.name!r}: the {operation} of {demand.workload!r} needs {fmt_gpus(peak)} "
        f"GPUs at its peak ({' + '.join(parts)}), but only "
        f"{fmt_gpus(max(0.0, ceiling - others))} {kind} are available to it "
        f"(quota {fmt_gpus(queue.ceiling(non_preemptible=True))}, limit {limit}, "
        f"{fmt_gpus(used)} used by the project's pods, {fmt_gpus(demand.current_gpus)} of them "
        f"by this workload); short by {fmt_gpus(others + peak - ceiling)}"
    )


def _options(queue: QueueState, non_preemptible: bool) -> str:
    what = "quota" if non_preemptible else "quota or limit"
    return (f"Raise the {what} of queue {queue.name!r}, free GPUs used by other workloads of the "
            "project, or request fewer replicas/GPUs.")


def _np_suffix(non_preemptible: bool) -> str:
    if not non_preemptible:
        return ""
    return (f" Non-preemptible workloads (priority >= {NON_PREEMPTIBLE_PRIORITY}) may only use "
            "in-quota GPUs; a preemptible priority class (e.g. 'train' or 'build-preemptible') "
            "could use the queue's over-quota GPUs.")
