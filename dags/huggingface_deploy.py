"""Deploy a Hugging Face model with vLLM on Knative, wait until it serves, then report.

The access token comes from the Airflow connection ``huggingface_default`` (its password)
when that connection exists — it is put into the spec at run time, so it never appears in
a template field, an XCom or a log line; the cluster gets it only inside a Secret. Without
such a connection, point ``spec.model.tokenSecret`` at an existing Secret instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.sensors.ready import InferenceReadySensor

SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "HuggingFaceInference",
    "metadata": {"name": "qwen-small", "project": "team-a"},
    "spec": {
        "model": {"id": "{{ params.model_id }}", "servedModelName": "qwen"},
        "vllm": {"maxModelLen": 4096},
        "compute": {"gpuDevices": 1, "largeShm": True},
        "endpoint": {"exposure": "cluster-local"},
        "general": {"initializationTimeout": "10m"},
    },
}


@dag(
    dag_id="huggingface_deploy",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["inference-stacks", "example"],
    params={"model_id": Param("Qwen/Qwen2.5-0.5B-Instruct", type="string"),
            "hf_conn_id": Param("huggingface_default", type="string")},
    doc_md=__doc__,
)
def huggingface_deploy() -> None:
    deploy = DeployInferenceOperator(
        task_id="deploy",
        spec=SPEC,
        hf_token_conn_id="huggingface_default",
        preflight=True,
        create_namespace=True,
    )
    # A second, independent readiness gate (e.g. for a workload deployed elsewhere).
    ready = InferenceReadySensor(task_id="ready", name="qwen-small", namespace="team-a",
                                 workload_kind="HuggingFaceInference", timeout=600)

    @task
    def announce(summary: dict[str, Any]) -> str:
        """The OpenAI-compatible base URL clients should use."""
        return f"{summary['url']}/v1"

    deploy >> ready
    announce(deploy.output)


huggingface_deploy()
