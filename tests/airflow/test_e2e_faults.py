"""End to end under API faults: ``dag.test()`` of the DAGs in ``e2e_dags/e2e_faults.py``
(operators with their defaults: deferrable, the readiness wait runs in the trigger) against
the sandbox API server with injected 5xx bursts, 429s, dropped watches, 410s and 409s.

Each case checks the outcome (task state, XCom summary) and the evidence: the sandbox's
request log (retries, resumed watches), the stored objects, and the reason the task gives
when it fails (the error ``run_dag`` records for the task, see :func:`failure`).
"""

from __future__ import annotations

import functools
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.hooks.retry import RetryPolicy
from tests.airflow import dagrun
from tests.airflow.conftest import connection_env

E2E_DAGS = Path(__file__).resolve().parent / "e2e_dags"
NS = "faults"
NAME = "faulty"
KSVC = ("serving.knative.dev/v1", "Service")
REVISION = ("serving.knative.dev/v1", "Revision")
KSVC_PATH = f"/apis/serving.knative.dev/v1/namespaces/{NS}/services"
OBJECT_PATH = f"{KSVC_PATH}/{NAME}"
IMAGE = "registry.example.com/acme/app:1"
HOTFIX_IMAGE = "registry.example.com/acme/app:hotfix"
FIELD_MANAGER = "inference-stacks"
OTHER_MANAGER = "kubectl-hotfix"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def cluster(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Any]:
    sb = sandbox_factory(namespaces=[NS])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    yield sb


def run(dag_id: str, **conf: Any) -> dagrun.RunResult:
    """One ``dag.test()`` run of an e2e fault DAG, freshly parsed (``dag.test()`` runs the
    task object in this process and rendering templates overwrites its fields, so a DAG
    object must not be run twice)."""
    return dagrun.run_dag(dagrun.load_dag(E2E_DAGS, dag_id), conf)


def failure(result: dagrun.RunResult, task_id: str) -> dagrun.TaskFailure:
    """Why ``task_id`` failed: the error it raised, as ``run_dag`` caught it (a task-instance
    listener; ``dag.test()`` runs the task in this process, the metadata DB keeps no error).
    """
    assert result.task_states.get(task_id) == "failed", result.task_states
    assert task_id in result.errors, f"no error recorded for {task_id}"
    return result.errors[task_id]


def stamp_requests(sb: Any) -> list[tuple[float, Any]]:
    """Record the monotonic time at which the sandbox logged each request."""
    stamped: list[tuple[float, Any]] = []
    original = sb.requests.append

    def append(record: Any) -> None:
        stamped.append((time.monotonic(), record))
        original(record)

    sb.requests.append = append
    return stamped


def hold_rollout_until(sb: Any, verb: str, path: str, *, nth: int = 1) -> None:
    """Freeze the sandbox's simulated time (pods make no progress) until the ``nth``
    ``verb`` request on exactly ``path`` reaches the server, then resume its speed.

    Makes "still progressing when the task defers" and "the faults hit the trigger before
    the workload is ready" hold however slow the machine is.
    """
    speed = sb.clock.speed
    sb.clock.set_speed(1e-3)
    seen = 0
    original = sb.requests.append

    def append(record: Any) -> None:
        nonlocal seen
        original(record)
        if record.verb == verb and record.path == path:
            seen += 1
            if seen == nth:
                sb.clock.set_speed(speed)

    sb.requests.append = append


def applies(sb: Any) -> list[Any]:
    """Server-side applies of the Knative Service, in order."""
    return [r for r in sb.requests.find("patch", path=OBJECT_PATH) if r.is_apply]


def foreign_apply(sb: Any, manifest: dict[str, Any], manager: str) -> dict[str, Any]:
    """``kubectl apply --server-side --field-manager=<manager> --force-conflicts``."""
    req = urllib.request.Request(
        f"{sb.url}{OBJECT_PATH}?fieldManager={manager}&force=true", method="PATCH",
        data=json.dumps(manifest).encode(),
        headers={"Content-Type": "application/apply-patch+yaml",
                 "Authorization": f"Bearer {sb.config.token}"})
    with urllib.request.urlopen(req, timeout=10, context=sb.ssl_context()) as resp:
        return dict(json.loads(resp.read()))


def hotfix_image(sb: Any) -> dict[str, Any]:
    """Someone else changes the image with their own field manager (taking the field);
    returns the Knative Service once the hotfix revision serves."""
    live = sb.store.get(KSVC, NS, NAME)
    containers = live["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = HOTFIX_IMAGE
    applied = foreign_apply(sb, {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"template": {"spec": {"containers": containers}}},
    }, OTHER_MANAGER)
    generation = applied["metadata"]["generation"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = sb.store.get(KSVC, NS, NAME).get("status") or {}
        if status.get("observedGeneration") == generation and \
                status.get("latestReadyRevisionName") == status.get("latestCreatedRevisionName"):
            return dict(sb.store.get(KSVC, NS, NAME))
        time.sleep(0.02)
    raise AssertionError("the hotfix revision did not become ready within 10 s")


def owners_of_containers(obj: dict[str, Any]) -> set[str]:
    """Field managers owning ``.spec.template.spec.containers``."""
    return {m["manager"] for m in obj["metadata"].get("managedFields", [])
            if "f:containers" in m.get("fieldsV1", {}).get("f:spec", {}).get("f:template", {})
            .get("f:spec", {})}


def image_of(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def revisions(sb: Any) -> set[str]:
    return {r["metadata"]["name"] for r in sb.store.list(REVISION, NS)}


def assert_ready_summary(result: dagrun.RunResult, task_id: str, sb: Any) -> dict[str, Any]:
    """The task succeeded and its XCom summary matches what the cluster serves."""
    assert result.succeeded, result.task_states
    assert result.task_states == {task_id: "success"}
    summary = result.returns[task_id]
    live = sb.store.get(KSVC, NS, NAME)
    assert summary["state"] == "ready"
    assert (summary["kind"], summary["namespace"], summary["name"]) == ("Service", NS, NAME)
    assert summary["revision"] == live["status"]["latestReadyRevisionName"]
    assert summary["traffic"] == [{"revision": summary["revision"], "percent": 100,
                                   "tag": None}]
    assert summary["url"] == live["status"]["url"]
    return dict(summary)


def test_5xx_burst_within_the_retry_budget_succeeds(cluster: Any) -> None:
    cluster.faults.fail(503, verb="patch", path=OBJECT_PATH, times=2)
    cluster.faults.fail(502, verb="get", path=OBJECT_PATH, times=1)
    cluster.faults.fail(503, verb="list", path=KSVC_PATH, times=2)  # the trigger's list
    hold_rollout_until(cluster, "list", KSVC_PATH)  # not ready before the task defers
    result = run("e2e_faults_deploy")
    assert_ready_summary(result, "deploy", cluster)
    # The apply and the read of the live object before planning were retried...
    assert [r.status for r in applies(cluster)] == [503, 503, 201]  # 201: created by apply
    assert [r.status for r in cluster.requests.find("get", path=OBJECT_PATH)][:2] == [502, 404]
    # ...and the deferred wait's list (the trigger's informer) by the async hook.
    lists = [r for r in cluster.requests.find("list", path=KSVC_PATH) if r.path == KSVC_PATH]
    assert [r.status for r in lists] == [503, 503, 200]
    assert image_of(cluster.store.get(KSVC, NS, NAME)) == IMAGE


def test_5xx_burst_beyond_the_budget_fails_and_leaves_the_service_as_it_was(
    cluster: Any, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run("e2e_faults_deploy").succeeded
    before = cluster.store.get(KSVC, NS, NAME)
    revs = revisions(cluster)
    capfd.readouterr()
    # Same attempts as the default policy, shorter waits (keeps the test fast).
    monkeypatch.setattr("airflow_provider.hooks.inference.RetryPolicy",
                        functools.partial(RetryPolicy, base_wait_s=0.01, max_wait_s=0.05))
    cluster.requests.clear()
    cluster.faults.fail(500, verb="patch", path=OBJECT_PATH, times=None)
    result = run("e2e_faults_deploy", image="registry.example.com/acme/app:2")
    assert result.state == "failed" and result.task_states == {"deploy": "failed"}
    assert "deploy" not in result.returns
    error = failure(result, "deploy")
    # Our error type with the status and reason, not a client-library exception.
    assert error.error_type in ("KubeApiError", "ApiStatusError"), error
    assert error.reason == "InternalError"
    assert error.message.startswith(f"PATCH {OBJECT_PATH} answered 500 InternalError"), error
    assert error.message in capfd.readouterr().out  # and the task log shows it
    assert [r.status for r in applies(cluster)] == [500] * RetryPolicy().attempts
    # Right outcome: the apply never landed, so the running service is untouched and
    # keeps serving the previous revision (no new revision, same generation and spec).
    after = cluster.store.get(KSVC, NS, NAME)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"] and image_of(after) == IMAGE
    assert after["status"]["latestReadyRevisionName"] == \
        before["status"]["latestReadyRevisionName"]
    assert revisions(cluster) == revs


def test_429_waits_retry_after_then_succeeds(cluster: Any) -> None:
    cluster.faults.throttle(retry_after=1, verb="patch", path=OBJECT_PATH, times=1)
    stamped = stamp_requests(cluster)
    result = run("e2e_faults_deploy")
    assert_ready_summary(result, "deploy", cluster)
    tries = [(t, r) for t, r in stamped if r.is_apply and r.path == OBJECT_PATH]
    assert [r.status for _, r in tries] == [429, 201]
    assert tries[1][0] - tries[0][0] >= 1.0  # waited at least Retry-After


def test_dropped_watches_and_410_during_the_deferred_wait(cluster: Any) -> None:
    # The Knative Service's watch (what readiness needs) fails three times in a row: the
    # stream is reset, then closed by the server, then answered with 410 Expired.
    cluster.faults.drop_watch(0, path=KSVC_PATH, times=1, mode="reset")
    cluster.faults.drop_watch(0, path=KSVC_PATH, times=1, mode="close", after=1)
    cluster.faults.fail(410, verb="watch", path=KSVC_PATH, after=2, times=1)  # 410 Expired
    hold_rollout_until(cluster, "watch", KSVC_PATH, nth=3)  # not ready before all three
    result = run("e2e_faults_deploy")
    assert_ready_summary(result, "deploy", cluster)
    calls = [r for r in cluster.requests if r.path == KSVC_PATH and r.verb in ("list", "watch")]
    verbs = [r.verb for r in calls]
    assert all(rule.exhausted for rule in cluster.faults.rules)  # every fault was hit
    # list → watch (reset) → watch (closed) → watch (410) → list again.
    assert verbs[:5] == ["list", "watch", "watch", "watch", "list"], verbs
    listed_rv = calls[1].query.get("resourceVersion")
    # After a dropped stream the informer resumes from the version it had seen...
    assert listed_rv and calls[2].query.get("resourceVersion") == listed_rv
    assert calls[3].query.get("resourceVersion") == listed_rv
    # ...and after the 410 it lists again (verbs[4]) instead of giving up.


def assert_conflict_reason(error: dagrun.TaskFailure) -> None:
    """The task names the conflicting manager, the field, and how to resolve it."""
    assert error.error_type == "FieldConflict", error  # a KubeApiError with the conflicts
    message = error.message
    assert message.startswith(f"apply of Service {NS}/{NAME} as field manager "
                              "'inference-stacks' refused:"), message
    assert f"'{OTHER_MANAGER}' owns .spec.template.spec.containers" in message, message
    assert "force=True" in message and "Nothing was changed" in message


def assert_untouched(sb: Any, hotfixed: dict[str, Any]) -> None:
    """Nothing was overwritten: the hotfix keeps its image, field and serving revision."""
    live = sb.store.get(KSVC, NS, NAME)
    assert image_of(live) == HOTFIX_IMAGE
    assert live["metadata"]["generation"] == hotfixed["metadata"]["generation"]
    assert owners_of_containers(live) == {OTHER_MANAGER}
    assert live["status"]["latestReadyRevisionName"] == \
        hotfixed["status"]["latestReadyRevisionName"]


def test_409_field_owned_by_another_manager(cluster: Any) -> None:
    assert run("e2e_faults_deploy").succeeded
    hotfixed = hotfix_image(cluster)
    assert owners_of_containers(hotfixed) == {OTHER_MANAGER}
    refused = run("e2e_faults_deploy_no_force")
    assert refused.state == "failed" and refused.task_states == {"deploy": "failed"}
    assert_conflict_reason(failure(refused, "deploy"))
    assert_untouched(cluster, hotfixed)

    taken = run("e2e_faults_deploy")  # force=True: the pipeline takes the fields over
    assert_ready_summary(taken, "deploy", cluster)
    live = cluster.store.get(KSVC, NS, NAME)
    assert image_of(live) == IMAGE
    assert owners_of_containers(live) == {FIELD_MANAGER}


def test_rolling_update_under_a_409(cluster: Any) -> None:
    assert run("e2e_faults_deploy").succeeded
    hotfixed = hotfix_image(cluster)
    revs = revisions(cluster)
    refused = run("e2e_faults_update_no_force")
    assert refused.task_states == {"rolling_update": "failed"}
    assert_conflict_reason(failure(refused, "rolling_update"))
    assert_untouched(cluster, hotfixed)
    assert revisions(cluster) == revs  # no revision was started

    rolled = run("e2e_faults_update")
    summary = assert_ready_summary(rolled, "rolling_update", cluster)
    live = cluster.store.get(KSVC, NS, NAME)
    assert image_of(live) == "registry.example.com/acme/app:2"
    assert summary["revision"] not in revs
    assert owners_of_containers(live) == {FIELD_MANAGER}
