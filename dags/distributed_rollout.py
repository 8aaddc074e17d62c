"""Distributed inference (LeaderWorkerSet): deploy, then roll a new image group by group.

The rolling update waits until every group runs the new template at the new generation.
If it does not within the initialization timeout, the task fails with the kubelet's or
scheduler's reason and (``rollback_on_failure=True``) rolls back to the last good tuple
recorded in the workload's history; the run then ends failed (``rollout_succeeded``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_provider.operators.delete import DeleteInferenceOperator
from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator

SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "DistributedInference",
    "metadata": {"name": "ranker", "project": "team-c"},
    "spec": {
        "leader": {"image": "{{ params.image }}", "compute": {"gpuDevices": 1}},
        "workers": {"count": 1, "image": "{{ params.image }}", "compute": {"gpuDevices": 1}},
        "replicas": 2,
        "rollout": {"maxSurge": 0, "maxUnavailable": 1},
        "general": {"initializationTimeout": "5m"},
    },
}


@dag(
    dag_id="distributed_rollout",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["inference-stacks", "example"],
    params={"image": Param("registry.example.com/acme/ranker:2.0", type="string"),
            "new_image": Param("registry.example.com/acme/ranker:2.1", type="string"),
            "cleanup": Param(False, type="boolean")},
    doc_md=__doc__,
)
def distributed_rollout() -> None:
    deploy = DeployInferenceOperator(task_id="deploy", spec=SPEC, preflight=False,
                                     create_namespace=True)
    roll = RollingUpdateInferenceOperator(
        task_id="rolling_update",
        spec=SPEC,
        changes={"leader": {"image": "{{ params.new_image }}"},
                 "workers": {"image": "{{ params.new_image }}"}},
        rollback_on_failure=True,
    )
    deploy >> roll
    cleanup = DeleteInferenceOperator(task_id="cleanup", spec=SPEC, trigger_rule="all_done",
                                      when="{{ 'now' if params.cleanup else 'auto_deletion' }}")
    roll >> cleanup

    @task(task_id="rollout_succeeded")
    def rollout_succeeded(summary: dict[str, Any]) -> dict[str, Any]:
        """A leaf that needs the update: the run ends failed when the update failed (the
        ``all_done`` clean-up alone would let a failed rollout end green)."""
        return summary

    rollout_succeeded(roll.output)


distributed_rollout()
