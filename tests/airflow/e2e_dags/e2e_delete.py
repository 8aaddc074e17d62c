"""End-to-end test DAG: deploy a workload with several objects, then delete it.

The spec renders four objects with the ``kai`` profile (a PVC, the Knative Service, an
Istio RequestAuthentication and AuthorizationPolicy). Params: ``name``, ``image``,
``after`` (``general.autoDeletionAfter``) and ``when`` (``now`` or ``auto_deletion``).
The delete task runs whatever the deploy did (``all_done``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider.operators.delete import DeleteInferenceOperator
from airflow_provider.operators.deploy import DeployInferenceOperator

PROFILE = "kai"
SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "CustomInference",
    "metadata": {"name": "{{ params.name }}", "project": "team-a"},
    "spec": {
        "image": "{{ params.image }}",
        "endpoint": {"port": 8080, "access": {"mode": "groups", "groups": ["ml-platform"]}},
        "storage": [{"name": "scratch", "path": "/scratch", "volume": {"size": "1Gi"}}],
        "general": {"initializationTimeout": "5m", "autoDeletionAfter": "{{ params.after }}"},
    },
}

with DAG(
    dag_id="e2e_delete", schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
    tags=["inference-stacks", "e2e"],
    params={"name": Param("doomed", type="string"),
            "image": Param("registry.example.com/acme/app:1", type="string"),
            "after": Param("1h", type="string"),
            "when": Param("now", enum=["now", "auto_deletion"])},
) as e2e_delete:
    deploy = DeployInferenceOperator(task_id="deploy", spec=SPEC, profile=PROFILE,
                                     preflight=False, create_namespace=True)
    delete = DeleteInferenceOperator(task_id="delete", spec=SPEC, profile=PROFILE,
                                     when="{{ params.when }}", trigger_rule="all_done")
    deploy >> delete
