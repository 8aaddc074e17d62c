"""Smoke test, then canary analysis of the tagged candidate of ``team-a/chat`` (test DAG)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider.operators.canary import CanaryOperator
from airflow_provider.operators.smoke import SmokeTestOperator

with DAG(dag_id="promotion_canary", schedule=None, start_date=datetime(2025, 1, 1),
         catchup=False, params={"connect_to": Param("", type="string"),
                                "targets_file": Param("", type="string")}) as dag:
    smoke = SmokeTestOperator(task_id="smoke_test", name="chat", namespace="team-a",
                              connect_to="{{ params.connect_to }}",
                              check={"expect_contains": "Paris", "attempts": 1})
    canary = CanaryOperator(task_id="canary", name="chat", namespace="team-a",
                            steps=[50, 100], bake_s=1, max_wait_s=20,
                            gates={"min_requests": 5},
                            targets_file="{{ params.targets_file }}", load_rps=200,
                            connect_to="{{ params.connect_to }}")
    smoke >> canary
