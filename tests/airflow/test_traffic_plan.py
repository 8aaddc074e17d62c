"""Traffic plans and label-selector matching (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.operators.traffic_plan import (
    CANDIDATE_ANNOTATION,
    STABLE_ANNOTATION,
    candidate_traffic,
    plan,
    traffic_matches,
)
from inference_core.errors import SpecError
from inference_core.readiness import selector_matches


def ksvc(traffic: list[dict[str, Any]] | None = None, *, ready: str = "s-00001",
         created: str = "s-00002", status_traffic: list[dict[str, Any]] | None = None,
         annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "ns", "annotations": annotations or {}},
            "spec": {"traffic": traffic} if traffic is not None else {},
            "status": {"latestReadyRevisionName": ready, "latestCreatedRevisionName": created,
                       "traffic": status_traffic or []}}


def test_candidate_traffic_pins_the_serving_revision_and_tags_latest() -> None:
    assert candidate_traffic(ksvc(ready="s-00001"), "candidate") == [
        {"revisionName": "s-00001", "percent": 100},
        {"latestRevision": True, "percent": 0, "tag": "candidate"}]
    assert candidate_traffic(None, "c") == [{"latestRevision": True, "percent": 100, "tag": "c"}]


def test_candidate_traffic_is_retry_safe() -> None:
    # the candidate became ready between the crash and the retry: stable must not move
    live = ksvc([{"revisionName": "s-00001", "percent": 100},
                 {"latestRevision": True, "percent": 0, "tag": "candidate"}],
                ready="s-00002", created="s-00002")
    assert candidate_traffic(live, "candidate")[0] == {"revisionName": "s-00001", "percent": 100}


def test_split_promote_rollback() -> None:
    live = ksvc([{"revisionName": "s-00001", "percent": 100},
                 {"latestRevision": True, "percent": 0, "tag": "candidate"}])
    split = plan(live, "split", percent=10)
    assert split.traffic == [{"revisionName": "s-00001", "percent": 90},
                             {"revisionName": "s-00002", "percent": 10, "tag": "candidate"}]
    assert split.annotations() == {
        STABLE_ANNOTATION: "s-00001", CANDIDATE_ANNOTATION: "s-00002"}
    promoted = ksvc([{"revisionName": "s-00002", "percent": 100}],
                    annotations={STABLE_ANNOTATION: "s-00001",
                                 CANDIDATE_ANNOTATION: "s-00002"})
    assert plan(live, "promote").traffic == [{"revisionName": "s-00002", "percent": 100}]
    assert plan(promoted, "rollback").traffic == [{"revisionName": "s-00001", "percent": 100}]


@pytest.mark.parametrize("action,percent,field", [
    ("split", 101, "percent"), ("split", None, "percent"), ("shift", None, "action")])
def test_bad_steps_name_the_field(action: str, percent: int | None, field: str) -> None:
    with pytest.raises(SpecError, match=field):
        plan(ksvc([{"revisionName": "s-00001", "percent": 100}]), action, percent=percent)


def test_rollback_without_a_known_stable_revision_is_refused() -> None:
    with pytest.raises(SpecError, match="stable_revision"):
        plan(ksvc([{"latestRevision": True, "percent": 100}]), "rollback")


def test_traffic_matches_compares_routed_percentages() -> None:
    wanted = [{"revisionName": "a", "percent": 100}]
    assert traffic_matches(ksvc(status_traffic=[{"revisionName": "a", "percent": 100},
                                                {"revisionName": "b", "percent": 0,
                                                 "tag": "candidate"}]), wanted)
    assert not traffic_matches(ksvc(status_traffic=[{"revisionName": "b", "percent": 100}]),
                               wanted)


@pytest.mark.parametrize("selector,labels,expected", [
    ("a=1", {"a": "1"}, True), ("a=1", {"a": "2"}, False), ("a==1,b", {"a": "1"}, False),
    ("a!=1", {}, True), ("!a", {"a": "x"}, False), ("a in (1, 2)", {"a": "2"}, True),
    ("a notin (1,2),b=3", {"a": "4", "b": "3"}, True), ("", {"x": "y"}, True),
    (None, {"x": "y"}, False),
])
def test_selector_matches(selector: str | None, labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(selector, labels) is expected
