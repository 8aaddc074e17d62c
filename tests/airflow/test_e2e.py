"""End to end: Airflow (dag.test, SQLite metadata DB) against the local API server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.airflow import dagrun
from tests.airflow.conftest import connection_env

DAGS = Path(__file__).resolve().parents[2] / "dags"
KSVC = ("serving.knative.dev/v1", "Service")
LWS = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
TOKEN = "hf_valid_granted"  # the Hub emulator accepts it


@pytest.fixture
def cluster(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[Any]:
    sb = sandbox_factory(namespaces=["team-a", "team-c"])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    monkeypatch.setenv("AIRFLOW_CONN_HUGGINGFACE_DEFAULT",
                       json.dumps({"conn_type": "generic", "password": TOKEN}))
    yield sb


class FakeTI:
    """What the operators read from ``context["ti"]`` outside a task run."""

    dag_id, run_id, task_id, map_index = "e2e", "manual__1", "deploy", -1
    start_date = None


def history_entries(sb: Any, name: str) -> list[dict[str, Any]]:
    cm = sb.store.get(("v1", "ConfigMap"), "team-a", f"{name}-history")
    return list(json.loads(cm["data"]["history.json"])) if cm else []


def run(dag_id: str, conf: dict[str, Any] | None = None) -> dagrun.RunResult:
    return dagrun.run_dag(dagrun.load_dag(DAGS, dag_id), conf)


def test_promotion_pipeline_happy_path(cluster: Any) -> None:
    result = run("model_promotion")
    assert result.succeeded, result.task_states
    r = result.returns
    stable, cand = r["deploy_baseline"]["revision"], r["deploy_candidate"]["revision"]
    assert stable != cand and r["smoke_test"]["revision"] == cand
    assert [t["percent"] for t in r["traffic_10"]["traffic"]] == [90, 10]
    assert [t["percent"] for t in r["traffic_50"]["traffic"]] == [50, 50]
    assert r["report"]["url"] and result.task_states["rollback"] == "skipped"
    live = cluster.store.get(KSVC, "team-a", "sentiment")
    assert [(t["revisionName"], t["percent"]) for t in live["status"]["traffic"]
            if t["percent"]] == [(cand, 100)]


def test_bad_candidate_fails_fast_and_traffic_returns_to_stable(cluster: Any) -> None:
    assert run("model_promotion").succeeded
    stable = cluster.store.get(KSVC, "team-a", "sentiment")["status"]["latestReadyRevisionName"]
    result = run("model_promotion",
                 {"candidate_image": "registry.example.com/acme/sentiment:does-not-exist"})
    assert result.state == "failed"
    assert result.task_states["deploy_candidate"] == "failed"
    assert result.task_states["rollback"] == "success"
    live = cluster.store.get(KSVC, "team-a", "sentiment")
    assert [(t["revisionName"], t["percent"]) for t in live["spec"]["traffic"]] == [(stable, 100)]


def test_distributed_rollout(cluster: Any) -> None:
    result = run("distributed_rollout")
    assert result.succeeded, result.task_states
    assert result.returns["rolling_update"]["kind"] == "LeaderWorkerSet"
    lws = cluster.store.get(LWS, "team-c", "ranker")
    images = {c["image"] for c in lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]
              ["containers"]}
    assert images == {"registry.example.com/acme/ranker:2.1"}
    assert result.returns["cleanup"]["skipped"]  # healthy: auto-deletion leaves it alone
    assert result.state == "success" and result.task_states["rollout_succeeded"] == "success"


def test_distributed_rollout_ends_failed_when_its_rolling_update_fails(cluster: Any) -> None:
    result = run("distributed_rollout",
                 {"new_image": "registry.example.com/acme/ranker:does-not-exist"})
    assert result.task_states["deploy"] == "success"
    assert result.task_states["rolling_update"] == "failed"
    assert result.task_states["cleanup"] == "success"  # all_done: it still runs
    assert result.task_states["rollout_succeeded"] == "upstream_failed"
    assert result.state == "failed"
    assert "rolled back to history revision 1" in str(result.errors["rolling_update"])
    lws = cluster.store.get(LWS, "team-c", "ranker")
    images = {c["image"] for c in lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]
              ["containers"]}
    assert images == {"registry.example.com/acme/ranker:2.0"}  # the recorded good tuple


def test_huggingface_deploy_keeps_the_token_secret(cluster: Any, hub: Any,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    result = run("huggingface_deploy")
    assert result.succeeded, result.task_states
    out = capfd.readouterr()
    assert TOKEN not in out.out + out.err
    assert TOKEN not in json.dumps(result.returns)
    secrets = [s for s in cluster.store.list(("v1", "Secret"), "team-a")
               if "qwen" in s["metadata"]["name"]]
    assert secrets, "the token must reach the cluster inside a Secret"
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rendered = [json.dumps(r.rendered_fields, default=str)
                    for r in session.query(RenderedTaskInstanceFields).all()]
    assert rendered and all(TOKEN not in r for r in rendered)
    # Preflight pinned the model revision to the commit the Hub resolved.
    ksvc = next(o for o in cluster.store.list(KSVC, "team-a")
                if o["metadata"]["name"].startswith("qwen"))
    args = ksvc["spec"]["template"]["spec"]["containers"][0]["args"]
    sha = args[args.index("--revision") + 1]
    assert len(sha) == 40 and all(c in "0123456789abcdef" for c in sha)


def _deploy_op(**kw: Any) -> Any:
    from airflow_provider.operators.deploy import DeployInferenceOperator

    spec = {"apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
            "metadata": {"name": "faulty", "project": "team-a"},
            "spec": {"image": kw.pop("image", "acme/app:1"), "endpoint": {"port": 8080},
                     "general": {"initializationTimeout": "5m"}}}
    return DeployInferenceOperator(task_id="d", spec=spec, preflight=False, deferrable=False,
                                   **kw)


def test_retry_after_a_crash_creates_no_duplicates(cluster: Any) -> None:
    from inference_core.rollout import engine

    real = engine.execute

    def crash_after_apply(*a: Any, **k: Any) -> Any:
        real(*a, **k)
        raise RuntimeError("worker died")

    context = {"ti": FakeTI()}  # every try of one task instance: one rollout id
    with mock.patch.object(engine, "execute", crash_after_apply), \
            pytest.raises(RuntimeError):
        _deploy_op().execute(context)
    first = _deploy_op().execute(context)
    again = _deploy_op().execute(context)
    assert first["revision"] == again["revision"]
    revisions = cluster.store.list(("serving.knative.dev/v1", "Revision"), "team-a")
    assert len([r for r in revisions if r["metadata"]["name"].startswith("faulty-")]) == 1
    assert len(cluster.store.list(KSVC, "team-a")) == 1
    entries = history_entries(cluster, "faulty")
    assert [(e["action"], e["status"]) for e in entries] == [("deploy", "good")]


def test_update_that_never_gets_ready_leaves_traffic_on_old_revision(cluster: Any) -> None:
    from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator
    from inference_core.errors import RolloutFailed

    old = _deploy_op().execute({})["revision"]
    op = RollingUpdateInferenceOperator(
        task_id="u", spec=_deploy_op().spec, deferrable=False, timeout=3,
        changes={"image": "acme/app:never-ready"})
    with pytest.raises(RolloutFailed) as info:
        op.execute({})
    assert f'traffic stays on "{old}"' in str(info.value)
    live = cluster.store.get(KSVC, "team-a", "faulty")
    assert live["status"]["latestReadyRevisionName"] == old
    assert [t["revisionName"] for t in live["status"]["traffic"] if t["percent"]] == [old]
