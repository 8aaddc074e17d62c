"""The provider under real, separate Airflow 3 processes (scheduler with LocalExecutor on
PostgreSQL, dag-processor, api-server, two triggerers) against the sandbox API server.

Deadlines are generous and only bound the waits; no test asserts on wall-clock time.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.airflow_real.cluster import AirflowCluster

pytestmark = [pytest.mark.real, pytest.mark.timeout(1800)]

KSVC = ("serving.knative.dev/v1", "Service")
GOOD = "registry.example.com/acme/app:1"


def run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def service(kube: Any, namespace: str, name: str) -> dict[str, Any] | None:
    return kube.store.get(kube.store.rt(*KSVC), namespace, name)


def test_deploy_becomes_ready(airflow_cluster: AirflowCluster, kube: Any) -> None:
    rid = airflow_cluster.trigger("real_deploy", run_id("deploy"), {
        "name": "ready", "namespace": "real-a", "image": GOOD})
    state = airflow_cluster.wait_run("real_deploy", rid)
    tasks = airflow_cluster.tasks("real_deploy", rid)
    assert state == "success", tasks
    summary = airflow_cluster.xcom("real_deploy", rid, "deploy")
    assert summary["name"] == "ready" and summary["url"].startswith("http")
    live = service(kube, "real-a", "ready")
    assert live is not None
    assert live["status"]["latestReadyRevisionName"] == summary["revision"]


def history(kube: Any, namespace: str, name: str) -> Any:
    from inference_core.rollout.history import History

    cm = kube.store.get(kube.store.rt("v1", "ConfigMap"), namespace, f"{name}-history")
    return History.from_configmap(cm, name=name, namespace=namespace)


def image_of(obj: dict[str, Any]) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def deploy_good(cluster: AirflowCluster, namespace: str, name: str, image: str = GOOD) -> Any:
    rid = cluster.trigger("real_deploy", run_id("deploy"), {
        "name": name, "namespace": namespace, "image": image})
    assert cluster.wait_run("real_deploy", rid) == "success", cluster.tasks("real_deploy", rid)
    return cluster.xcom("real_deploy", rid, "deploy")


def all_logs(cluster: AirflowCluster, dag_id: str, rid: str, task_id: str) -> str:
    tries = int(cluster.tasks(dag_id, rid)[task_id]["try_number"])
    return "\n".join(cluster.task_log(dag_id, rid, task_id, n) for n in range(1, tries + 1))


def assert_rolled_back_to(kube: Any, namespace: str, name: str, good: dict[str, Any],
                          dag_id: str, rid: str, task_id: str) -> None:
    """The history holds a rollback of this rollout to the good entry, the Service template
    is the good one again and all traffic goes to the good revision."""
    hist = history(kube, namespace, name)
    rollout_id = f"{dag_id}/{rid}/{task_id}"
    rolled = hist.for_rollout(rollout_id, "rollback")
    assert rolled is not None, [e.summary() for e in hist.entries]
    target = hist.by_revision(rolled.rollback_of)
    assert target is not None and target.image == GOOD and target.status.value == "good"
    update = hist.for_rollout(rollout_id, "update")
    assert update is not None and update.status.value == "failed"
    live = service(kube, namespace, name)
    assert live is not None
    assert [(t.get("revisionName"), t.get("percent")) for t in live["spec"]["traffic"]] == [
        (good["revision"], 100)]


def test_fast_failure_after_deferral_fails_with_the_reason_and_rolls_back(
        airflow_cluster: AirflowCluster, kube: Any) -> None:
    """The update defers after one read; the image pull fails a second or two after the
    apply, i.e. within about two seconds of the deferral. The task ends failed with the
    kubelet's reason, the rollback ran (traffic on the old revision), and a following
    deploy succeeds."""
    ns, name = "real-b", "fast"
    good = deploy_good(airflow_cluster, ns, name)
    dag_id = "real_update_fast_defer"
    rid = airflow_cluster.trigger(dag_id, run_id("update"), {
        "name": name, "namespace": ns, "image": GOOD,
        "new_image": "registry.example.com/acme/app:does-not-exist"})
    assert airflow_cluster.wait_run(dag_id, rid) == "failed"
    ti = airflow_cluster.tasks(dag_id, rid)["update"]
    assert ti["state"] == "failed", ti
    logs = all_logs(airflow_cluster, dag_id, rid, "update")
    assert "deferring" in logs, logs[-3000:]  # it did defer
    assert "ImagePull" in logs or "ErrImagePull" in logs, logs[-3000:]
    assert "rolled back to history revision" in logs, logs[-3000:]
    assert_rolled_back_to(kube, ns, name, good, dag_id, rid, "update")
    again = deploy_good(airflow_cluster, ns, name, image="registry.example.com/acme/app:3")
    assert again["revision"] != good["revision"]
    live = service(kube, ns, name)
    assert live is not None and image_of(live) == "registry.example.com/acme/app:3"


def test_worker_killed_after_apply_retries_and_rolls_back_to_the_recorded_good_tuple(
        airflow_cluster: AirflowCluster, kube: Any) -> None:
    """The task process dies right after its apply; the retry finds the same rollout in the
    history and, when the update fails, rolls back to the good tuple recorded before it (not
    to the bad spec it finds live)."""
    import os
    import signal

    from tests.airflow_real.cluster import wait_until

    ns, name = "real-c", "crash"
    good = deploy_good(airflow_cluster, ns, name)
    dag_id = "real_update"
    rid = airflow_cluster.trigger(dag_id, run_id("update"), {
        "name": name, "namespace": ns, "image": GOOD, "timeout": "45s",
        "new_image": "registry.example.com/acme/app:never-ready"})
    rollout_id = f"{dag_id}/{rid}/update"

    def applied_pid() -> int | None:
        if history(kube, ns, name).for_rollout(rollout_id, "update") is None:
            return None
        ti = airflow_cluster.tasks(dag_id, rid)["update"]
        return int(ti["pid"]) if ti.get("pid") and ti["state"] == "running" else None

    pid = wait_until(applied_pid, what="the update's apply", limit_s=600, every_s=0.2)
    os.kill(pid, signal.SIGKILL)
    assert airflow_cluster.wait_run(dag_id, rid) == "failed"
    ti = airflow_cluster.tasks(dag_id, rid)["update"]
    assert int(ti["try_number"]) == 2, ti  # the retry ran
    assert_rolled_back_to(kube, ns, name, good, dag_id, rid, "update")
    live = service(kube, ns, name)
    assert live is not None and image_of(live) == GOOD  # not the bad spec found live


def test_triggerers_killed_mid_wait_the_task_resumes_once(
        airflow_cluster: AirflowCluster, kube: Any) -> None:
    """Both triggerers die (SIGKILL) while the deploy is deferred; two new triggerers pick
    the trigger up, and the task resumes exactly once (one event, one resumed attempt)."""
    from tests.airflow_real.cluster import wait_until

    ns, name = "real-d", "slow"
    rid = airflow_cluster.trigger("real_deploy", run_id("deploy"), {
        "name": name, "namespace": ns, "timeout": "20m",  # Knative's deadline: simulated time
        "image": "registry.example.com/acme/app:ready-after-300s"})
    seen: list[str] = []

    def deferred() -> bool:
        seen.append(str(airflow_cluster.tasks("real_deploy", rid)["deploy"]["state"]))
        return seen[-1] == "deferred"

    try:
        wait_until(deferred, what="the deploy to defer", limit_s=600,
                   alive=airflow_cluster.check_alive)
    except TimeoutError as e:
        raise AssertionError(f"{e}; states seen: {sorted(set(seen))}; run "
                             f"{airflow_cluster.run_state('real_deploy', rid)}") from e
    old = [n for n in airflow_cluster.procs if n.startswith("triggerer-")]
    for proc_name in old:
        airflow_cluster.kill(proc_name)
    airflow_cluster.start_triggerer(10)
    airflow_cluster.start_triggerer(11)
    assert airflow_cluster.wait_run("real_deploy", rid) == "success"
    ti = airflow_cluster.tasks("real_deploy", rid)["deploy"]
    assert int(ti["try_number"]) == 1, ti  # resumed, not retried
    log = airflow_cluster.task_log("real_deploy", rid, "deploy", 1)
    assert log.count("is ready: revision") == 1, log[-3000:]
    summary = airflow_cluster.xcom("real_deploy", rid, "deploy")
    live = service(kube, ns, name)
    assert live is not None and live["status"]["latestReadyRevisionName"] == summary["revision"]
