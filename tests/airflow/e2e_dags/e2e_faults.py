"""End-to-end test DAGs for API faults: deploy and roll a CustomInference with the
operators' defaults (deferrable: the readiness wait runs in the trigger).

One DAG per ``force`` setting, since ``force`` is a constructor argument (not templated):

- ``e2e_faults_deploy`` / ``e2e_faults_deploy_no_force``: ``DeployInferenceOperator``;
- ``e2e_faults_update`` / ``e2e_faults_update_no_force``: ``RollingUpdateInferenceOperator``
  changing the image to ``params.new_image``.

Params (``dag.test(run_conf=...)``): ``name``, ``image``, ``new_image``. The workload lives
in project (namespace) ``faults``. Nothing here touches the network at import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator

PROJECT = "faults"
SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "CustomInference",
    "metadata": {"name": "{{ params.name }}", "project": PROJECT},
    "spec": {
        "image": "{{ params.image }}",
        "endpoint": {"port": 8080},
        "general": {"initializationTimeout": "2m"},
    },
}
PARAMS = {
    "name": Param("faulty", type="string"),
    "image": Param("registry.example.com/acme/app:1", type="string"),
    "new_image": Param("registry.example.com/acme/app:2", type="string"),
}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
               tags=["inference-stacks", "e2e"], params=PARAMS, doc_md=__doc__)


for _suffix, _force in (("", True), ("_no_force", False)):
    # check_window=0: one read, then defer, so the faults meet the deferred wait
    _extra: dict[str, Any] = {"force": _force, "check_window": 0}
    with _dag(f"e2e_faults_deploy{_suffix}"):
        DeployInferenceOperator(task_id="deploy", spec=SPEC, **_extra)
    with _dag(f"e2e_faults_update{_suffix}"):
        RollingUpdateInferenceOperator(task_id="rolling_update", spec=SPEC,
                                       changes={"image": "{{ params.new_image }}"}, **_extra)
