"""Model promotion: train → register → deploy a candidate → ready → smoke test → 10 % → 50 % →
100 %, or roll back.

The candidate is deployed next to the revision serving now (which keeps 100 % of the
traffic) and gets the tag ``candidate`` with its own URL. The smoke test checks the tag
URL; then traffic moves in steps. If the candidate fails (bad image, crash loop, not
ready in time) or any step fails, ``rollback`` sends all traffic back to the stable
revision and the run ends failed with the reason.

Run it: ``python scripts/demo_airflow.py --kubeconfig <path>`` (see docs/airflow.md), or
``airflow dags test model_promotion`` with a ``kubernetes_default`` connection.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, task

from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.traffic import ShiftTrafficOperator

NAME = "sentiment"
PROJECT = "team-a"


def workload_spec(image: str) -> dict[str, Any]:
    """The CustomInference spec of the served model (only the image changes per version)."""
    return {
        "apiVersion": "inference-stacks/v1alpha1",
        "kind": "CustomInference",
        "metadata": {"name": NAME, "project": PROJECT},
        "spec": {
            "image": image,
            "endpoint": {"protocol": "http", "port": 8080},
            "compute": {"cpu": {"request": "500m"}, "memory": {"request": "1GB"}},
            "replicas": {"min": 1, "max": 1},
            "general": {"initializationTimeout": "3m"},
        },
    }


@dag(
    dag_id="model_promotion",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["inference-stacks", "example"],
    params={
        "stable_image": Param("registry.example.com/acme/sentiment:1.0", type="string"),
        "candidate_image": Param("registry.example.com/acme/sentiment:1.1", type="string"),
        "smoke_test": Param("route", enum=["route", "http"],
                            description="route: check the tag routes to the candidate; "
                            "http: also GET the tag URL"),
    },
    doc_md=__doc__,
)
def model_promotion() -> None:
    @task
    def train(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Stand-in for training: returns the model version it produced."""
        return {"model_version": "1.1"}

    @task
    def register(trained: dict[str, Any], params: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
        """Stand-in for the model registry: returns the candidate's spec (an XCom)."""
        return workload_spec(str((params or {})["candidate_image"]))

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def needs_baseline() -> bool:
        """First run only: nothing serves yet, so deploy the stable version first."""
        from airflow_provider.hooks.inference import InferenceHook

        live = InferenceHook().get("serving.knative.dev/v1", "Service", NAME, PROJECT)
        return live is None

    baseline = DeployInferenceOperator(
        task_id="deploy_baseline",
        spec=workload_spec("{{ params.stable_image }}"),
        preflight=False,
        create_namespace=True,
    )
    registered = register(train())
    candidate = DeployInferenceOperator(
        task_id="deploy_candidate",
        spec=registered,  # the spec arrives as an XCom from the registry step
        candidate_tag="candidate",
        preflight=False,
        create_namespace=True,
        trigger_rule="none_failed",
    )

    @task
    def smoke_test(deployed: dict[str, Any], params: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        """Check the candidate through its tag URL before it gets any traffic."""
        from airflow_provider.hooks.inference import InferenceHook

        url = (deployed.get("tag_urls") or {}).get("candidate")
        if not url:
            raise ValueError(f"no 'candidate' tag URL in {json.dumps(deployed)}")
        live = InferenceHook().get("serving.knative.dev/v1", "Service", NAME, PROJECT) or {}
        routes = {t.get("tag"): t.get("revisionName")
                  for t in (live.get("status") or {}).get("traffic") or []}
        if routes.get("candidate") != deployed["revision"]:
            raise ValueError(f"tag 'candidate' routes to {routes.get('candidate')!r}, "
                             f"not to the candidate revision {deployed['revision']!r}")
        if (params or {}).get("smoke_test") == "http":
            with urllib.request.urlopen(url, timeout=10) as resp:
                if resp.status >= 400:
                    raise ValueError(f"GET {url} answered {resp.status}")
        return {"url": url, "revision": deployed["revision"]}

    steps = [
        ShiftTrafficOperator(task_id=f"traffic_{p}", name=NAME, namespace=PROJECT,
                             action="split", percent=p)
        for p in (10, 50)
    ]
    promote = ShiftTrafficOperator(task_id="promote", name=NAME, namespace=PROJECT,
                                   action="promote")
    rollback = ShiftTrafficOperator(task_id="rollback", name=NAME, namespace=PROJECT,
                                    action="rollback", trigger_rule="one_failed")

    @task
    def report(promoted: dict[str, Any]) -> dict[str, Any]:
        """The final endpoint and traffic (returned as the run's outcome)."""
        return {"url": promoted.get("url"), "revision": promoted.get("candidate"),
                "traffic": promoted.get("traffic")}

    gate = needs_baseline()
    registered >> gate >> baseline >> candidate
    smoked = smoke_test(candidate.output)
    smoked >> steps[0] >> steps[1] >> promote
    report(promote.output)
    [candidate, smoked, steps[0], steps[1], promote] >> rollback


model_promotion()
