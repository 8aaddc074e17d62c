"""End-to-end test DAGs for the capacity preflight of deploys and rolling updates on a
cluster scheduled by KAI (profile ``kai``: pods go to the project's queue).

- ``e2e_capacity_lws_deploy``: a DistributedInference (LeaderWorkerSet, 2 replicas of a
  leader and a worker with one GPU each) whose rollout surges one replica
  (``maxSurge: 1, maxUnavailable: 0``);
- ``e2e_capacity_lws_update`` / ``e2e_capacity_lws_update_dip``: its rolling update to
  ``params.new_image`` with the default preflight, and with ``allow_capacity_dip=True``;
- ``e2e_capacity_knative_deploy`` / ``e2e_capacity_knative_update`` /
  ``e2e_capacity_knative_update_dip``: the same for a one-GPU CustomInference (Knative).

Params: ``image``, ``new_image``. Project (namespace and queue) ``capacity``. Nothing here
touches the network at import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator

PROJECT = "capacity"
PROFILE = "kai"
GPU = {"gpuDevices": 1}
LWS_SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "DistributedInference",
    "metadata": {"name": "ranker", "project": PROJECT},
    "spec": {
        "leader": {"image": "{{ params.image }}", "compute": GPU},
        "workers": {"count": 1, "image": "{{ params.image }}", "compute": GPU},
        "replicas": 2,
        "rollout": {"maxSurge": 1, "maxUnavailable": 0},
        "general": {"initializationTimeout": "2m"},
    },
}
KNATIVE_SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1",
    "kind": "CustomInference",
    "metadata": {"name": "solo", "project": PROJECT},
    "spec": {
        "image": "{{ params.image }}",
        "endpoint": {"port": 8080},
        "compute": GPU,
        "general": {"initializationTimeout": "2m"},
    },
}
NEW_IMAGE = "{{ params.new_image }}"
CHANGES: dict[str, dict[str, Any]] = {
    "lws": {"leader": {"image": NEW_IMAGE}, "workers": {"image": NEW_IMAGE}},
    "knative": {"image": NEW_IMAGE},
}
PARAMS = {
    "image": Param("registry.example.com/acme/ranker:1", type="string"),
    "new_image": Param("registry.example.com/acme/ranker:2", type="string"),
}


def _dag(dag_id: str) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2025, 1, 1), catchup=False,
               tags=["inference-stacks", "e2e"], params=PARAMS, doc_md=__doc__)


for _kind, _spec in (("lws", LWS_SPEC), ("knative", KNATIVE_SPEC)):
    with _dag(f"e2e_capacity_{_kind}_deploy"):
        DeployInferenceOperator(task_id="deploy", spec=_spec, profile=PROFILE)
    for _suffix, _dip in (("", False), ("_dip", True)):
        _extra: dict[str, Any] = {"allow_capacity_dip": True} if _dip else {}
        with _dag(f"e2e_capacity_{_kind}_update{_suffix}"):
            RollingUpdateInferenceOperator(task_id="rolling_update", spec=_spec,
                                           changes=CHANGES[_kind], profile=PROFILE, **_extra)
