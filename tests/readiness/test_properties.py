"""Property tests: evaluate never raises on odd shapes, and READY always means "current"."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference_core.readiness import Readiness, State, evaluate
from tests.readiness import fixtures as f

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaf = st.none() | st.booleans() | st.integers(-3, 5) | st.text(max_size=6) | st.sampled_from(
    ["True", "False", "Unknown", "Ready", "llm-00001", "llm-00002", "ImagePullBackOff",
     "2025-03-01T10:00:00Z", "not-a-time"])
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "status", "reason", "message", "conditions", "state",
                         "waiting", "name", "count", "x"]), inner, max_size=4),
    max_leaves=12,
)
KINDS = [("serving.knative.dev/v1", "Service"), ("serving.knative.dev/v1", "Revision"),
         ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")]


@st.composite
def odd_objects(draw: st.DrawFn) -> dict[str, Any]:
    api_version, kind = draw(st.sampled_from(KINDS))
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    if draw(st.booleans()):
        obj["metadata"] = draw(json_value)
    elif draw(st.booleans()):
        obj["metadata"] = draw(st.fixed_dictionaries(
            {}, optional={"name": json_value, "namespace": json_value, "generation": json_value,
                          "labels": json_value}))
    if draw(st.booleans()):
        obj["status"] = draw(json_value)
    if draw(st.booleans()):
        obj["spec"] = draw(json_value)
    return obj


@FAST
@given(obj=odd_objects(), pods=st.lists(json_value, max_size=3),
       events=st.lists(json_value, max_size=3), revisions=st.lists(json_value, max_size=2),
       expected_generation=st.none() | st.integers(0, 4),
       expected_revision=st.none() | st.sampled_from(["llm-00002", "abc"]))
def test_never_raises_on_arbitrary_shapes(
    obj: dict[str, Any], pods: list[Any], events: list[Any], revisions: list[Any],
    expected_generation: int | None, expected_revision: str | None,
) -> None:
    result = evaluate(obj, pods=pods, events=events, revisions=revisions,
                      expected_generation=expected_generation,
                      expected_revision=expected_revision)
    assert isinstance(result, Readiness) and result.reason and result.message
    assert Readiness.from_dict(result.to_dict()) == result


COND_TYPES = ["Ready", "ConfigurationsReady", "RoutesReady", "Available", "Progressing",
              "UpdateInProgress"]
conditions = st.lists(st.builds(
    f.cond, st.sampled_from(COND_TYPES), st.sampled_from(["True", "False", "Unknown"]),
    st.sampled_from([None, "RevisionFailed", "OutOfDate", "GroupsProgressing"]),
    st.none() | st.just("msg"), st.none() | st.integers(0, 4)), max_size=5)
revs = st.none() | st.sampled_from(["llm-00001", "llm-00002", "llm-00003"])
pod_states = st.lists(st.sampled_from([
    f.waiting("c", "ImagePullBackOff", f.MSG_BACKOFF_PULL), f.crashlooping(),
    f.running(), f.waiting("c", "ErrImagePull", f.MSG_PULL_TRANSIENT)]), max_size=2)


@st.composite
def services(draw: st.DrawFn) -> dict[str, Any]:
    return f.ksvc(generation=draw(st.integers(1, 4)), observed=draw(st.none() | st.integers(0, 4)),
                  created=draw(revs), ready=draw(revs), conditions=draw(conditions))


@st.composite
def leaderworkersets(draw: st.DrawFn) -> dict[str, Any]:
    return f.lws(replicas=draw(st.integers(0, 3)), generation=draw(st.integers(1, 4)),
                 observed=draw(st.none() | st.integers(0, 4)), ready=draw(st.integers(0, 3)),
                 updated=draw(st.integers(0, 3)), conditions=draw(conditions))


@FAST
@given(obj=services() | leaderworkersets(), states=pod_states,
       expected_generation=st.none() | st.integers(1, 4), expected_revision=revs)
def test_ready_implies_current_generation_and_revision(
    obj: dict[str, Any], states: list[dict[str, Any]], expected_generation: int | None,
    expected_revision: str | None,
) -> None:
    pods = [f.kpod(suffix=str(i), containers=[s]) for i, s in enumerate(states)]
    result = evaluate(obj, pods=pods, expected_generation=expected_generation,
                      expected_revision=expected_revision)
    status, gen = obj["status"], obj["metadata"]["generation"]
    if result.state is State.READY:
        assert status.get("observedGeneration") == gen == result.observed_generation
        assert expected_generation is None or gen >= expected_generation
        if obj["kind"] == "Service":
            assert status.get("latestReadyRevisionName") == status.get("latestCreatedRevisionName")
            assert expected_revision in (None, status.get("latestCreatedRevisionName"))
            assert result.revision == status.get("latestReadyRevisionName")
        else:
            replicas = obj["spec"]["replicas"]
            assert status["readyReplicas"] == status["updatedReplicas"] == replicas
    if result.state is State.FAILED and obj["kind"] == "Service":
        # A failed rollout always names the revision still serving (or none).
        assert result.revision == status.get("latestReadyRevisionName")
        assert "traffic" in result.message
    assert "team-a/" in result.message


@FAST
@given(states=st.lists(pod_states, min_size=1, max_size=3), data=st.data())
def test_pod_order_does_not_matter(states: list[list[dict[str, Any]]], data: st.DataObject) -> None:
    obj = f.ksvc(created="llm-00002", ready="llm-00001",
                 conditions=f.settling_conditions("RevisionMissing", "w"))
    pods = [f.kpod(suffix=str(i), containers=s) for i, s in enumerate(states)]
    shuffled = data.draw(st.permutations(pods))
    assert evaluate(obj, pods=pods) == evaluate(obj, pods=shuffled)
