"""The metric-gated progressive rollout: walk the traffic steps, judge each, promote or roll
back.

At every step below 100 % the candidate gets ``percent`` of the traffic for ``bake_s``
seconds (the *bake*, during which a load generator may run); then both versions' statistics
over that window are compared by :func:`~inference_core.analysis.gates.evaluate`:

- ``pass``: next step; after the last one the candidate is promoted to 100 %.
- ``fail`` (a breach): traffic goes back to stable at once, and :class:`CanaryFailed` carries
  the decision record.
- ``insufficient`` (too few requests): the window is extended by another bake, up to
  ``max_wait_s`` in total for the step; then the rollout fails *without a verdict*
  (``insufficient-data``) and rolls back: a candidate is never promoted unjudged.
- the provider cannot answer: roll back and fail (``metrics-unavailable``).
- a traffic step does not take effect (not routed in time, refused): roll back and fail
  (``step-failed``).

Time comes from an injectable :class:`Clock`; waiting happens only in ``bake`` (tests drive
it with a fake clock and a synchronous load step, no sleeps).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from inference_core.analysis.errors import CanaryFailed, MetricsUnavailable
from inference_core.analysis.gates import FAIL, INSUFFICIENT, PASS, Thresholds, evaluate
from inference_core.analysis.providers import MetricsProvider
from inference_core.analysis.traffic import TrafficControl
from inference_core.errors import FieldIssue, InferenceStacksError, SpecError

log = logging.getLogger(__name__)


class Clock(Protocol):
    """``now()`` in seconds; ``sleep(seconds)``."""

    def now(self) -> float:
        """Monotonic seconds."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""


class RealClock:
    """The process's monotonic clock."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep``."""
        time.sleep(seconds)


#: ``bake(seconds, percent)``: let the window run (send load, or just wait).
Bake = Callable[[float, int], None]


@dataclass(frozen=True)
class CanaryConfig:
    """Steps (candidate percent, ascending, ending at 100), bake time per step (s), the
    longest a step may wait for enough requests (s), and the gate thresholds."""

    steps: tuple[int, ...] = (10, 25, 50, 100)
    bake_s: float = 30.0
    max_wait_s: float = 120.0
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        steps = list(self.steps)
        if not steps or steps != sorted(set(steps)) or steps[-1] != 100 or steps[0] <= 0:
            raise SpecError([FieldIssue("steps", "must rise strictly and end at 100",
                                        value=steps, allowed="e.g. 10,25,50,100")])
        if self.bake_s <= 0 or self.max_wait_s < self.bake_s:
            raise SpecError([FieldIssue("bake", "must be positive and at most max_wait",
                                        value={"bake_s": self.bake_s,
                                               "max_wait_s": self.max_wait_s},
                                        allowed="0 < bake_s <= max_wait_s")])


@dataclass
class StepRecord:
    """One judged window."""

    percent: int
    verdict: str
    candidate: dict[str, Any]
    stable: dict[str, Any]
    checks: list[dict[str, Any]]
    window_s: float
    analysis_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return dict(self.__dict__)


@dataclass
class DecisionRecord:
    """The whole rollout: every window, the outcome, and what happened to the traffic."""

    workload: str
    stable: str
    candidate: str
    provider: str
    config: dict[str, Any]
    steps: list[StepRecord] = field(default_factory=list)
    outcome: str = "running"  # promoted | rolled-back
    reason: str = ""
    traffic: dict[str, int] = field(default_factory=dict)
    rollback: str = ""
    rollback_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (for ``-o json``, XComs and logs)."""
        d = dict(self.__dict__)
        d["steps"] = [s.to_dict() for s in self.steps]
        return d


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def describe_step(step: StepRecord) -> str:
    """One human line per window: ``25%: pass (ttft_p95_ratio 1.02 <= 1.5, ...)``."""
    ops = {"error_rate": "<", "min_requests": ">="}
    p95 = {"ttft_p95_ratio": "ttft_p95", "e2e_p95_ratio": "e2e_p95"}

    def ms(version: dict[str, Any], key: str) -> str:
        value = version.get(key)
        return "-" if value is None else f"{value * 1000:.1f}ms"

    parts = [f"{c['name']} {_fmt(c['value'])}"
             + (f" ({ms(step.candidate, p95[c['name']])}/{ms(step.stable, p95[c['name']])})"
                if c["name"] in p95 else "")
             + ("" if c["threshold"] is None else
                f" {ops.get(c['name'], '<=')} {_fmt(c['threshold'])}")
             + ("" if c["verdict"] == PASS else f" [{c['verdict'].upper()}]")
             for c in step.checks]
    return f"{step.percent}%: {step.verdict} ({', '.join(parts)})"


def run_canary(traffic: TrafficControl, provider: MetricsProvider, config: CanaryConfig, *,
               bake: Bake | None = None, clock: Clock | None = None,
               on_step: Callable[[StepRecord], None] | None = None) -> DecisionRecord:
    """Walk ``config.steps``; return the record on promotion, raise :class:`CanaryFailed`
    (after rolling back) otherwise."""
    clock = clock or RealClock()
    bake = bake or (lambda seconds, percent: clock.sleep(seconds))
    cand, stable = traffic.candidate, traffic.stable
    record = DecisionRecord(
        workload=f"{cand.namespace}/{cand.service}", stable=stable.revision,
        candidate=cand.revision, provider=provider.name,
        config={"steps": list(config.steps), "bake_s": config.bake_s,
                "max_wait_s": config.max_wait_s, "gates": config.thresholds.to_dict()})

    def fail(reason: str, message: str) -> CanaryFailed:
        started = clock.now()
        record.rollback = traffic.rollback()
        record.rollback_s = round(clock.now() - started, 4)
        record.outcome, record.reason = "rolled-back", message
        record.traffic = traffic.current()
        log.info("canary %s: %s; rolled back: %s", record.workload, message, record.rollback)
        return CanaryFailed(f"{record.workload}: {message}; rolled back ({record.rollback})",
                            reason=reason, record=record.to_dict())

    for percent in config.steps[:-1]:
        try:
            traffic.split(percent)
        except InferenceStacksError as e:  # not routed in time, an API refusal...
            raise fail("step-failed", f"the {percent}% step did not take effect: {e}") from e
        # a partitioned (LWS) candidate's version is known once its first group runs
        cand, stable = traffic.candidate, traffic.stable
        record.candidate = cand.revision
        try:
            starts = (provider.begin(cand), provider.begin(stable))
        except MetricsUnavailable as e:
            raise fail("metrics-unavailable", f"metrics unavailable at {percent}%: {e}") from e
        waited = 0.0
        while True:
            bake(config.bake_s, percent)
            waited += config.bake_s
            t0 = clock.now()
            try:
                c_stats = provider.measure(cand, starts[0])
                s_stats = provider.measure(stable, starts[1])
            except MetricsUnavailable as e:
                raise fail("metrics-unavailable",
                           f"metrics unavailable at {percent}%: {e}") from e
            verdict, checks = evaluate(c_stats, s_stats, config.thresholds)
            step = StepRecord(percent, verdict, c_stats.to_dict(), s_stats.to_dict(),
                              [c.to_dict() for c in checks], waited, round(clock.now() - t0, 4))
            record.steps.append(step)
            log.info("canary %s %s", record.workload, describe_step(step))
            if on_step is not None:
                on_step(step)
            if verdict == PASS:
                break
            if verdict == FAIL:
                breached = ", ".join(f"{c.name} {_fmt(c.value)} (limit {_fmt(c.threshold)})"
                                     for c in checks if c.verdict == FAIL)
                raise fail("breach", f"candidate {cand.revision} breached at {percent}%: "
                           f"{breached}")
            assert verdict == INSUFFICIENT
            if waited + config.bake_s > config.max_wait_s:
                raise fail("insufficient-data",
                           f"no verdict at {percent}% after {waited:g}s: "
                           f"{checks[0].detail} (need {config.thresholds.min_requests} each)")
    traffic.promote()
    record.outcome = "promoted"
    record.traffic = traffic.current()
    return record


def parse_steps(steps: Sequence[int] | str) -> tuple[int, ...]:
    """Steps from ``"10,25,50"`` or a sequence; 100 is appended when missing."""
    items = steps.split(",") if isinstance(steps, str) else list(steps)
    try:
        out = tuple(int(str(s).strip()) for s in items if str(s).strip())
    except ValueError as e:
        raise SpecError([FieldIssue("steps", "must be integers", value=steps,
                                    allowed="percentages, e.g. 10,25,50,100")]) from e
    return out if out and out[-1] == 100 else (*out, 100)
