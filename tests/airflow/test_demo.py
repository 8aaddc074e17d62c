"""``scripts/demo_airflow.py``: its main function in both modes, against the sandbox,
asserting what it prints (each step; on ``--fail`` the kubelet's reason and the rollback).

Airflow is already set up for the test session (conftest: home, metadata DB), so the
demo's own set-up steps (throw-away home, DB reset) are skipped here.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from tests.airflow import dagrun

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("demo_airflow", REPO / "scripts" /
                                               "demo_airflow.py")
assert _spec is not None and _spec.loader is not None
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

KSVC = ("serving.knative.dev/v1", "Service")


@pytest.fixture
def run_demo(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> Any:
    sb = sandbox_factory(namespaces=["default"])  # the DAG creates team-a itself
    monkeypatch.setattr(dagrun, "prepare_airflow_home", lambda home, dags: None)
    monkeypatch.setattr(dagrun, "migrate_db", lambda: None)
    # what main() sets in the environment is undone after the test
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", "")
    for key in demo.QUIET_LOGGING:
        monkeypatch.delenv(key, raising=False)

    def run(*args: str) -> tuple[int, list[str]]:
        capsys.readouterr()
        code = demo.main(["--kubeconfig", str(sb.kubeconfig_path), *args])
        out = capsys.readouterr().out
        report = out[out.index("== model_promotion"):]  # after Airflow's own log lines
        return code, [line.strip() for line in report.splitlines()]

    run.sandbox = sb  # type: ignore[attr-defined]
    return run


def test_happy_path_prints_every_step_and_the_final_url(run_demo: Any) -> None:
    code, lines = run_demo()
    assert code == 0, lines
    assert lines[0].startswith("== model_promotion (Airflow dag.test against ")
    assert lines[1:8] == [
        "deploy baseline: Service team-a/sentiment ready, revision sentiment-00001, "
        "url http://sentiment.team-a.example.com",
        "deploy candidate: revision sentiment-00002 ready; tag URLs "
        "{'candidate': 'http://candidate-sentiment.team-a.example.com'}",
        "smoke test: http://candidate-sentiment.team-a.example.com routes to sentiment-00002",
        "traffic_10: sentiment-00001 90%, sentiment-00002 10% (tag candidate)",
        "traffic_50: sentiment-00001 50%, sentiment-00002 50% (tag candidate)",
        "promote: sentiment-00002 100%",
        "final URL: http://sentiment.team-a.example.com (revision sentiment-00002)",
    ]
    assert re.fullmatch(r"run manual__\S+: success", lines[8])
    assert re.fullmatch(r"took \d+\.\ds", lines[9])
    assert not any("failed" in line or "rollback" in line for line in lines)


def test_fail_mode_prints_the_reason_and_the_rollback(run_demo: Any) -> None:
    code, lines = run_demo("--fail")
    assert code == 0, lines
    assert lines[1] == (f"candidate image {demo.BAD_IMAGE} (expected to fail and roll back)")
    assert lines[2].startswith("deploy baseline: Service team-a/sentiment ready, "
                               "revision sentiment-00001")
    failed = [line for line in lines if line.startswith("deploy_candidate failed: ")]
    assert len(failed) == 1, lines
    assert re.match(r'deploy_candidate failed: (ErrImagePull|ImagePullBackOff): '
                    r'Service team-a/sentiment: revision "sentiment-00002" failed: '
                    r'(ErrImagePull|ImagePullBackOff): ', failed[0]), failed[0]
    assert demo.BAD_IMAGE in failed[0]  # the kubelet's message names the image
    assert 'traffic stays on "sentiment-00001"' in failed[0]
    assert ("not run (an upstream task failed): smoke_test, traffic_10, traffic_50, "
            "promote, report") in lines
    assert ("rollback: all traffic back to sentiment-00001 (sentiment-00001 100%), "
            "url http://sentiment.team-a.example.com") in lines
    assert re.fullmatch(r"run manual__\S+: failed", lines[-2])
    assert not any(line.startswith(("deploy candidate:", "final URL", "promote:"))
                   for line in lines)
    live = run_demo.sandbox.store.get(KSVC, "team-a", "sentiment")
    assert [(t["revisionName"], t["percent"]) for t in live["spec"]["traffic"]] == [
        ("sentiment-00001", 100)]


def result(state: str, task_states: dict[str, str], errors: dict[str, Any] | None = None
           ) -> dagrun.RunResult:
    return dagrun.RunResult("model_promotion", "manual__x", state, task_states,
                            errors=errors or {})


def test_the_exit_code_checks_the_outcome_the_mode_promises() -> None:
    failure = {"deploy_candidate": dagrun.TaskFailure("WorkloadFailed", "...", "ErrImagePull")}
    rolled_back = {"deploy_candidate": "failed", "rollback": "success"}
    assert demo.unexpected_outcome(result("success", {}), fail=False) is None
    assert demo.unexpected_outcome(result("failed", rolled_back, failure), fail=True) is None
    assert demo.unexpected_outcome(result("failed", {}), fail=False) == "the run ended failed"
    assert "not failed" in str(demo.unexpected_outcome(result("success", {}), fail=True))
    # failed elsewhere (say the smoke test): not the demonstrated failure
    other = {"smoke_test": dagrun.TaskFailure("ValueError", "no tag URL")}
    assert "not at deploy_candidate" in str(
        demo.unexpected_outcome(result("failed", rolled_back, other), fail=True))
    no_rollback = {"deploy_candidate": "failed", "rollback": "failed"}
    assert "rollback is failed" in str(
        demo.unexpected_outcome(result("failed", no_rollback, failure), fail=True))
