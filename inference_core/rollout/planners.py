"""Planners (pure): (spec, profile, observed objects, recorded history, rollout id) → writes.

Each returns a :class:`~inference_core.rollout.plan.Plan`; nothing here reads the cluster
or the clock (``now`` is passed in). The rules (issue 12, ARCHITECTURE.md):

- every write is a server-side apply as ``inference-stacks`` (traffic included), never
  forced unless the caller asks;
- a step retried with the same rollout id plans the same writes against the same target
  (the entry it recorded first), never against "whatever is live";
- rollback targets a recorded *good* entry and re-applies its recorded manifest (our fields
  only, so server-set annotations such as ``serving.knative.dev/creator`` stay the
  server's); Knative traffic goes back to that entry's revision when it still exists;
- delete names every object it removes (no listing of Secrets), serving object first.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from inference_core.errors import DeployError, FieldIssue, ObjectRef, RolloutFailed, SpecError
from inference_core.rollout.constants import (
    CONFIG_MAP,
    KNATIVE_API,
    history_name,
    token_secret_name,
)
from inference_core.rollout.history import Entry, History, Status, new_entry, owned_manifest
from inference_core.rollout.kube import ObjectKey
from inference_core.rollout.plan import Apply, Delete, Plan, WaitTarget, Write

#: Initialization timeouts when the spec sets none (seconds).
DEFAULT_INIT_TIMEOUT_S = {"CustomInference": 600, "HuggingFaceInference": 1800,
                          "DistributedInference": 1800}
DEFAULT_TAG = "candidate"


def _get(obj: Mapping[str, Any] | None, *keys: str) -> Any:
    cur: Any = obj
    for key in keys:
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    return cur


def is_knative(manifest: Mapping[str, Any]) -> bool:
    """True for a Knative Service manifest."""
    return manifest.get("apiVersion") == KNATIVE_API and manifest.get("kind") == "Service"


def init_timeout_s(spec: Any) -> float:
    """The spec's initialization timeout (seconds), or the kind's documented default."""
    value = getattr(getattr(spec.spec, "general", None), "initialization_timeout", None)
    return float(value) if value else float(DEFAULT_INIT_TIMEOUT_S.get(spec.kind, 600))


def _history_write(history: History) -> Apply:
    return Apply(history.to_configmap())


def _serving(manifests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    from inference_core.render import serving_object

    return serving_object([dict(m) for m in manifests])


# -- deploy / update ---------------------------------------------------------------------------

def plan_deploy(
    spec: Any, *, profile: Any = None, live: Mapping[str, Any] | None,
    history: History, rollout_id: str, now: str, action: str = "deploy",
    candidate_tag: str | None = None, force: bool = False, by: str | None = None,
    manifests: Sequence[Mapping[str, Any]] | None = None,
) -> Plan:
    """Deploy (``action="deploy"``: create or update) or roll forward (``"update"``: the
    serving object must exist) the validated ``spec``.

    ``live``: the serving object as the API returned it (None when absent). ``manifests``:
    the rendered objects with secret values (rendered here from ``spec``/``profile`` when
    not given). ``candidate_tag`` (Knative): keep all traffic on the revision serving now
    and route the new revision only through the tag's own URL (``traffic`` then splits or
    promotes). A retry with the same ``rollout_id`` and spec reuses its entry and stable
    revision.
    """
    from inference_core.profile import load_profile
    from inference_core.render import render

    if action not in ("deploy", "update"):
        raise ValueError(f"action must be 'deploy' or 'update', got {action!r}")
    prof = load_profile(profile)
    objs = [dict(m) for m in manifests] if manifests is not None else \
        render(spec, prof, include_secret_values=True)
    serving = copy.deepcopy(_serving(objs))
    key = ObjectKey.of(serving)
    if action == "update" and live is None:
        raise DeployError("does not exist; deploy it first", ref=key.ref)
    notes: list[str] = []
    token_note = _token_note(history, serving)
    if token_note:
        notes.append(token_note)
    entry = new_entry(spec, objs, serving, rollout_id=rollout_id, action=action,
                      profile=prof.name, by=by, now=now,
                      stable_revision=serving_revision(live))
    previous = history.for_rollout(rollout_id)
    if previous is not None and previous.action in ("deploy", "update") and \
            previous.spec_digest == entry.spec_digest:
        entry = previous  # a retry: same entry, same stable revision
        hist = history
        notes.append(f"rollout {rollout_id} already recorded as history revision "
                     f"{previous.revision} ({previous.status}); re-applying the same spec")
    else:
        hist = _with_serving(history, key).appended(entry)
        entry = hist.entries[-1]
    if is_knative(serving) and candidate_tag:
        stable = entry.stable_revision
        serving.setdefault("spec", {})["traffic"] = (
            [{"revisionName": stable, "percent": 100},
             {"latestRevision": True, "percent": 0, "tag": candidate_tag}] if stable
            else [{"latestRevision": True, "percent": 100, "tag": candidate_tag}])
        if not stable:
            notes.append("no revision serves yet: the candidate gets all traffic")
    hist = hist.with_manifest(entry.revision, owned_manifest(serving))
    entry = hist.by_revision(entry.revision) or entry
    writes: list[Write] = [_history_write(hist)]
    writes += [Apply(serving if ObjectKey.of(m) == key else dict(m), force=force)
               for m in objs]
    return Plan(action, rollout_id, tuple(writes), hist, entry,
                WaitTarget(key, init_timeout_s(spec)), tuple(notes))


def serving_revision(live: Mapping[str, Any] | None) -> str | None:
    """The Knative revision serving most traffic now (``status.traffic``), else the latest
    ready one; None for other kinds or an absent object."""
    best: tuple[int, str] | None = None
    for t in _get(live, "status", "traffic") or []:
        name, percent = t.get("revisionName"), int(t.get("percent") or 0)
        if name and percent > 0 and (best is None or percent > best[0]):
            best = (percent, str(name))
    if best is not None:
        return best[1]
    ready = _get(live, "status", "latestReadyRevisionName")
    return str(ready) if ready else None


def _token_note(history: History, serving: Mapping[str, Any]) -> str | None:
    """A note when the previous entry passed ``HF_TOKEN`` and the new spec does not."""
    from inference_core.rollout.history import main_container

    def has_token(manifest: Mapping[str, Any]) -> bool:
        env = main_container(manifest).get("env") or []
        return any(isinstance(e, Mapping) and e.get("name") == "HF_TOKEN" for e in env)

    latest = history.latest
    if latest is not None and has_token(latest.manifest) and not has_token(serving):
        return ("the previous revision passed HF_TOKEN and this spec does not (no "
                "spec.model.token or tokenSecret): gated models will fail to download")
    return None


def _with_serving(history: History, key: ObjectKey) -> History:
    return replace(history, serving_kind=key.kind, serving_api_version=key.api_version)


# -- outcome ----------------------------------------------------------------

def plan_record(history: History, *, rollout_id: str, status: Status,
                reason: str | None = None, knative_revision: str | None = None,
                action: str | None = None) -> Plan:
    """Mark the entry of ``rollout_id`` (newest one, or of ``action``) ``good`` or
    ``failed`` (``knative_revision``: the revision that became ready)."""
    entry = history.for_rollout(rollout_id, action)
    if entry is None:
        raise DeployError(f"no history entry for rollout {rollout_id!r}",
                          ref=ObjectRef("ConfigMap", history.namespace,
                                        history_name(history.name)))
    hist = history.with_status(entry.revision, status, reason=reason,
                               knative_revision=knative_revision)
    return Plan("record", rollout_id, (_history_write(hist),), hist,
                hist.by_revision(entry.revision))


# -- rollback ----------------------------------------------------------------

def rollback_target(history: History, *, rollout_id: str, to: int | None = None) -> Entry:
    """The good entry a rollback by ``rollout_id`` goes back to.

    A rollback already recorded by ``rollout_id`` keeps its target (retries agree). ``to``
    picks an entry by history revision (it must be good). Otherwise: the newest good entry
    older than the rollout's own deploy/update entry (or older than the newest entry).
    """
    done = history.for_rollout(rollout_id, "rollback")
    if done is not None and done.rollback_of is not None:
        target = history.by_revision(done.rollback_of)
        if target is not None:
            return target
    ref = ObjectRef("ConfigMap", history.namespace, history_name(history.name))
    goods = ", ".join(str(e.revision) for e in history.good()) or "none"
    if to is not None:
        target = history.by_revision(to)
        if target is None or target.status is not Status.GOOD:
            raise SpecError([FieldIssue(
                "to", "is not a recorded good revision", value=to,
                allowed=f"a good history revision of {history.name} ({goods})")])
        return target
    own = next((e for e in reversed(history.entries) if e.rollout_id == rollout_id
                and e.action in ("deploy", "update")), None)
    anchor = own or history.latest
    if anchor is None:
        raise RolloutFailed(f"no rollout of {history.name} is recorded; nothing to roll back "
                            "to", ref=ref)
    target = history.last_good(before=anchor.revision)
    if target is None:
        raise RolloutFailed(
            f"no good revision recorded before history revision {anchor.revision} of "
            f"{history.name} (good revisions: {goods}); nothing safe to roll back to", ref=ref)
    return target


def plan_rollback(
    *, history: History, live: Mapping[str, Any] | None, rollout_id: str, now: str,
    to: int | None = None, revisions: Collection[str] = (), force: bool = False,
    by: str | None = None, pods: Sequence[Mapping[str, Any]] = (),
) -> Plan:
    """Go back to a recorded good entry (see :func:`rollback_target`).

    Re-applies that entry's recorded manifest (our fields only). Knative: when its revision
    is still among ``revisions`` (names of the Service's live Revisions), all traffic is
    pinned to it; otherwise the recorded template is re-applied and its new revision takes
    the traffic. LWS: the recorded template is re-applied, and the workload's ``pods`` that
    are not Ready are deleted (Kubernetes' "forced rollback": a rolling update does not
    replace a broken pod by itself, so the failed template's groups would stay forever).
    """
    target = rollback_target(history, rollout_id=rollout_id, to=to)
    manifest = copy.deepcopy(target.manifest)
    key = ObjectKey.of(manifest)
    notes: list[str] = []
    spec = manifest.setdefault("spec", {})
    spec.pop("traffic", None)
    if is_knative(manifest):
        if target.knative_revision and target.knative_revision in set(revisions):
            spec["traffic"] = [{"revisionName": target.knative_revision, "percent": 100}]
            notes.append(f"traffic back on revision {target.knative_revision} (history "
                         f"revision {target.revision})")
        else:
            notes.append(f"revision {target.knative_revision or '?'} is gone; re-applying the "
                         f"template of history revision {target.revision}")
    else:
        notes.append(f"re-applying the template of history revision {target.revision}")
    done = history.for_rollout(rollout_id, "rollback")
    if done is not None and done.rollback_of == target.revision:
        hist = history.with_manifest(done.revision, manifest)
    else:
        entry = replace(target, rollout_id=rollout_id, action="rollback",
                        status=Status.APPLIED, applied_at=now, by=by, reason=None,
                        rollback_of=target.revision, manifest=manifest,
                        stable_revision=serving_revision(live))
        hist = _with_serving(history, key).appended(entry)
    entry_now = hist.for_rollout(rollout_id, "rollback")
    assert entry_now is not None
    timeout = float(DEFAULT_INIT_TIMEOUT_S.get(target.workload_kind, 600))
    writes: list[Write] = [_history_write(hist), Apply(manifest, force=force)]
    if not is_knative(manifest):
        broken = [p for p in pods if not _pod_ready(p)]
        writes += [Delete(ObjectKey("v1", "Pod", key.namespace,
                                    str(_get(p, "metadata", "name"))),
                          propagation="Background", uid=_get(p, "metadata", "uid"))
                   for p in broken]
        if broken:
            notes.append(f"deleting {len(broken)} pod(s) of the failed template that are not "
                         "ready (forced rollback)")
    return Plan("rollback", rollout_id, tuple(writes), hist, entry_now,
                WaitTarget(key, timeout), tuple(notes))


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in _get(pod, "status", "conditions") or [])


# -- traffic ----------------------------------------------------------------

def plan_traffic(
    *, history: History, live: Mapping[str, Any] | None, rollout_id: str,
    split: int | None = None, promote: bool = False, tag: str = DEFAULT_TAG,
    force: bool = False, candidate: str | None = None, stable: str | None = None,
) -> Plan:
    """Split traffic between the stable and the candidate revision (``split``: percent to
    the candidate) or ``promote`` the candidate to 100 %, by applying our recorded
    manifest of the Service with a new ``spec.traffic`` (server-side apply, our manager).

    Stable (unless ``stable`` names it): the pinned non-candidate revision of the live
    traffic, else the stable revision recorded when the candidate was deployed. Candidate
    (unless ``candidate`` names it): the tag's revision, else the latest created revision.
    """
    if (split is None) == (not promote):
        raise SpecError([FieldIssue("traffic", "needs exactly one of split or promote",
                                    value={"split": split, "promote": promote},
                                    allowed="--split N (0..100) or --promote")])
    if split is not None and not 0 <= split <= 100:
        raise SpecError([FieldIssue("split", "is out of range", value=split,
                                    allowed="an integer percent 0..100")])
    entry = history.latest
    ref = ObjectRef("Service", history.namespace, history.name)
    if live is None:
        raise DeployError("does not exist", ref=ref)
    if entry is None or not is_knative(entry.manifest):
        raise DeployError("has no recorded Knative rollout (traffic steps need a Service "
                          "deployed by inference-stacks)", ref=ref)
    candidate = candidate or _candidate(live, tag)
    if not candidate:
        raise SpecError([FieldIssue("traffic", "has no candidate revision", value=tag,
                                    allowed="deploy with --candidate-tag first")])
    if promote:
        traffic: list[dict[str, Any]] = [{"revisionName": candidate, "percent": 100}]
    else:
        stable = stable or _stable(live, candidate) or entry.stable_revision
        if not stable or stable == candidate:
            raise SpecError([FieldIssue("split", "has no stable revision distinct from the "
                                        "candidate", value=candidate,
                                        allowed="deploy the candidate with --candidate-tag")])
        assert split is not None
        traffic = [{"revisionName": stable, "percent": 100 - split},
                   {"revisionName": candidate, "percent": split, "tag": tag}]
    manifest = copy.deepcopy(entry.manifest)
    manifest.setdefault("spec", {})["traffic"] = traffic
    hist = history.with_manifest(entry.revision, manifest)
    key = ObjectKey.of(manifest)
    return Plan("traffic", rollout_id, (_history_write(hist), Apply(manifest, force=force)),
                hist, hist.by_revision(entry.revision), WaitTarget(key, 300.0))


def _candidate(live: Mapping[str, Any], tag: str) -> str | None:
    for t in _get(live, "status", "traffic") or []:
        if t.get("tag") == tag and t.get("revisionName"):
            return str(t["revisionName"])
    for t in _get(live, "spec", "traffic") or []:
        if t.get("tag") == tag and t.get("revisionName"):
            return str(t["revisionName"])
    latest = _get(live, "status", "latestCreatedRevisionName")
    return str(latest) if latest else None


def _stable(live: Mapping[str, Any], candidate: str) -> str | None:
    for t in _get(live, "spec", "traffic") or []:
        name = t.get("revisionName")
        if name and name != candidate and int(t.get("percent") or 0) > 0:
            return str(name)
    return None


# -- delete ----------------------------------------------------------------

def plan_delete(
    *, name: str, namespace: str, history: History, found: Sequence[Mapping[str, Any]] = (),
    manifests: Sequence[Mapping[str, Any]] = (), rollout_id: str = "delete",
) -> Plan:
    """Delete the workload ``name``: every object named by ``manifests`` (a rendered spec),
    by the history's entries, by ``found`` (objects listed by label, never Secrets) and the
    token Secret we create (``<name>-hf-token``) — serving object first (Foreground), the
    history ConfigMap last. The caller waits until each is gone (finalizers done)."""
    keys: dict[ObjectKey, str | None] = {}

    def add(key: ObjectKey, uid: str | None = None) -> None:
        if key not in keys or uid:
            keys[key] = uid

    for m in manifests:
        add(ObjectKey.of(m))
    for obj in found:
        add(ObjectKey.of(obj), _get(obj, "metadata", "uid"))
    for entry in history.entries:
        for text in entry.objects:
            group_version, kind, obj_name = _split_object(text)
            add(ObjectKey(group_version, kind, namespace, obj_name))
        add(ObjectKey.of(entry.manifest))
    add(ObjectKey("v1", "Secret", namespace, token_secret_name(name)))
    hist_key = ObjectKey(CONFIG_MAP.api_version, CONFIG_MAP.kind, namespace, history_name(name))
    keys.pop(hist_key, None)
    serving = [k for k in keys if (k.api_version, k.kind) in
               ((KNATIVE_API, "Service"), ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"))]
    rest_keys = [k for k in keys if k not in serving]
    writes: list[Write] = [Delete(k, uid=keys[k]) for k in serving]
    writes += [Delete(k, propagation="Background", uid=keys[k]) for k in reversed(rest_keys)]
    writes.append(Delete(hist_key, propagation="Background"))
    return Plan("delete", rollout_id, tuple(writes), replace(history, entries=()))


def _split_object(text: str) -> tuple[str, str, str]:
    """``group/version/Kind/name`` or ``v1/Kind/name`` → (apiVersion, kind, name)."""
    parts = text.split("/")
    name, kind = parts[-1], parts[-2]
    return "/".join(parts[:-2]), kind, name
