"""One wait, built on ``inference_core.readiness.evaluate``.

Pure steps every front door shares (the Airflow trigger and Pulumi call these with their
own I/O and clock):

- :func:`interest` — which pods/events/revision matter for the object as it is now;
- :func:`assess` — the :class:`~inference_core.readiness.Readiness` of a :class:`Snapshot`;
- :func:`step` — fold one snapshot (or one failed read) into :class:`WaitProgress` and say
  whether the wait is over (ready, failed, timed out);
- :func:`timeout_error` / :func:`failure_error` — the errors, saying what was last observed
  and whether (and since when) the API server was unreachable.

And the sync, watch-based :func:`wait_ready` for the CLI (``read_snapshot`` + watches).
No ``asyncio.wait_for`` anywhere: async callers bound their waits with ``asyncio.timeout``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from inference_core.errors import KubeApiError, ReadinessTimeout, WorkloadFailed
from inference_core.readiness import (
    Readiness,
    State,
    evaluate,
    pod_selector,
    selector_matches,
)
from inference_core.rollout.constants import (
    EVENT,
    KNATIVE_API,
    KNATIVE_REVISION,
    KNATIVE_SERVICE_LABEL,
    LWS_HASH_LABEL,
    LWS_NAME_LABEL,
    POD,
)
from inference_core.rollout.kube import AsyncKubeClient, JsonObj, KubeClient, WatchEvent
from inference_core.rollout.plan import WaitTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What was read at one moment: the serving object (None: absent), the pods and events
    that matter, the target Knative Revision (if any)."""

    obj: JsonObj | None
    pods: tuple[JsonObj, ...] = ()
    events: tuple[JsonObj, ...] = ()
    revisions: tuple[JsonObj, ...] = ()


@dataclass(frozen=True)
class WaitProgress:
    """State carried between steps. Times are seconds of the caller's monotonic clock.

    ``last``: the last readiness judged; ``api_down_since``/``api_error``: set while reads
    fail (cleared by the next good read); ``outages``: failed reads so far.
    """

    started: float
    deadline: float
    last: Readiness | None = None
    api_down_since: float | None = None
    api_error: str | None = None
    outages: int = 0
    reads: int = 0
    pods: tuple[int, int] = (0, 0)

    @classmethod
    def start(cls, target: WaitTarget, now: float) -> WaitProgress:
        """A fresh wait for ``target`` starting at ``now``."""
        return cls(started=now, deadline=now + target.timeout_s)

    def remaining(self, now: float) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - now)


@dataclass(frozen=True)
class Outcome:
    """The result of one :func:`step`: ``state`` ready/failed/timeout/progressing."""

    state: str
    readiness: Readiness | None

    @property
    def done(self) -> bool:
        """True when the wait is over."""
        return self.state != "progressing"


def target_revision(obj: Mapping[str, Any], expected_revision: str | None) -> str | None:
    """The Knative revision whose pods decide fail-fast (None for other kinds)."""
    if obj.get("apiVersion") != KNATIVE_API or obj.get("kind") != "Service":
        return None
    if expected_revision:
        return expected_revision
    rev = (obj.get("status") or {}).get("latestCreatedRevisionName")
    return str(rev) if rev else None


def interest(obj: Mapping[str, Any] | None, target: WaitTarget) -> tuple[str | None, set[str]]:
    """(pod label selector, object names whose events matter) for ``obj`` as it is now."""
    if obj is None:
        return None, {target.key.name}
    revision = target_revision(obj, target.expected_revision)
    names = {target.key.name} | ({revision} if revision else set())
    return pod_selector(obj, revision), names


def workload_pod_selector(target: WaitTarget) -> str:
    """A selector for every pod of the workload (stable while revisions come and go)."""
    if target.key.api_version == KNATIVE_API:
        return f"{KNATIVE_SERVICE_LABEL}={target.key.name}"
    return f"{LWS_NAME_LABEL}={target.key.name}"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def assess(target: WaitTarget, snap: Snapshot, *, now: datetime | None = None) -> Readiness:
    """Judge ``snap`` for ``target`` (filters pods/events that do not matter)."""
    key = target.key
    if snap.obj is None:
        return Readiness(state=State.PROGRESSING, reason="NotFound",
                         message=f"{key} does not exist (yet)", kind=key.kind,
                         namespace=key.namespace, name=key.name)
    selector, names = interest(snap.obj, target)
    stale = set(target.stale_pod_hashes)
    pods = [p for p in snap.pods
            if (selector is None or selector_matches(selector, _meta(p).get("labels") or {}))
            and (_meta(p).get("labels") or {}).get(LWS_HASH_LABEL) not in stale]
    names |= {str(_meta(p).get("name")) for p in pods}
    events = [e for e in snap.events
              if str((e.get("involvedObject") or e.get("regarding") or {}).get("name")) in names]
    revision = target_revision(snap.obj, target.expected_revision)
    revs = [r for r in snap.revisions if _meta(r).get("name") == revision]
    return evaluate(snap.obj, pods=pods if target.fail_fast else (),
                    events=events if target.fail_fast else (), revisions=revs,
                    expected_generation=target.expected_generation,
                    expected_revision=target.expected_revision, now=now)


def step(progress: WaitProgress, target: WaitTarget, snap: Snapshot | None, *, now: float,
         error: BaseException | str | None = None,
         wall_now: datetime | None = None) -> tuple[WaitProgress, Outcome]:
    """Fold one read into the progress: ``snap`` (a good read) or ``error`` (a failed one).

    Ready/failed end the wait at once; past the deadline the outcome is ``timeout``.
    """
    if snap is None:
        text = str(error) if error is not None else "no answer"
        progress = replace(progress, api_error=text, outages=progress.outages + 1,
                           api_down_since=progress.api_down_since
                           if progress.api_down_since is not None else now)
    else:
        readiness = assess(target, snap, now=wall_now)
        progress = replace(progress, last=readiness, api_down_since=None, api_error=None,
                           reads=progress.reads + 1, pods=ready_pods(snap.pods))
        if readiness.ready:
            return progress, Outcome("ready", readiness)
        if readiness.failed:
            return progress, Outcome("failed", readiness)
    if now >= progress.deadline:
        return progress, Outcome("timeout", progress.last)
    return progress, Outcome("progressing", progress.last)


def timeout_error(target: WaitTarget, progress: WaitProgress, *, now: float) -> ReadinessTimeout:
    """The timeout, saying what was last observed and whether the API was reachable."""
    waited = now - progress.started
    text = f"not ready after {waited:.0f}s (timeout {target.timeout_s:g}s)"
    last = progress.last
    if last is not None:
        text += f"; last observed: {last.state} ({last.reason}): {last.message}"
    elif progress.reads == 0:
        text += "; nothing was observed"
    if progress.api_down_since is not None:
        text += (f"; the API server was unreachable for the last "
                 f"{now - progress.api_down_since:.0f}s ({progress.api_error})")
    elif progress.outages:
        text += f"; {progress.outages} read(s) failed on the way, the last read succeeded"
    else:
        text += "; the API server answered every read"
    return ReadinessTimeout(text, ref=target.key.ref,
                            last=last.to_dict() if last is not None else None)


def failure_error(target: WaitTarget, readiness: Readiness) -> WorkloadFailed:
    """The terminal failure as an error (reason and revision kept)."""
    prefix = f"{target.key.ref}: "
    text = readiness.message
    return WorkloadFailed(text[len(prefix):] if text.startswith(prefix) else text,
                          ref=target.key.ref, reason=readiness.reason,
                          revision=readiness.revision)


# -- reads ------------------------------------------------------------------------------------

def read_snapshot(client: KubeClient, target: WaitTarget) -> Snapshot:
    """GET the object, its target Revision, LIST the pods that matter and the events."""
    key = target.key
    obj = client.get(key.api_version, key.kind, key.name, key.namespace)
    if obj is None:
        return Snapshot(None)
    revs: list[JsonObj] = []
    revision = target_revision(obj, target.expected_revision)
    if revision:
        rev = client.get(KNATIVE_REVISION.api_version, "Revision", revision, key.namespace)
        if rev is not None:
            revs.append(rev)
    pods: list[JsonObj] = []
    events: list[JsonObj] = []
    if target.fail_fast:
        selector, _ = interest(obj, target)
        pods = client.list(POD.api_version, "Pod", key.namespace, label_selector=selector)
        events = client.list(EVENT.api_version, "Event", key.namespace)
    return Snapshot(obj, tuple(pods), tuple(events), tuple(revs))


async def aread_snapshot(client: AsyncKubeClient, target: WaitTarget) -> Snapshot:
    """Async twin of :func:`read_snapshot`."""
    key = target.key
    obj = await client.get(key.api_version, key.kind, key.name, key.namespace)
    if obj is None:
        return Snapshot(None)
    revs: list[JsonObj] = []
    revision = target_revision(obj, target.expected_revision)
    if revision:
        rev = await client.get(KNATIVE_REVISION.api_version, "Revision", revision,
                               key.namespace)
        if rev is not None:
            revs.append(rev)
    pods: list[JsonObj] = []
    events: list[JsonObj] = []
    if target.fail_fast:
        selector, _ = interest(obj, target)
        pods = await client.list(POD.api_version, "Pod", key.namespace,
                                 label_selector=selector)
        events = await client.list(EVENT.api_version, "Event", key.namespace)
    return Snapshot(obj, tuple(pods), tuple(events), tuple(revs))


# -- the sync, watch-based wait ------------------------------------------------------------------

class _Watch(threading.Thread):
    """Sets ``wake`` on every event of one watch; re-watches until ``stop`` is set."""

    def __init__(self, client: KubeClient, api_version: str, kind: str, namespace: str | None,
                 *, wake: threading.Event, stop: threading.Event,
                 label_selector: str | None = None, field_selector: str | None = None,
                 window_s: float = 10.0) -> None:
        super().__init__(name=f"infstack-watch-{kind.lower()}", daemon=True)
        self.args = (client, api_version, kind, namespace, label_selector, field_selector)
        self.wake, self.stop, self.window_s = wake, stop, window_s
        self.stream: Iterator[WatchEvent] | None = None

    def close(self) -> None:
        """Stop: set by the caller's ``stop`` event, and the open stream shut down."""
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()

    def run(self) -> None:
        client, api_version, kind, namespace, labels, fields = self.args
        rv: str | None = None
        while not self.stop.is_set():
            try:
                self.stream = client.watch(api_version, kind, namespace,
                                           label_selector=labels, field_selector=fields,
                                           resource_version=rv, timeout_s=self.window_s)
                if self.stop.is_set():
                    self.close()
                    return
                for event in self.stream:
                    if self.stop.is_set():
                        return
                    if event.type == "ERROR":  # 410 Gone and friends: start afresh
                        rv = None
                        break
                    rv = _meta(event.object).get("resourceVersion") or rv
                    if event.type != "BOOKMARK":
                        self.wake.set()
            except KubeApiError as e:
                log.debug("watch of %s failed: %s", kind, e)
                rv = None
                self.wake.set()  # the main loop reads (and records the outage)
                self.stop.wait(1.0)


def wait_ready(
    client: KubeClient, target: WaitTarget, *,
    on_update: Callable[[WaitProgress, Outcome], None] | None = None,
    clock: Callable[[], float] = time.monotonic, resync_s: float = 5.0,
    min_interval_s: float = 0.2,
) -> Readiness:
    """Wait until ``target`` is ready (returned) or failed (``WorkloadFailed``), or the
    deadline passes (``ReadinessTimeout`` saying what was last seen and whether the API
    was reachable). Wakes on watch events of the serving object and its pods, and re-reads
    every ``resync_s`` seconds regardless, at most once per ``min_interval_s`` (a burst of
    events, as when a revision's pods start, costs one read). ``on_update`` sees every step
    (live status)."""
    wake, stop = threading.Event(), threading.Event()
    key = target.key
    watches: list[_Watch] = []
    progress = WaitProgress.start(target, clock())
    try:
        while True:
            wake.clear()
            last_read = clock()
            try:
                snap: Snapshot | None = read_snapshot(client, target)
                error: BaseException | None = None
            except KubeApiError as e:
                if not e.transient:
                    raise
                snap, error = None, e
            progress, outcome = step(progress, target, snap, now=clock(), error=error,
                                     wall_now=_utcnow())
            if on_update is not None:
                on_update(progress, outcome)
            if outcome.state == "ready" and outcome.readiness is not None:
                return outcome.readiness
            if outcome.state == "failed" and outcome.readiness is not None:
                raise failure_error(target, outcome.readiness)
            if outcome.state == "timeout":
                raise timeout_error(target, progress, now=clock())
            if not watches:
                # Not settled at the first read: watch the object and its pods from now on,
                # and read again at once (so nothing between that read and the watches is
                # missed). A workload already ready or failed costs no watch.
                watches = [
                    _Watch(client, key.api_version, key.kind, key.namespace, wake=wake,
                           stop=stop, field_selector=f"metadata.name={key.name}"),
                    _Watch(client, POD.api_version, "Pod", key.namespace, wake=wake,
                           stop=stop, label_selector=workload_pod_selector(target)),
                ]
                for w in watches:
                    w.start()
                continue
            wake.wait(min(resync_s, max(0.05, progress.remaining(clock()))))
            gap = min(min_interval_s - (clock() - last_read), progress.remaining(clock()))
            if gap > 0:
                stop.wait(gap)  # let the rest of the burst arrive: one read for all of it
    finally:
        stop.set()
        for w in watches:
            w.close()


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def last_reason(progress: WaitProgress) -> str:
    """One line for a live status display: phase, reason, API state."""
    last = progress.last
    text = f"{last.state} ({last.reason})" if last else "waiting for the first read"
    if progress.api_down_since is not None:
        text += " · API unreachable"
    return text


def ready_pods(pods: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(ready, total) pods (the Ready condition)."""
    total = ready = 0
    for p in pods:
        total += 1
        conds = (p.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
            ready += 1
    return ready, total
