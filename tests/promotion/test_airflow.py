"""SmokeTestOperator and CanaryOperator through ``dag.test()`` (Airflow in-process, SQLite)
against the sandbox, with the data plane serving the versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# first: it points Airflow at the test home and DB before anything imports airflow
from tests.airflow import conftest as airflow_conftest
from tests.airflow.conftest import airflow_db, connection_env  # noqa: F401
from tests.promotion.cluster import Bed

pytestmark = pytest.mark.usefixtures("airflow_db")
DAG_FILE = Path(__file__).resolve().parent / "dags" / "promotion_canary.py"


def run(bed: Bed, monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.airflow import dagrun

    # dag.test() runs the DAGs of the configured DAGs folder (the Airflow tests' one)
    dags = airflow_conftest._DAGS
    if not (dags / DAG_FILE.name).exists():
        (dags / DAG_FILE.name).symlink_to(DAG_FILE)
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       connection_env(bed.sandbox.kubeconfig_path))
    return dagrun.run_dag(dagrun.load_dag(dags, "promotion_canary"),
                          {"connect_to": bed.plane.connect_to,
                           "targets_file": str(bed.sd_file)})


def pair(bed: Bed, candidate_env: dict[str, str]) -> None:
    bed.deploy({"FAKE_TTFT_MS": "15"})
    bed.deploy({"FAKE_TTFT_MS": "15", **candidate_env}, candidate_tag="candidate")


def test_equal_candidate_smoked_and_promoted(bed: Bed,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pair(bed, {"MODEL_VERSION": "2"})
    result = run(bed, monkeypatch)
    assert result.state == "success", result.errors
    assert result.returns["smoke_test"]["ok"]
    record = result.returns["canary"]
    assert record["outcome"] == "promoted" and record["steps"][0]["verdict"] == "pass"
    assert bed.routed() == {"chat-00002": 100}


def test_slow_candidate_rolled_back_with_the_evidence(bed: Bed,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pair(bed, {"FAKE_TTFT_MS": "45"})
    result = run(bed, monkeypatch)
    assert result.state == "failed"
    assert result.task_states == {"smoke_test": "success", "canary": "failed"}
    failure = result.errors["canary"]
    assert failure.error_type == "CanaryFailed" and "ttft_p95_ratio" in failure.message
    assert bed.routed() == {"chat-00001": 100}


def test_wrong_answer_stops_at_the_smoke_test(bed: Bed,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pair(bed, {"FAKE_ANSWER": "I do not know."})
    result = run(bed, monkeypatch)
    assert result.task_states == {"smoke_test": "failed", "canary": "upstream_failed"}
    assert "does not contain 'Paris'" in result.errors["smoke_test"].message
    assert bed.routed() == {"chat-00001": 100}
