"""Trigger serialization, deferral (TaskDeferred, method, timeout) and event handling."""

from __future__ import annotations

import inspect
import socket
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider.operators.base import RESUME_MARGIN_S
from airflow_provider.operators.delete import DeleteInferenceOperator
from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator
from airflow_provider.operators.traffic import ShiftTrafficOperator
from airflow_provider.sensors.ready import InferenceReadySensor
from airflow_provider.triggers.readiness import CLASSPATH, InferenceReadyTrigger
from inference_core.errors import ReadinessTimeout, SpecError, WorkloadFailed

SPEC = {
    "apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
    "metadata": {"name": "iris", "project": "team-a"},
    "spec": {"image": "ghcr.io/acme/iris:1", "endpoint": {"port": 8080},
             "general": {"initializationTimeout": "2m"}},
}
KWARGS: dict[str, Any] = {
    "api_version": "serving.knative.dev/v1", "kind": "Service", "name": "iris",
    "namespace": "team-a", "start_time": 1_700_000_000.5, "timeout": 120.0,
    "expected_generation": 2, "expected_revision": "iris-00002", "fail_fast": True,
    "kubernetes_conn_id": "k8s", "cluster_context": "ctx", "config_file": "/kc",
    "in_cluster": False, "resume": {"workload_kind": "CustomInference", "generation": 2},
}


def test_serialize_mirrors_constructor_exactly() -> None:
    classpath, kwargs = InferenceReadyTrigger(**KWARGS).serialize()
    assert classpath == CLASSPATH
    assert kwargs == KWARGS
    params = set(inspect.signature(InferenceReadyTrigger.__init__).parameters) - {"self"}
    assert set(kwargs) == params
    again = InferenceReadyTrigger(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert again.deadline == KWARGS["start_time"] + KWARGS["timeout"]


class FakeTI:
    """What the operators read from ``context["ti"]``."""

    dag_id, run_id, task_id, map_index = "promote", "manual__1", "deploy", -1

    def __init__(self, started: datetime | None = None) -> None:
        self.start_date = started or datetime.now(UTC)


def never_ready(sb: Any, **overrides: Any) -> DeployInferenceOperator:
    spec = {**SPEC, "spec": {**SPEC["spec"], "image": "ghcr.io/acme/iris:never-ready"}}
    op = DeployInferenceOperator(task_id="deploy", spec=spec, preflight=False,
                                 config_file=str(sb.kubeconfig_path), **overrides)
    return op


def test_deploy_watches_a_short_window_then_defers_with_method_and_timeout(
        sandbox_factory: Any) -> None:
    sb = sandbox_factory(namespaces=["team-a"])
    op = never_ready(sb, check_window=0.5)
    with pytest.raises(TaskDeferred) as info:
        op.execute(context={"ti": FakeTI()})
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout.total_seconds() == 120 + 120  # spec's 2m + slack
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == CLASSPATH
    assert kwargs["expected_generation"] == 1 and kwargs["timeout"] == 120
    assert (kwargs["kind"], kwargs["namespace"], kwargs["name"]) == ("Service", "team-a", "iris")
    # the window read the object and watched it before deferring
    assert sb.requests.find("watch") and sb.requests.find("get")
    # What the task needs on resume travels in the defer kwargs and in the trigger's event.
    assert deferred.kwargs == {"workload_kind": "CustomInference", "generation": 1,
                               "rollout_id": "promote/manual__1/deploy"}
    assert kwargs["resume"] == deferred.kwargs


def test_execution_timeout_bounds_the_deferred_wait(sandbox_factory: Any) -> None:
    sb = sandbox_factory(namespaces=["team-a"])
    op = never_ready(sb, check_window=0.5, execution_timeout=timedelta(minutes=1))
    started = datetime.now(UTC) - timedelta(seconds=10)  # the try began 10 s ago
    with pytest.raises(TaskDeferred) as info:
        op.execute(context={"ti": FakeTI(started)})
    budget = 60 - 10
    defer_timeout = info.value.timeout.total_seconds()
    trigger_timeout = info.value.trigger.serialize()[1]["timeout"]
    assert 0 < defer_timeout <= budget  # Airflow's own limit: what is left of the minute
    assert trigger_timeout <= budget - RESUME_MARGIN_S  # the trigger fires first, so the
    assert trigger_timeout < 120                         # task resumes (and rolls back)


def test_a_failure_within_the_window_finishes_without_deferring(sandbox_factory: Any) -> None:
    sb = sandbox_factory(namespaces=["team-a"])
    spec = {**SPEC, "spec": {**SPEC["spec"], "image": "ghcr.io/acme/iris:does-not-exist"}}
    op = DeployInferenceOperator(task_id="deploy", spec=spec, preflight=False,
                                 config_file=str(sb.kubeconfig_path), check_window=60)
    with pytest.raises(WorkloadFailed) as info:
        op.execute(context={"ti": FakeTI()})
    assert info.value.reason in ("ErrImagePull", "ImagePullBackOff")


@pytest.mark.parametrize(("configured", "expected"), [("True", True), ("False", False)])
def test_deferrable_defaults_to_the_configured_default(
        monkeypatch: pytest.MonkeyPatch, configured: str, expected: bool) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", configured)
    for op in (DeployInferenceOperator(task_id="a", spec=SPEC),
               InferenceReadySensor(task_id="b", name="iris", namespace="team-a")):
        assert op.deferrable is expected
    assert DeployInferenceOperator(task_id="c", spec=SPEC, deferrable=not expected
                                   ).deferrable is (not expected)


def test_execute_complete_falls_back_to_what_the_event_echoed() -> None:
    """``dag.test()`` (Airflow 3.3) resumes with the event alone; the trigger's echo of the
    resume values keeps the summary whole. Defer kwargs, when present, win."""
    op = DeployInferenceOperator(task_id="deploy", spec=SPEC)
    readiness = {"state": "ready", "reason": "Ready", "message": "ok", "kind": "Service",
                 "namespace": "team-a", "name": "iris", "revision": "iris-00004",
                 "url": "http://iris.team-a.example.com", "traffic": []}
    event = {"status": "ready", "readiness": readiness, "kind": "Service",
             "namespace": "team-a", "name": "iris", "revision": "iris-00004",
             "resume": {"workload_kind": "CustomInference", "generation": 4}}
    assert op.execute_complete({}, event)["workload_kind"] == "CustomInference"
    assert op.execute_complete({}, event, workload_kind="X")["workload_kind"] == "X"


def test_execute_complete_raises_with_the_event_message() -> None:
    op = DeployInferenceOperator(task_id="deploy", spec=SPEC)
    event = {"status": "failed", "reason": "ImagePullBackOff", "kind": "Service",
             "namespace": "team-a", "name": "iris", "revision": "iris-00001", "url": None,
             "message": "Back-off pulling image \"ghcr.io/acme/iris:nope\"", "readiness": None}
    with pytest.raises(WorkloadFailed, match="Back-off pulling image") as info:
        op.execute_complete({}, event)
    assert info.value.reason == "ImagePullBackOff"
    with pytest.raises(ReadinessTimeout, match="not ready after"):
        op.execute_complete({}, {**event, "status": "timeout",
                                 "message": "not ready after 120s"})


def test_execute_complete_returns_a_json_able_summary() -> None:
    op = DeployInferenceOperator(task_id="deploy", spec=SPEC)
    readiness = {"state": "ready", "reason": "Ready", "message": "ok", "kind": "Service",
                 "namespace": "team-a", "name": "iris", "revision": "iris-00001",
                 "url": "http://iris.team-a.example.com", "observed_generation": 1,
                 "traffic": [{"revision": "iris-00001", "percent": 100, "tag": "candidate",
                              "url": "http://candidate-iris.team-a.example.com",
                              "latest_revision": False}]}
    event = {"status": "ready", "reason": "Ready", "message": "ok", "kind": "Service",
             "namespace": "team-a", "name": "iris", "revision": "iris-00001",
             "url": readiness["url"], "readiness": readiness}
    summary = op.execute_complete({}, event, workload_kind="CustomInference", generation=1)
    import json

    assert json.loads(json.dumps(summary)) == summary
    assert summary["tag_urls"] == {"candidate": "http://candidate-iris.team-a.example.com"}
    assert (summary["revision"], summary["url"]) == ("iris-00001", readiness["url"])


def test_validation_happens_in_execute_before_any_call() -> None:
    op = DeployInferenceOperator(task_id="deploy", spec={**SPEC, "spec": {"image": ""}})
    hook = mock.Mock()
    op.__dict__["hook"] = hook
    with pytest.raises(SpecError, match=r"spec\.image"):
        op.execute(context={})
    assert not hook.method_calls


def test_constructors_make_no_network_calls() -> None:
    def refuse(*a: Any, **k: Any) -> None:
        raise AssertionError("network access in __init__")

    with mock.patch.object(socket.socket, "connect", refuse):
        DeployInferenceOperator(task_id="a", spec="spec.yaml")
        RollingUpdateInferenceOperator(task_id="b", spec=SPEC, changes={"image": "x:2"})
        ShiftTrafficOperator(task_id="c", name="iris", namespace="team-a", action="split",
                             percent=10)
        DeleteInferenceOperator(task_id="d", name="iris", namespace="team-a")
        InferenceReadySensor(task_id="e", name="iris", namespace="team-a")


def test_operators_are_keyword_only_with_tuple_template_fields() -> None:
    for cls in (DeployInferenceOperator, RollingUpdateInferenceOperator, ShiftTrafficOperator,
                DeleteInferenceOperator, InferenceReadySensor):
        assert isinstance(cls.template_fields, tuple)
        params = inspect.signature(cls.__init__).parameters.values()
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params
                   if p.name != "self"), cls
    assert DeployInferenceOperator(task_id="x", spec=SPEC).deferrable is True


@pytest.mark.parametrize(("soft_fail", "raised"), [(False, "AirflowSensorTimeout"),
                                                   (True, "AirflowSkipException")])
def test_sensor_timeout_follows_airflow_sensor_rules(soft_fail: bool, raised: str) -> None:
    from airflow.sdk import exceptions

    sensor = InferenceReadySensor(task_id="wait", name="iris", namespace="team-a",
                                  soft_fail=soft_fail)
    event = {"status": "timeout", "reason": "Timeout", "kind": "Service", "namespace": "team-a",
             "name": "iris", "message": "not ready after 60s (timeout 60s): progressing"}
    with pytest.raises(getattr(exceptions, raised), match="not ready after 60s"):
        sensor.execute_complete({}, event)
