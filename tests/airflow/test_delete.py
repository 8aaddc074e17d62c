"""``DeleteInferenceOperator`` against the sandbox: everything a deploy created goes, and
``when="auto_deletion"`` honours ``general.autoDeletionAfter`` (Run:ai's auto-deletion):
a failed workload older than that is deleted, a younger one is kept (the task defers
until it is due), a healthy one is kept."""

from __future__ import annotations

import copy
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider.hooks.inference import InferenceHook
from airflow_provider.operators import lifecycle
from airflow_provider.operators.delete import DeleteInferenceOperator, _failed_since
from inference_core.profile import load_profile
from inference_core.readiness import Readiness
from inference_core.render import render
from inference_core.spec import parse_spec
from inference_sandbox.config import KaiQueue
from tests.airflow import dagrun
from tests.airflow.conftest import connection_env

E2E_DAGS = Path(__file__).resolve().parent / "e2e_dags"
NS = "team-a"
PROFILE = "kai"
GOOD = "registry.example.com/acme/app:1"
BAD = "registry.example.com/acme/app:does-not-exist"
KSVC = ("serving.knative.dev/v1", "Service")


def spec_doc(name: str, image: str, after: str) -> dict[str, Any]:
    """The same spec as the e2e_delete DAG, with its params filled in."""
    from tests.airflow.e2e_dags.e2e_delete import SPEC

    doc = copy.deepcopy(SPEC)
    doc["metadata"]["name"] = name
    doc["spec"]["image"] = image
    doc["spec"]["general"]["autoDeletionAfter"] = after
    return doc


def rendered(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, name) of every object the spec renders."""
    return [(o["apiVersion"], o["kind"], o["metadata"]["name"])
            for o in render(parse_spec(doc), load_profile(PROFILE))]


def live(sb: Any, objects: list[tuple[str, str, str]]) -> list[str]:
    return [f"{kind} {NS}/{name}" for api, kind, name in objects
            if sb.store.get((api, kind), NS, name) is not None]


@pytest.fixture
def cluster(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    features = dict(load_profile(PROFILE).knative.features)
    sb = sandbox_factory(namespaces=[NS], features=features, queues=[KaiQueue(NS)])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    return sb


def deploy_and_wait(doc: dict[str, Any], *, until: str) -> Readiness:
    """Apply the spec's objects and poll (bounded) until the workload is ``until``."""
    spec = parse_spec(doc)
    hook = InferenceHook()
    manifests = lifecycle.render_objects(spec, PROFILE)
    hook.apply_all(manifests)
    ref = lifecycle.ServingRef.of(lifecycle.serving_manifest(manifests))
    deadline = time.monotonic() + 15
    while True:
        r = lifecycle.check_once(hook, ref)
        if str(r.state) == until or time.monotonic() > deadline:
            assert str(r.state) == until, r
            return r
        time.sleep(0.05)


def failed_since(sb: Any, name: str) -> datetime:
    since = _failed_since(sb.store.get(KSVC, NS, name))
    assert since is not None
    return since


def test_delete_now_removes_every_object_the_deploy_created(cluster: Any) -> None:
    doc = spec_doc("doomed", GOOD, "1h")
    objects = rendered(doc)
    assert {kind for _, kind, _ in objects} == {
        "PersistentVolumeClaim", "Service", "RequestAuthentication", "AuthorizationPolicy"}
    result = dagrun.run_dag(dagrun.load_dag(E2E_DAGS, "e2e_delete"),
                            {"name": "doomed", "image": GOOD, "when": "now"})
    assert result.succeeded, (result.task_states, result.errors)
    assert result.returns["deploy"]["state"] == "ready"
    summary = result.returns["delete"]
    # every rendered object (the serving object first), the history ConfigMap last; the
    # token Secret a deploy may create is looked up by name (absent here)
    assert summary["skipped"] is None
    assert summary["deleted"][0] == f"Service {NS}/doomed"
    assert set(summary["deleted"]) == {f"{kind} {NS}/{name}" for _, kind, name in objects} | {
        f"ConfigMap {NS}/doomed-history"}
    assert summary["deleted"][-1] == f"ConfigMap {NS}/doomed-history"
    assert summary["absent"] == [f"Secret {NS}/doomed-hf-token"]
    assert live(cluster, objects) == []
    leftovers = [o["metadata"]["name"] for rt, o in cluster.store.all_objects()
                 if (o["metadata"].get("labels") or {}).get("inference-stacks.io/workload")
                 == "doomed" and rt.kind in {k for _, k, _ in objects}]
    assert leftovers == []


def test_auto_deletion_in_a_dag_deletes_the_failed_workload_once_due(cluster: Any) -> None:
    doc = spec_doc("failing", BAD, "1s")
    result = dagrun.run_dag(dagrun.load_dag(E2E_DAGS, "e2e_delete"),
                            {"name": "failing", "image": BAD, "after": "1s",
                             "when": "auto_deletion"})
    assert result.task_states == {"deploy": "failed", "delete": "success"}, result.errors
    assert result.errors["deploy"].reason in {"ErrImagePull", "ImagePullBackOff"}
    assert {f"{kind} {NS}/{name}" for _, kind, name in rendered(doc)} <= set(
        result.returns["delete"]["deleted"])
    assert live(cluster, rendered(doc)) == []


def test_failed_workload_older_than_auto_deletion_is_deleted_at_once(cluster: Any) -> None:
    doc = spec_doc("old-failure", BAD, "1s")
    deploy_and_wait(doc, until="failed")
    due = failed_since(cluster, "old-failure") + timedelta(seconds=1)
    while datetime.now(UTC) <= due:  # bounded: at most about a second
        time.sleep(0.05)
    op = DeleteInferenceOperator(task_id="cleanup", spec=doc, profile=PROFILE,
                                 when="auto_deletion")
    summary = op.execute({})  # no deferral: already due
    assert summary["skipped"] is None
    assert {f"{kind} {NS}/{name}" for _, kind, name in rendered(doc)} <= set(summary["deleted"])
    assert live(cluster, rendered(doc)) == []


def test_failed_workload_younger_than_auto_deletion_is_kept_until_due(
        cluster: Any, capfd: pytest.CaptureFixture[str]) -> None:
    doc = spec_doc("young-failure", BAD, "1h")
    deploy_and_wait(doc, until="failed")
    since = failed_since(cluster, "young-failure")
    # name + namespace: the time comes from the serving object's annotation
    op = DeleteInferenceOperator(task_id="cleanup", name="young-failure", namespace=NS,
                                 when="auto_deletion")
    with pytest.raises(TaskDeferred) as info:
        op.execute({})
    deferred = info.value
    assert deferred.method_name == "resume"
    assert deferred.trigger.moment == since + timedelta(hours=1)
    remaining = (since + timedelta(hours=1) - datetime.now(UTC)).total_seconds()
    assert 3500 < deferred.timeout.total_seconds() - 600 <= remaining + 1
    assert live(cluster, rendered(doc)) == [f"{k} {NS}/{n}" for _, k, n in rendered(doc)]
    text = capfd.readouterr().out  # the task log (structlog writes to stdout)
    due = (since + timedelta(hours=1)).isoformat()
    assert re.search(rf"Keeping the failed workload .* is due at {re.escape(due)}, "
                     r"in (1h|59m(\d+s)?);", text), text
    assert "ErrImagePull" in text or "ImagePullBackOff" in text


def test_workload_that_recovered_while_waiting_is_kept(cluster: Any) -> None:
    doc = spec_doc("recovers", BAD, "1h")
    deploy_and_wait(doc, until="failed")
    op = DeleteInferenceOperator(task_id="cleanup", spec=doc, profile=PROFILE,
                                 when="auto_deletion")
    with pytest.raises(TaskDeferred):
        op.execute({})
    deploy_and_wait(spec_doc("recovers", GOOD, "1h"), until="ready")  # fixed meanwhile
    summary = op.resume({}, event={"moment": "due"})
    assert summary["deleted"] == [] and "is ready" in summary["skipped"]
    assert len(live(cluster, rendered(doc))) == 4


def test_healthy_workload_is_kept_by_auto_deletion(cluster: Any) -> None:
    doc = spec_doc("healthy", GOOD, "0s")  # any failure would be due at once
    deploy_and_wait(doc, until="ready")
    op = DeleteInferenceOperator(task_id="cleanup", spec=doc, profile=PROFILE,
                                 when="auto_deletion")
    summary = op.execute({})
    assert summary["deleted"] == [] and summary["absent"] == []
    assert summary["skipped"] == "Service team-a/healthy is ready (Ready), not failed: kept"
    assert len(live(cluster, rendered(doc))) == 4
