"""End-to-end test DAGs: apply a workload without waiting, then wait for it with the
deferrable ``InferenceReadySensor`` (under ``dag.test()`` its trigger runs inline).

``e2e_sensor`` waits up to a minute; ``e2e_sensor_timeout`` only one second. Both take
the workload's ``name`` and ``image`` as params (the sandbox's kubelet fails images
containing ``does-not-exist`` or ``crashloop`` and never readies ``never-ready``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.sensors.ready import InferenceReadySensor

NAMESPACE = "team-a"
SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "CustomInference",
    "metadata": {"name": "{{ params.name }}", "project": NAMESPACE},
    "spec": {"image": "{{ params.image }}", "endpoint": {"port": 8080},
             "general": {"initializationTimeout": "5m"}},
}


def sensor_dag(dag_id: str, sensor_timeout: float) -> DAG:
    """deploy (apply only) >> wait (the sensor, ``sensor_timeout`` seconds)."""
    with DAG(
        dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
        tags=["inference-stacks", "e2e"],
        params={"name": Param("sensed", type="string"),
                "image": Param("registry.example.com/acme/app:1", type="string")},
    ) as dag:
        deploy = DeployInferenceOperator(task_id="deploy", spec=SPEC, preflight=False,
                                         wait_for_ready=False, create_namespace=True)
        wait = InferenceReadySensor(task_id="wait", name="{{ params.name }}",
                                    namespace=NAMESPACE, workload_kind="CustomInference",
                                    timeout=sensor_timeout, check_window=0)
        deploy >> wait
    return dag


e2e_sensor = sensor_dag("e2e_sensor", 60)
e2e_sensor_timeout = sensor_dag("e2e_sensor_timeout", 1)
