"""Planners, table-driven: (spec, live object, history) → writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inference_core.errors import DeployError, RolloutFailed, SpecError
from inference_core.rollout.constants import (
    FIELD_MANAGER,
    KNATIVE_CREATOR_ANNOTATION,
    SERVER_SET_ANNOTATIONS,
)
from inference_core.rollout.history import History, Status
from inference_core.rollout.plan import Apply, Delete, Plan
from inference_core.rollout.planners import (
    plan_delete,
    plan_deploy,
    plan_record,
    plan_rollback,
    plan_traffic,
    rollback_target,
)
from tests.rollout.cases import NOW, custom_spec, distributed_spec, hf_spec, live_knative

NS = "team-a"


def serving_write(plan: Plan) -> Apply:
    """The Apply of the serving object."""
    writes = [w for w in plan.writes if isinstance(w, Apply)
              and w.manifest["kind"] in ("Service", "LeaderWorkerSet")
              and w.manifest["apiVersion"] != "v1"]
    assert len(writes) == 1
    return writes[0]


def deployed(image: str, history: History, rid: str, *, live: dict[str, Any] | None = None,
             good_revision: str | None = None, **kw: Any) -> tuple[Plan, History]:
    """Plan a deploy of ``image`` and return the history after marking it good/failed."""
    plan = plan_deploy(custom_spec(image), live=live, history=history, rollout_id=rid,
                       now=NOW, **kw)
    status = Status.GOOD if good_revision else Status.FAILED
    rec = plan_record(plan.history, rollout_id=rid, status=status,
                      knative_revision=good_revision)
    return plan, rec.history


# -- deploy -------------------------------------------------------------------------------------

def test_deploy_writes_history_first_then_objects_without_force() -> None:
    plan = plan_deploy(hf_spec(), live=None, history=History("llm", NS), rollout_id="r1",
                       now=NOW)
    kinds = [(w.manifest["kind"], w.manifest["metadata"]["name"]) for w in plan.writes
             if isinstance(w, Apply)]
    assert kinds == [("ConfigMap", "llm-history"), ("Secret", "llm-hf-token"),
                     ("Service", "llm")]
    assert not any(w.force for w in plan.writes if isinstance(w, Apply))
    entry = plan.entry
    assert entry is not None and entry.revision == 1 and entry.status is Status.APPLIED
    assert entry.model_commit == "a" * 40 and entry.image and "vllm" in entry.image
    assert "--model" in " ".join(entry.vllm_args) or "org/model" in " ".join(entry.vllm_args)
    assert entry.spec_digest.startswith("sha256:")
    assert plan.wait is not None and plan.wait.key.name == "llm"
    # the token never reaches the history
    body = plan.writes[0].manifest["data"]["history.json"]  # type: ignore[union-attr]
    assert "hf_secret_value" not in body
    assert entry.objects == ("v1/Secret/llm-hf-token", "serving.knative.dev/v1/Service/llm")


@pytest.mark.parametrize(("history_rids", "rid", "expected_revisions"), [
    ([], "r1", [1]),
    (["r1"], "r1", [1]),          # retry: same entry, not a new one
    (["r1"], "r2", [1, 2]),       # a new rollout: a new entry
])
def test_deploy_idempotent_by_rollout_id(history_rids: list[str], rid: str,
                                         expected_revisions: list[int]) -> None:
    history = History("app", NS)
    for r in history_rids:
        history = plan_deploy(custom_spec(), live=None, history=history, rollout_id=r,
                              now=NOW).history
    plan = plan_deploy(custom_spec(), live=None, history=history, rollout_id=rid, now=NOW)
    assert [e.revision for e in plan.history.entries] == expected_revisions


def test_update_of_absent_object_is_refused() -> None:
    with pytest.raises(DeployError, match="deploy it first"):
        plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r",
                    now=NOW, action="update")


@pytest.mark.parametrize(("live_ready", "expected"), [
    (None, [{"latestRevision": True, "percent": 100, "tag": "canary"}]),
    ("app-00001", [{"revisionName": "app-00001", "percent": 100},
                   {"latestRevision": True, "percent": 0, "tag": "canary"}]),
])
def test_candidate_tag_keeps_traffic_on_serving_revision(live_ready: str | None,
                                                         expected: list[dict[str, Any]]) -> None:
    base = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r0",
                       now=NOW)
    live = live_knative(serving_write(base).manifest, ready=live_ready) if live_ready else None
    plan = plan_deploy(custom_spec("img:2"), live=live, history=base.history, rollout_id="r1",
                       now=NOW, candidate_tag="canary")
    assert serving_write(plan).manifest["spec"]["traffic"] == expected


def test_candidate_retry_keeps_the_recorded_stable_revision() -> None:
    base = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r0",
                       now=NOW)
    live1 = live_knative(serving_write(base).manifest, ready="app-00001")
    first = plan_deploy(custom_spec("img:2"), live=live1, history=base.history,
                        rollout_id="r1", now=NOW, candidate_tag="c")
    # crash; meanwhile the candidate became the latest ready revision
    live2 = live_knative(serving_write(first).manifest, generation=2, ready="app-00002")
    retry = plan_deploy(custom_spec("img:2"), live=live2, history=first.history,
                        rollout_id="r1", now=NOW, candidate_tag="c")
    assert serving_write(retry).manifest["spec"]["traffic"][0] == {
        "revisionName": "app-00001", "percent": 100}


def test_candidate_after_rollback_keeps_the_revision_that_serves() -> None:
    """After a rollback traffic is pinned to the old revision while a newer copy is the
    latest ready one: the candidate's stable revision is the one serving traffic."""
    base = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r0",
                       now=NOW)
    live = live_knative(serving_write(base).manifest, generation=3, ready="app-00003",
                        traffic=[{"revisionName": "app-00001", "percent": 100}])
    plan = plan_deploy(custom_spec("img:4"), live=live, history=base.history, rollout_id="r4",
                       now=NOW, candidate_tag="c")
    assert serving_write(plan).manifest["spec"]["traffic"][0] == {
        "revisionName": "app-00001", "percent": 100}


def test_update_that_drops_the_token_says_so() -> None:
    first = plan_deploy(hf_spec(), live=None, history=History("llm", NS), rollout_id="r1",
                        now=NOW)
    same = plan_deploy(hf_spec(), live={}, history=first.history, rollout_id="r2", now=NOW)
    assert not [n for n in same.notes if "HF_TOKEN" in n]
    dropped = plan_deploy(hf_spec(token=None), live={}, history=first.history,
                          rollout_id="r3", now=NOW)
    assert [n for n in dropped.notes if "HF_TOKEN" in n]


def test_conflict_refusal_is_the_default() -> None:
    plan = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r",
                       now=NOW)
    assert all(not w.force for w in plan.writes if isinstance(w, Apply))
    forced = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r",
                         now=NOW, force=True)
    assert serving_write(forced).force


# -- rollback -----------------------------------------------------------------------------------

def _good_then_bad() -> tuple[History, dict[str, Any]]:
    good, history = deployed("img:good", History("app", NS), "r1", good_revision="app-00001")
    live = live_knative(serving_write(good).manifest, ready="app-00001")
    bad = plan_deploy(custom_spec("img:bad"), live=live, history=history, rollout_id="r2",
                      now=NOW, action="update")
    live_bad = live_knative(serving_write(bad).manifest, generation=2, ready="app-00001",
                            created="app-00002")
    return bad.history, live_bad


@pytest.mark.parametrize(("revisions", "expected_traffic"), [
    (("app-00001", "app-00002"), [{"revisionName": "app-00001", "percent": 100}]),
    (("app-00002",), None),  # the good revision is gone: re-apply its template
])
def test_knative_rollback_targets_recorded_good_entry(
        revisions: tuple[str, ...], expected_traffic: list[dict[str, Any]] | None) -> None:
    history, live = _good_then_bad()
    plan = plan_rollback(history=history, live=live, rollout_id="r2", now=NOW,
                         revisions=revisions)
    manifest = serving_write(plan).manifest
    image = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "img:good"
    assert manifest["spec"].get("traffic") == expected_traffic
    assert plan.entry is not None and plan.entry.rollback_of == 1
    assert plan.entry.action == "rollback"


def test_rollback_writes_no_server_set_field() -> None:
    """A rollback after a Knative rollback leaves deploy/update working: we never own
    creator/lastModifier, status, uid or managedFields."""
    history, live = _good_then_bad()
    plan = plan_rollback(history=history, live=live, rollout_id="r2", now=NOW,
                         revisions=("app-00001",))
    manifest = serving_write(plan).manifest
    annotations = manifest["metadata"].get("annotations") or {}
    assert not SERVER_SET_ANNOTATIONS & set(annotations)
    assert "status" not in manifest
    assert set(manifest["metadata"]) <= {"name", "namespace", "labels", "annotations"}
    assert not serving_write(plan).force
    # after the rollback, the next update plans cleanly against the rolled-back live object
    live2 = live_knative(manifest, generation=3, ready="app-00003")
    rec = plan_record(plan.history, rollout_id="r2", status=Status.GOOD,
                      knative_revision="app-00003", action="rollback")
    nxt = plan_deploy(custom_spec("img:v3"), live=live2, history=rec.history,
                      rollout_id="r3", now=NOW, action="update")
    nxt_manifest = serving_write(nxt).manifest
    assert KNATIVE_CREATOR_ANNOTATION not in (nxt_manifest["metadata"].get("annotations") or {})
    assert "traffic" not in nxt_manifest["spec"]  # our pinned traffic is released


def test_retry_after_crash_targets_good_tuple_not_live_bad_spec() -> None:
    history, live = _good_then_bad()
    # the worker died after its apply; the retry plans the update again (same id) ...
    retry = plan_deploy(custom_spec("img:bad"), live=live, history=history, rollout_id="r2",
                        now=NOW, action="update")
    assert len(retry.history.entries) == len(history.entries)
    failed = plan_record(retry.history, rollout_id="r2", status=Status.FAILED).history
    # ... and its rollback goes to the recorded good tuple, never the live (bad) spec
    first = plan_rollback(history=failed, live=live, rollout_id="r2", now=NOW,
                          revisions=("app-00001",))
    again = plan_rollback(history=first.history, live=live, rollout_id="r2", now=NOW,
                          revisions=("app-00001",))
    for plan in (first, again):
        image = serving_write(plan).manifest["spec"]["template"]["spec"]["containers"][0]
        assert image["image"] == "img:good"
    assert [e.revision for e in again.history.entries] == [1, 2, 3]  # one rollback entry


@pytest.mark.parametrize(("to", "error"), [
    (2, SpecError),   # a failed entry is not a target
    (9, SpecError),   # unknown
])
def test_rollback_to_must_be_good(to: int, error: type[Exception]) -> None:
    history, _ = _good_then_bad()
    history = plan_record(history, rollout_id="r2", status=Status.FAILED).history
    with pytest.raises(error, match="good revision"):
        rollback_target(history, rollout_id="x", to=to)


def test_rollback_without_good_entry_is_refused() -> None:
    plan = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r1",
                       now=NOW)
    with pytest.raises(RolloutFailed, match="no good revision"):
        plan_rollback(history=plan.history, live=None, rollout_id="r1", now=NOW)


def test_lws_rollback_reapplies_recorded_template() -> None:
    spec_good, spec_bad = distributed_spec("vllm:good"), distributed_spec("vllm:bad")
    good = plan_deploy(spec_good, live=None, history=History("dist", NS), rollout_id="r1",
                       now=NOW)
    hist = plan_record(good.history, rollout_id="r1", status=Status.GOOD).history
    bad = plan_deploy(spec_bad, live={"kind": "LeaderWorkerSet"}, history=hist,
                      rollout_id="r2", now=NOW, action="update")
    pods = [{"metadata": {"name": n, "uid": f"u-{n}"},
             "status": {"conditions": [{"type": "Ready", "status": ready}]}}
            for n, ready in (("dist-0", "False"), ("dist-0-1", "False"), ("dist-1", "True"))]
    plan = plan_rollback(history=bad.history, live=None, rollout_id="r2", now=NOW, pods=pods)
    manifest = serving_write(plan).manifest
    assert manifest == serving_write(good).manifest
    # forced rollback: the failed template's broken pods go (uid precondition), ready ones stay
    deletes = [(w.key.kind, w.key.name, w.uid) for w in plan.writes if isinstance(w, Delete)]
    assert deletes == [("Pod", "dist-0", "u-dist-0"), ("Pod", "dist-0-1", "u-dist-0-1")]


# -- traffic ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("split", "promote", "expected"), [
    (20, False, [{"revisionName": "app-00001", "percent": 80},
                 {"revisionName": "app-00002", "percent": 20, "tag": "candidate"}]),
    (None, True, [{"revisionName": "app-00002", "percent": 100}]),
])
def test_traffic_is_server_side_apply_of_our_manifest(split: int | None, promote: bool,
                                                      expected: list[dict[str, Any]]) -> None:
    good, history = deployed("img:1", History("app", NS), "r1", good_revision="app-00001")
    live = live_knative(serving_write(good).manifest, ready="app-00001")
    cand = plan_deploy(custom_spec("img:2"), live=live, history=history, rollout_id="r2",
                       now=NOW, candidate_tag="candidate")
    live2 = live_knative(serving_write(cand).manifest, generation=2, ready="app-00002",
                         traffic=[{"revisionName": "app-00001", "percent": 100},
                                  {"revisionName": "app-00002", "percent": 0,
                                   "tag": "candidate"}])
    plan = plan_traffic(history=cand.history, live=live2, rollout_id="t", split=split,
                        promote=promote)
    write = serving_write(plan)
    assert isinstance(write, Apply) and not write.force  # SSA as FIELD_MANAGER, not a patch
    assert write.manifest["spec"]["traffic"] == expected
    image = write.manifest["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "img:2"  # our template kept: the apply does not drop owned fields
    assert FIELD_MANAGER == "inference-stacks"


def test_traffic_with_explicit_revisions() -> None:
    good, history = deployed("img:1", History("app", NS), "r1", good_revision="app-00001")
    live = live_knative(serving_write(good).manifest, generation=3, ready="app-00003")
    plan = plan_traffic(history=history, live=live, rollout_id="t", split=10,
                        candidate="app-00003", stable="app-00002")
    assert serving_write(plan).manifest["spec"]["traffic"] == [
        {"revisionName": "app-00002", "percent": 90},
        {"revisionName": "app-00003", "percent": 10, "tag": "candidate"}]


@pytest.mark.parametrize("kw", [{}, {"split": 5, "promote": True}, {"split": 101}])
def test_traffic_usage_errors(kw: dict[str, Any]) -> None:
    good, history = deployed("img:1", History("app", NS), "r1", good_revision="app-00001")
    live = live_knative(serving_write(good).manifest)
    with pytest.raises(SpecError):
        plan_traffic(history=history, live=live, rollout_id="t", **kw)


# -- delete -------------------------------------------------------------------------------------

def test_delete_names_token_secret_and_history_without_listing_secrets() -> None:
    plan = plan_deploy(hf_spec(), live=None, history=History("llm", NS), rollout_id="r1",
                       now=NOW)
    found = [{"apiVersion": "serving.knative.dev/v1", "kind": "Service",
              "metadata": {"name": "llm", "namespace": NS, "uid": "u1"}}]
    dplan = plan_delete(name="llm", namespace=NS, history=plan.history, found=found)
    deletes = [w for w in dplan.writes if isinstance(w, Delete)]
    assert [(d.key.kind, d.key.name) for d in deletes] == [
        ("Service", "llm"), ("Secret", "llm-hf-token"), ("ConfigMap", "llm-history")]
    assert deletes[0].propagation == "Foreground" and deletes[0].uid == "u1"


def test_history_configmap_round_trip_and_precondition() -> None:
    plan = plan_deploy(custom_spec(), live=None, history=History("app", NS), rollout_id="r1",
                       now=NOW)
    cm = plan.history.to_configmap()
    assert "resourceVersion" not in cm["metadata"]
    cm["metadata"]["resourceVersion"] = "7"
    back = History.from_configmap(cm, name="app", namespace=NS)
    assert back.entries == plan.history.entries and back.resource_version == "7"
    assert back.serving_kind == "Service"
    assert back.to_configmap()["metadata"]["resourceVersion"] == "7"
    json.loads(cm["data"]["history.json"])


def test_corrupt_history_is_an_error_naming_the_configmap() -> None:
    with pytest.raises(DeployError, match="app-history"):
        History.from_configmap({"metadata": {}, "data": {"history.json": "{not json"}},
                               name="app", namespace=NS)
