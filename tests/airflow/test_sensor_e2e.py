"""End to end: ``InferenceReadySensor`` deferring under ``dag.test()`` (trigger inline)
against the sandbox API server: ready, fail fast with the kubelet's reason, timeout.

The sandbox's clock stands still from the apply until the sensor's trigger has opened its
pod watch, so every case really goes through the deferral and the trigger (the sensor's
synchronous first check sees a workload that is still progressing), whatever the speed
of the machine.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from inference_sandbox.pytest_plugin import TEST_SPEED
from tests.airflow import dagrun
from tests.airflow.conftest import connection_env

E2E_DAGS = Path(__file__).resolve().parent / "e2e_dags"
KSVC = ("serving.knative.dev/v1", "Service")
NS = "team-a"
GOOD = "registry.example.com/acme/app:1"


@pytest.fixture
def cluster(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    sb = sandbox_factory(namespaces=[NS])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    return sb


@contextmanager
def held_until_watched(sb: Any, *, limit_s: float = 180.0) -> Iterator[threading.Event]:
    """Stop the sandbox's clock until a new pod watch opens in ``NS``, then run at test
    speed. Yields the event set on release (not set: nobody watched)."""
    def watches() -> int:
        return len(sb.requests.find("watch", resource="pods", namespace=NS))

    before = watches()
    released, stop = threading.Event(), threading.Event()
    sb.clock.set_speed(1e-9)

    def release() -> None:
        deadline = time.monotonic() + limit_s
        while not stop.is_set() and time.monotonic() < deadline:
            if watches() > before:
                released.set()
                break
            stop.wait(0.01)
        sb.clock.set_speed(TEST_SPEED)

    thread = threading.Thread(target=release, name="release-clock", daemon=True)
    thread.start()
    try:
        yield released
    finally:
        stop.set()
        thread.join(5)
        sb.clock.set_speed(TEST_SPEED)


def run_sensor(sb: Any, dag_id: str, name: str, image: str, *,
               must_watch: bool = True) -> dagrun.RunResult:
    with held_until_watched(sb) as released:
        result = dagrun.run_dag(dagrun.load_dag(E2E_DAGS, dag_id),
                                {"name": name, "image": image})
    # (a 1 s sensor timeout may pass before a slow machine opens the pods' watch)
    assert released.is_set() or not must_watch, "the sensor's trigger never watched the pods"
    assert result.task_states["deploy"] == "success", result.errors
    assert result.task_runs.get("wait") == 2, "the sensor should defer once and resume"
    return result


def link_xcoms(result: dagrun.RunResult, task_id: str) -> list[Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = XComModel.get_many(run_id=result.run_id, dag_ids=result.dag_id,
                                   task_ids=task_id, key="_link_InferenceEndpointLink")
        return [XComModel.deserialize_value(row) for row in session.scalars(query)]


def test_ready_workload_returns_the_readiness_summary(
        cluster: Any, capfd: pytest.CaptureFixture[str]) -> None:
    result = run_sensor(cluster, "e2e_sensor", "sensed", GOOD)
    assert result.succeeded, (result.task_states, result.errors)
    summary = result.returns["wait"]
    live = cluster.store.get(KSVC, NS, "sensed")
    assert summary["state"] == "ready"
    assert (summary["kind"], summary["namespace"], summary["name"]) == ("Service", NS, "sensed")
    assert summary["workload_kind"] == "CustomInference"
    assert summary["revision"] == live["status"]["latestReadyRevisionName"] == "sensed-00001"
    assert summary["url"] == live["status"]["url"]
    assert [(t["revision"], t["percent"]) for t in summary["traffic"]] == [("sensed-00001", 100)]
    # the task runner stored the extra link built from that summary
    assert link_xcoms(result, "wait") == [summary["url"]]
    gc.collect()  # a leaked aiohttp session reports itself when collected
    out = capfd.readouterr()
    assert "Unclosed" not in out.out + out.err


@pytest.mark.parametrize(("image", "reasons"), [
    ("registry.example.com/acme/app:does-not-exist", {"ErrImagePull", "ImagePullBackOff"}),
    # the pod's CrashLoopBackOff, or Knative's revision verdict ContainerHealthy=False
    # (reason ExitCode1), whichever the trigger sees first
    ("registry.example.com/acme/app:crashloop", {"CrashLoopBackOff", "ExitCode1"}),
])
def test_failing_workload_fails_the_sensor_fast_with_the_kubelet_reason(
        cluster: Any, image: str, reasons: set[str]) -> None:
    result = run_sensor(cluster, "e2e_sensor", "broken", image)
    assert result.state == "failed"
    assert result.task_states["wait"] == "failed"
    failure = result.errors["wait"]
    assert failure.error_type == "WorkloadFailed"
    assert failure.reason in reasons, failure
    assert "broken" in failure.message and failure.reason in failure.message
    # the sensor's timeout is a minute: it failed on the kubelet's verdict, in seconds
    assert result.durations["wait"] < 15, result.durations
    assert "wait" not in result.returns


def test_workload_never_ready_times_out_with_the_last_state(cluster: Any) -> None:
    result = run_sensor(cluster, "e2e_sensor_timeout", "stuck",
                        "registry.example.com/acme/app:never-ready", must_watch=False)
    assert result.state == "failed"
    failure = result.errors["wait"]
    assert failure.error_type == "AirflowSensorTimeout", failure  # no retries, as sensors do
    assert "not ready after" in failure.message and "(timeout 1s)" in failure.message
    assert "progressing" in failure.message  # the last state it saw
    assert result.durations["wait"] >= 1
    # the workload itself is left as it is (the sensor only watches)
    assert cluster.store.get(KSVC, NS, "stuck") is not None
