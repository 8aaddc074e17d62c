"""End-to-end test DAG: deploy a spec that loads assets, under the policies of its profile.

The profile (``examples/policies/cluster-profile.yaml``) lists the example policies and
assets; param ``gpus`` sets the spec's GPU count (the team-a policy allows at most 2).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider.operators.deploy import DeployInferenceOperator

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"
PROFILE = str(EXAMPLES / "cluster-profile.yaml")
SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "CustomInference",
    "metadata": {"name": "triton-policy", "project": "team-a"},
    "spec": {
        "environment": "triton-http",
        "compute": {"asset": "one-a100", "gpuDevices": "{{ params.gpus }}"},
        "storage": [{"asset": "triton-models"}],
    },
}

with DAG(
    dag_id="e2e_policies", schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
    tags=["inference-stacks", "e2e"],
    params={"gpus": Param(1, type="integer")},
    render_template_as_native_obj=True,
) as e2e_policies:
    DeployInferenceOperator(task_id="deploy", spec=SPEC, profile=PROFILE, preflight=False,
                            wait_for_ready=False, create_namespace=True)
