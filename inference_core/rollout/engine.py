"""The sync rollout engine: read state, plan, execute, wait, record — for the CLI and for
any synchronous caller (an Airflow worker between deferrals uses the same pieces:
:func:`read_state`, the planners, :func:`execute`, ``wait`` steps, :func:`record`).
"""

from __future__ import annotations

import getpass
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from inference_core.errors import DeployError, KubeApiError, ReadinessTimeout, WorkloadFailed
from inference_core.readiness import Readiness
from inference_core.rollout.constants import (
    CONFIG_MAP,
    KNATIVE_REVISION,
    KNATIVE_SERVICE_LABEL,
    LWS_HASH_LABEL,
    LWS_NAME_LABEL,
    SERVING_RESOURCES,
    history_name,
    workload_selector,
)
from inference_core.rollout.history import History, Status
from inference_core.rollout.kube import JsonObj, KubeClient, ObjectKey
from inference_core.rollout.plan import Apply, Delete, Plan, WaitTarget
from inference_core.rollout.planners import (
    plan_delete,
    plan_deploy,
    plan_record,
    plan_rollback,
    plan_traffic,
)
from inference_core.rollout.wait import Outcome, WaitProgress, read_snapshot, wait_ready
from inference_core.rollout.wait import assess as assess_snapshot

log = logging.getLogger(__name__)

#: Kinds listed by label when deleting by name (never Secrets: they are deleted by name).
LABELLED_KINDS = (("v1", "Service"), ("v1", "PersistentVolumeClaim"),
                  ("security.istio.io/v1", "AuthorizationPolicy"),
                  ("security.istio.io/v1", "RequestAuthentication"))
OnUpdate = Callable[[WaitProgress, Outcome], None]


def utc_now() -> str:
    """ISO-8601 UTC time for history entries."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_rollout_id(prefix: str = "cli") -> str:
    """A fresh rollout id (front doors with their own ids — a DAG run and task — pass
    those instead, so retries find their entry)."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def who() -> str | None:
    """The local user, for history entries."""
    try:
        return getpass.getuser()
    except Exception:  # no user database (containers)
        return None


@dataclass(frozen=True)
class State:
    """What the planners need to know about workload ``name``: the serving object (None:
    absent), its key, the recorded history and the names of its live Knative revisions."""

    name: str
    namespace: str
    key: ObjectKey | None
    live: JsonObj | None
    history: History
    revisions: tuple[str, ...] = ()
    pods: tuple[JsonObj, ...] = ()


@dataclass
class Result:
    """What one engine call did (JSON-able via :meth:`to_dict`)."""

    action: str
    rollout_id: str
    name: str
    namespace: str
    writes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entry: dict[str, Any] | None = None
    readiness: dict[str, Any] | None = None
    deleted: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """For ``-o json`` and XComs."""
        return dict(self.__dict__)


def read_history(client: KubeClient, name: str, namespace: str) -> History:
    """The recorded history of ``name`` (empty when none)."""
    obj = client.get(CONFIG_MAP.api_version, CONFIG_MAP.kind, history_name(name), namespace)
    return History.from_configmap(obj, name=name, namespace=namespace)


def find_serving(client: KubeClient, name: str, namespace: str,
                 history: History | None = None) -> tuple[ObjectKey | None, JsonObj | None]:
    """The serving object of ``name``: the kind the history names, else Knative Service,
    then LeaderWorkerSet (a kind whose CRD is not installed counts as absent)."""
    candidates = list(SERVING_RESOURCES)
    if history is not None and history.serving_kind:
        candidates.sort(key=lambda r: r.kind != history.serving_kind)
    for res in candidates:
        try:
            obj = client.get(res.api_version, res.kind, name, namespace)
        except KubeApiError as e:
            if e.status == 404:
                continue
            raise
        if obj is not None:
            return ObjectKey(res.api_version, res.kind, namespace, name), obj
    if history is not None and history.serving_kind and history.serving_api_version:
        return ObjectKey(history.serving_api_version, history.serving_kind, namespace,
                         name), None
    return None, None


def live_revisions(client: KubeClient, key: ObjectKey) -> tuple[str, ...]:
    """Names of the Knative Revisions of a Service (empty for other kinds)."""
    if key.kind != "Service" or not key.api_version.startswith("serving.knative.dev/"):
        return ()
    items = client.list(KNATIVE_REVISION.api_version, "Revision", key.namespace,
                        label_selector=f"{KNATIVE_SERVICE_LABEL}={key.name}")
    return tuple(str((i.get("metadata") or {}).get("name")) for i in items)


def read_state(client: KubeClient, name: str, namespace: str) -> State:
    """History, serving object and its live revisions of ``name``."""
    history = read_history(client, name, namespace)
    key, live = find_serving(client, name, namespace, history)
    revisions = live_revisions(client, key) if key is not None and live is not None else ()
    pods: list[JsonObj] = []
    if key is not None and live is not None and key.kind == "LeaderWorkerSet":
        pods = client.list("v1", "Pod", namespace, label_selector=f"{LWS_NAME_LABEL}={name}")
    return State(name, namespace, key, live, history, revisions, tuple(pods))


@dataclass(frozen=True)
class Executed:
    """What :func:`execute` stored, and the plan's wait target with the generation the
    serving write returned."""

    stored: list[JsonObj]
    wait: WaitTarget | None
    deleted: list[str]
    absent: list[str]


def execute(client: KubeClient, plan: Plan, *, dry_run: bool = False) -> Executed:
    """Perform the plan's writes in order. A history write refused because the history
    changed meanwhile (resourceVersion precondition) is a ``DeployError`` telling to retry.
    """
    stored: list[JsonObj] = []
    deleted: list[str] = []
    absent: list[str] = []
    wait = plan.wait
    for write in plan.writes:
        if isinstance(write, Apply):
            key = write.key
            try:
                out = client.apply(write.manifest, force=write.force, dry_run=dry_run)
            except KubeApiError as e:
                if key.kind == "ConfigMap" and e.status == 409 and \
                        write.manifest["metadata"].get("resourceVersion"):
                    raise DeployError("the rollout history changed while this step was "
                                      "planned (another rollout?); run the step again",
                                      ref=key.ref, transient=True) from e
                raise
            stored.append(out)
            if wait is not None and key == wait.key:
                gen = (out.get("metadata") or {}).get("generation")
                wait = replace(wait, expected_generation=int(gen) if gen is not None else None)
        elif isinstance(write, Delete):
            k = write.key
            try:
                gone = client.delete(k.api_version, k.kind, k.name, k.namespace,
                                     propagation=write.propagation, uid=write.uid)
            except KubeApiError as e:
                if e.status == 404:  # a kind whose CRD is not installed
                    gone = False
                elif e.status == 409 and write.uid:  # replaced meanwhile: not ours to delete
                    log.warning("%s was replaced meanwhile; not deleted", k)
                    gone = False
                else:
                    raise
            (deleted if gone else absent).append(str(k))
    return Executed(stored, wait, deleted, absent)


def stale_pod_hashes(client: KubeClient, key: ObjectKey,
                     live: Mapping[str, Any] | None) -> tuple[str, ...]:
    """LeaderWorkerSet: the ``template-revision-hash`` values of the pods running now (read
    before a write); empty for other kinds or an absent object."""
    if key.kind != "LeaderWorkerSet" or live is None:
        return ()
    pods = client.list("v1", "Pod", key.namespace, label_selector=f"{LWS_NAME_LABEL}={key.name}")
    return tuple(sorted({str(h) for p in pods
                         if (h := ((p.get("metadata") or {}).get("labels") or {})
                             .get(LWS_HASH_LABEL))}))


def settle_wait(wait: WaitTarget | None, live: Mapping[str, Any] | None,
                stale: tuple[str, ...]) -> WaitTarget | None:
    """The wait target after a write: pods of ``stale`` hashes are ignored only when the
    write changed the generation (a new template); a no-op retry judges every pod."""
    if wait is None or not stale or live is None:
        return wait
    before = (live.get("metadata") or {}).get("generation")
    if before is not None and wait.expected_generation is not None and \
            int(before) == wait.expected_generation:
        return wait
    return replace(wait, stale_pod_hashes=stale)


def wait_gone(client: KubeClient, keys: Sequence[ObjectKey], *, timeout_s: float,
              clock: Callable[[], float] = time.monotonic) -> None:
    """Return once every object is gone (finalizers done); ``ReadinessTimeout`` naming
    the ones still there (and their finalizers) otherwise."""
    deadline = clock() + timeout_s
    for key in keys:
        while True:
            try:
                obj = client.get(key.api_version, key.kind, key.name, key.namespace)
            except KubeApiError as e:
                if e.status == 404:
                    break
                raise
            if obj is None:
                break
            remaining = deadline - clock()
            if remaining <= 0:
                fin = (obj.get("metadata") or {}).get("finalizers") or []
                raise ReadinessTimeout(f"still present after {timeout_s:g}s (finalizers: "
                                       f"{fin or 'none'})", ref=key.ref)
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            try:
                for event in client.watch(key.api_version, key.kind, key.namespace,
                                          field_selector=f"metadata.name={key.name}",
                                          resource_version=rv,
                                          timeout_s=min(10.0, max(1.0, remaining))):
                    if event.type in ("DELETED", "ERROR"):
                        break
            except KubeApiError as e:
                if not e.transient:
                    raise


class Engine:
    """Deploy, update, wait, traffic, rollback, delete and inspect workloads through one
    :class:`~inference_core.rollout.kube.KubeClient`."""

    def __init__(self, client: KubeClient, *, by: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.by = by if by is not None else who()
        self.clock = clock

    # -- deploy / update ------------------------------------------------------------------
    def deploy(self, spec: Any, *, profile: Any = None, rollout_id: str | None = None,
               action: str = "deploy", candidate_tag: str | None = None, force: bool = False,
               wait: bool = False, timeout_s: float | None = None,
               rollback_on_failure: bool = False, on_update: OnUpdate | None = None) -> Result:
        """Apply ``spec`` (recording it first); with ``wait``, wait and record the outcome;
        a failed wait raises (after rolling back when ``rollback_on_failure``)."""
        from inference_core.profile import load_profile
        from inference_core.render import render, serving_object

        rid = rollout_id or new_rollout_id()
        prof = load_profile(profile)
        manifests = render(spec, prof, include_secret_values=True)
        key = ObjectKey.of(serving_object(manifests))
        assert key.namespace is not None
        history = read_history(self.client, key.name, key.namespace)
        live = self.client.get(key.api_version, key.kind, key.name, key.namespace)
        plan = plan_deploy(spec, profile=prof, live=live, history=history, rollout_id=rid,
                           now=utc_now(), action=action, candidate_tag=candidate_tag,
                           force=force, by=self.by, manifests=manifests)
        stale = stale_pod_hashes(self.client, key, live)
        done = execute(self.client, plan)
        result = self._result(plan, key)
        settled = settle_wait(done.wait, live, stale)
        if not wait or settled is None:
            return result
        target = replace(settled, timeout_s=timeout_s or settled.timeout_s)
        try:
            readiness = self.wait_and_record(target, rid, action=action, on_update=on_update)
        except (WorkloadFailed, ReadinessTimeout) as e:
            if rollback_on_failure:
                back = self.rollback(key.name, key.namespace, rollout_id=rid, wait=True,
                                     on_update=on_update)
                e.add_note("rolled back: " + "; ".join(back.notes))
            raise
        result.readiness = readiness.to_dict()
        return result

    def wait_and_record(self, target: WaitTarget, rollout_id: str, *, action: str | None = None,
                        on_update: OnUpdate | None = None) -> Readiness:
        """Wait for ``target``; record the rollout's entry good (or failed) in the history."""
        key = target.key
        assert key.namespace is not None
        try:
            readiness = wait_ready(self.client, target, on_update=on_update, clock=self.clock)
        except (WorkloadFailed, ReadinessTimeout) as e:
            self._record(key, rollout_id, Status.FAILED, action, reason=str(e)[:300])
            raise
        self._record(key, rollout_id, Status.GOOD, action, knative_revision=readiness.revision
                     if key.kind == "Service" else None)
        return readiness

    def _record(self, key: ObjectKey, rollout_id: str, status: Status, action: str | None, *,
                reason: str | None = None, knative_revision: str | None = None) -> None:
        assert key.namespace is not None
        history = read_history(self.client, key.name, key.namespace)
        if history.for_rollout(rollout_id, action) is None:
            return
        execute(self.client, plan_record(history, rollout_id=rollout_id, status=status,
                                         reason=reason, knative_revision=knative_revision,
                                         action=action))

    # -- wait / status ----------------------------------------------------------------------
    def wait(self, name: str, namespace: str, *, timeout_s: float = 600.0,
             on_update: OnUpdate | None = None) -> Readiness:
        """Wait for the workload as it is now (its current generation)."""
        state = read_state(self.client, name, namespace)
        if state.key is None:
            raise DeployError(f"no Knative Service or LeaderWorkerSet named {name} in "
                              f"namespace {namespace}")
        gen = (state.live or {}).get("metadata", {}).get("generation")
        target = WaitTarget(state.key, timeout_s,
                            expected_generation=int(gen) if gen is not None else None)
        return wait_ready(self.client, target, on_update=on_update, clock=self.clock)

    def status(self, name: str, namespace: str) -> dict[str, Any]:
        """Readiness now, traffic, and the newest history entry."""
        state = read_state(self.client, name, namespace)
        if state.key is None or state.live is None:
            raise DeployError(f"no Knative Service or LeaderWorkerSet named {name} in "
                              f"namespace {namespace}")
        target = WaitTarget(state.key, 0.0)
        readiness = assess_snapshot(target, read_snapshot(self.client, target))
        latest = state.history.latest
        return {"name": name, "namespace": namespace, "kind": state.key.kind,
                "readiness": readiness.to_dict(),
                "generation": (state.live.get("metadata") or {}).get("generation"),
                "revisions": list(state.revisions),
                "history_revision": latest.revision if latest else None,
                "latest": latest.summary() if latest else None}

    def history(self, name: str, namespace: str) -> History:
        """The recorded history."""
        return read_history(self.client, name, namespace)

    # -- rollback / traffic ----------------------------------------------------------------
    def rollback(self, name: str, namespace: str, *, rollout_id: str | None = None,
                 to: int | None = None, force: bool = False, wait: bool = True,
                 timeout_s: float | None = None, on_update: OnUpdate | None = None) -> Result:
        """Roll back to a recorded good entry (see ``plan_rollback``)."""
        rid = rollout_id or new_rollout_id()
        state = read_state(self.client, name, namespace)
        plan = plan_rollback(history=state.history, live=state.live, rollout_id=rid,
                             now=utc_now(), to=to, revisions=state.revisions, force=force,
                             by=self.by, pods=state.pods)
        key = ObjectKey.of(plan.entry.manifest) if plan.entry else None
        stale = stale_pod_hashes(self.client, key, state.live) if key else ()
        done = execute(self.client, plan)
        result = self._result(plan, key)
        settled = settle_wait(done.wait, state.live, stale)
        if wait and settled is not None:
            target = replace(settled, timeout_s=timeout_s or settled.timeout_s)
            result.readiness = self.wait_and_record(target, rid, action="rollback",
                                                    on_update=on_update).to_dict()
        return result

    def traffic(self, name: str, namespace: str, *, split: int | None = None,
                promote: bool = False, tag: str = "candidate", rollout_id: str | None = None,
                force: bool = False, wait: bool = True, timeout_s: float | None = None,
                on_update: OnUpdate | None = None) -> Result:
        """Split or promote (see ``plan_traffic``)."""
        rid = rollout_id or new_rollout_id()
        state = read_state(self.client, name, namespace)
        plan = plan_traffic(history=state.history, live=state.live, rollout_id=rid,
                            split=split, promote=promote, tag=tag, force=force)
        done = execute(self.client, plan)
        result = self._result(plan, done.wait.key if done.wait else None)
        if wait and done.wait is not None:
            target = replace(done.wait, timeout_s=timeout_s or done.wait.timeout_s)
            result.readiness = wait_ready(self.client, target, on_update=on_update,
                                          clock=self.clock).to_dict()
        return result

    # -- delete -----------------------------------------------------------------------------
    def delete(self, name: str, namespace: str, *,
               manifests: Sequence[Mapping[str, Any]] = (), timeout_s: float = 300.0) -> Result:
        """Delete every object of ``name`` and wait until each is gone."""
        history = read_history(self.client, name, namespace)
        found: list[JsonObj] = []
        for res in SERVING_RESOURCES:
            found += self._list_labelled(res.api_version, res.kind, name, namespace)
        for api_version, kind in LABELLED_KINDS:
            found += self._list_labelled(api_version, kind, name, namespace)
        plan = plan_delete(name=name, namespace=namespace, history=history, found=found,
                           manifests=manifests)
        done = execute(self.client, plan)
        keys = [w.key for w in plan.writes if isinstance(w, Delete)
                and str(w.key) in done.deleted]
        wait_gone(self.client, keys, timeout_s=timeout_s, clock=self.clock)
        result = self._result(plan, None)
        result.deleted, result.absent = done.deleted, done.absent
        return result

    def _list_labelled(self, api_version: str, kind: str, name: str,
                       namespace: str) -> list[JsonObj]:
        try:
            return self.client.list(api_version, kind, namespace,
                                    label_selector=workload_selector(name))
        except KubeApiError as e:
            if e.status in (403, 404):  # not installed, or not ours to list
                return []
            raise

    def _result(self, plan: Plan, key: ObjectKey | None) -> Result:
        name = key.name if key else plan.history.name
        ns = (key.namespace if key else None) or plan.history.namespace
        return Result(plan.action, plan.rollout_id, name, ns, writes=plan.describe(),
                      notes=list(plan.notes),
                      entry=plan.entry.summary() if plan.entry else None)
