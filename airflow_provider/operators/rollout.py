"""The operators' door to the core's rollout engine (``inference_core.rollout``).

Planning, history and rollback live in the core; this module only runs the engine's steps
through the hook's client with the task's rollout id (``dag_id/run_id/task_id``), so every
try of a task instance plans the same writes and rolls back to the same recorded good
tuple. Nothing here decides what to write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider.operators.lifecycle import ServingRef, template_revision_name
from inference_core.errors import DeployError, KubeApiError, RolloutFailed

if TYPE_CHECKING:
    from airflow_provider.hooks.inference import InferenceHook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """What a deploy/update step wrote: the serving object, the generation its write
    returned, the Knative revision its template names (if any) and the history entry."""

    ref: ServingRef
    generation: int | None
    expected_revision: str | None
    history_revision: int | None
    notes: tuple[str, ...]


def apply_spec(
    hook: InferenceHook, spec: Any, *, profile: Any, rollout_id: str, action: str,
    candidate_tag: str | None = None, force: bool = False, keep_traffic: bool = False,
    create_namespace: bool = False,
) -> Applied:
    """Plan the deploy/update of ``spec`` (recorded in the history first) and write it.

    ``keep_traffic`` (Knative update): keep the live ``spec.traffic`` as it is (traffic
    moves with the traffic operator, not with an update).
    """
    from inference_core.profile import load_profile
    from inference_core.render import render, serving_object
    from inference_core.rollout.engine import execute, read_history, utc_now
    from inference_core.rollout.kube import ObjectKey
    from inference_core.rollout.plan import Apply
    from inference_core.rollout.planners import plan_deploy

    client = hook.client
    prof = load_profile(profile)
    manifests = render(spec, prof, include_secret_values=True)
    key = ObjectKey.of(serving_object(manifests))
    ref = ServingRef(key.api_version, key.kind, str(key.namespace), key.name)
    if create_namespace:
        client.apply({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": ref.namespace}})
    history = read_history(client, key.name, ref.namespace)
    live = client.get(key.api_version, key.kind, key.name, ref.namespace)
    plan = plan_deploy(spec, profile=prof, live=live, history=history, rollout_id=rollout_id,
                       now=utc_now(), action=action, candidate_tag=candidate_tag, force=force,
                       by=f"airflow {rollout_id}", manifests=manifests)
    serving = next(w.manifest for w in plan.writes
                   if isinstance(w, Apply) and w.key == key)
    live_traffic = ((live or {}).get("spec") or {}).get("traffic")
    if keep_traffic and ref.is_knative and live_traffic is not None and not candidate_tag:
        serving.setdefault("spec", {})["traffic"] = live_traffic
    for note in plan.notes:
        log.info("%s: %s", key, note)
    log.info("Rollout %s of %s: %s", rollout_id, key, "; ".join(plan.describe()))
    done = execute(client, plan)
    generation = done.wait.expected_generation if done.wait is not None else None
    return Applied(ref, generation, template_revision_name(serving),
                   plan.entry.revision if plan.entry else None, plan.notes)


def rolled_back(hook: InferenceHook, ref: ServingRef, rollout_id: str) -> str | None:
    """The recorded reason when this rollout already failed and was rolled back (a retry
    then reports it instead of applying the failed spec again), else None."""
    from inference_core.rollout.engine import read_history

    history = read_history(hook.client, ref.name, ref.namespace)
    done = history.for_rollout(rollout_id, "rollback")
    if done is None:
        return None
    own = next((e for e in reversed(history.entries) if e.rollout_id == rollout_id
                and e.action in ("deploy", "update")), None)
    return (own.reason if own is not None and own.reason else "failed") + \
        f"; rolled back to history revision {done.rollback_of}"


def record(hook: InferenceHook, ref: ServingRef, rollout_id: str, *, good: bool,
           reason: str | None = None, knative_revision: str | None = None,
           actions: Sequence[str] = ("deploy", "update")) -> None:
    """Mark this rollout's entry good or failed (idempotent; no entry: nothing to do).
    A failure to record is logged, never raised: the task's outcome is the readiness."""
    from inference_core.rollout.engine import execute, read_history
    from inference_core.rollout.history import Status
    from inference_core.rollout.planners import plan_record

    try:
        history = read_history(hook.client, ref.name, ref.namespace)
        for action in actions:
            entry = history.for_rollout(rollout_id, action)
            if entry is None:
                continue
            status = Status.GOOD if good else Status.FAILED
            if entry.status is status:
                return
            execute(hook.client, plan_record(
                history, rollout_id=rollout_id, status=status,
                reason=reason[:300] if reason else None, action=action,
                knative_revision=knative_revision if ref.is_knative else None))
            return
    except (KubeApiError, DeployError) as e:
        log.warning("could not record rollout %s of %s/%s as %s: %s", rollout_id,
                    ref.namespace, ref.name, "good" if good else "failed", e)


def rollback(hook: InferenceHook, ref: ServingRef, rollout_id: str) -> str:
    """Roll back to the recorded good tuple before this rollout (idempotent by rollout id);
    a sentence saying what was done (or why nothing could be)."""
    from inference_core.rollout.engine import execute, read_state, utc_now
    from inference_core.rollout.planners import plan_rollback

    try:
        state = read_state(hook.client, ref.name, ref.namespace)
        plan = plan_rollback(history=state.history, live=state.live, rollout_id=rollout_id,
                             now=utc_now(), revisions=state.revisions,
                             by=f"airflow {rollout_id}")
        execute(hook.client, plan)
    except RolloutFailed as e:
        return f"not rolled back: {e}"
    except (KubeApiError, DeployError) as e:
        return f"rollback failed: {e}"
    target = plan.entry.rollback_of if plan.entry else None
    return f"rolled back to history revision {target}: " + "; ".join(plan.notes)
