"""DAGs the real-Airflow tier runs: a deploy, and a rolling update that rolls back on failure.

Every value comes from the run's conf (``params``), so each test uses its own workload.
Retries are on: a task that Airflow fails from outside (a worker killed, the scheduler's
stale-event race) runs again with the same rollout id and finds the same plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag

from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator

SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "CustomInference",
    "metadata": {"name": "{{ params.name }}", "project": "{{ params.namespace }}"},
    "spec": {
        "image": "{{ params.image }}",
        "endpoint": {"protocol": "http", "port": 8080},
        "replicas": {"min": 1, "max": 1},
        "general": {"initializationTimeout": "{{ params.timeout }}"},
    },
}
PARAMS = {
    "name": Param("app", type="string"),
    "namespace": Param("real-a", type="string"),
    "image": Param("registry.example.com/acme/app:1", type="string"),
    "new_image": Param("registry.example.com/acme/app:2", type="string"),
    "timeout": Param("3m", type="string"),
}
RETRIES = {"retries": 1, "retry_delay": timedelta(seconds=3)}


@dag(dag_id="real_deploy", schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
     params=PARAMS, max_active_runs=4)
def real_deploy() -> None:
    DeployInferenceOperator(task_id="deploy", spec=SPEC, preflight=False, **RETRIES)


@dag(dag_id="real_update", schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
     params=PARAMS, max_active_runs=4)
def real_update() -> None:
    RollingUpdateInferenceOperator(task_id="update", spec=SPEC,
                                   changes={"image": "{{ params.new_image }}"},
                                   rollback_on_failure=True, preflight=False, **RETRIES)


@dag(dag_id="real_update_fast_defer", schedule=None, start_date=datetime(2025, 1, 1),
     catchup=False, params=PARAMS, max_active_runs=4)
def real_update_fast_defer() -> None:
    """The update reads once and defers (``check_window=0``), so a failure a second or two
    after the apply fires within about two seconds of the deferral (the scheduler race's
    zone)."""
    RollingUpdateInferenceOperator(task_id="update", spec=SPEC,
                                   changes={"image": "{{ params.new_image }}"},
                                   rollback_on_failure=True, preflight=False, check_window=0,
                                   **RETRIES)


real_deploy()
real_update()
real_update_fast_defer()
