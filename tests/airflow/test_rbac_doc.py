"""The least-privilege Role in docs/airflow.md allows every request the provider makes.

The sandbox does not enforce RBAC, so the operators and the trigger run a whole rollout
against it (deploy, candidate, traffic split, failed update with rollback, a trigger wait,
delete) and every request it logged is checked against the Role's rules: group, resource
and verb. Secrets are never listed.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider.operators.delete import DeleteInferenceOperator
from airflow_provider.operators.deploy import DeployInferenceOperator
from airflow_provider.operators.rolling_update import RollingUpdateInferenceOperator
from airflow_provider.operators.traffic import ShiftTrafficOperator
from airflow_provider.triggers.readiness import InferenceReadyTrigger
from inference_core.errors import RolloutFailed

DOC = Path(__file__).resolve().parents[2] / "docs" / "airflow.md"
NS = "team-a"


def role_rules() -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) the documented Role allows."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- rbac-role -->\s*```yaml\n(.*?)```", text, re.S)
    assert block, "docs/airflow.md lost its Role block"
    role = yaml.safe_load(block.group(1))
    assert role["kind"] == "Role"
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}


class FakeTI:
    dag_id, run_id, map_index = "rbac", "manual__1", -1

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.start_date = datetime.now(UTC)


def spec(image: str) -> dict[str, Any]:
    return {"apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
            "metadata": {"name": "iris", "project": NS},
            "spec": {"image": image, "endpoint": {"port": 8080},
                     "general": {"initializationTimeout": "2m"}}}


def group_of(path: str) -> str:
    parts = path.split("/")
    return "" if parts[1] == "api" else parts[2]


@pytest.fixture
def sb(sandbox_factory: Any) -> Any:
    return sandbox_factory(namespaces=[NS])


def test_every_request_of_a_rollout_is_allowed_by_the_documented_role(sb: Any) -> None:
    common = {"config_file": str(sb.kubeconfig_path), "deferrable": False}
    DeployInferenceOperator(task_id="deploy", spec=spec("ghcr.io/acme/iris:1"),
                            preflight=False, **common).execute({"ti": FakeTI("deploy")})
    DeployInferenceOperator(task_id="candidate", spec=spec("ghcr.io/acme/iris:2"),
                            candidate_tag="candidate", preflight=False,
                            **common).execute({"ti": FakeTI("candidate")})
    ShiftTrafficOperator(task_id="split", name="iris", namespace=NS, action="split",
                         percent=10, **common).execute({"ti": FakeTI("split")})
    with pytest.raises(RolloutFailed, match="rolled back"):
        RollingUpdateInferenceOperator(
            task_id="update", spec=spec("ghcr.io/acme/iris:2"),
            changes={"image": "ghcr.io/acme/iris:does-not-exist"}, preflight=False,
            rollback_on_failure=True, **common).execute({"ti": FakeTI("update")})
    trigger = InferenceReadyTrigger(api_version="serving.knative.dev/v1", kind="Service",
                                    name="iris", namespace=NS, start_time=time.time(),
                                    timeout=60, config_file=str(sb.kubeconfig_path))

    async def first() -> dict[str, Any]:
        return dict((await anext(trigger.run())).payload)

    assert asyncio.run(first())["status"] in ("ready", "failed")
    summary = DeleteInferenceOperator(task_id="delete", name="iris", namespace=NS,
                                      **common).execute({"ti": FakeTI("delete")})
    assert f"Service {NS}/iris" in summary["deleted"]

    allowed = role_rules()
    used = {(group_of(r.path), r.resource, r.verb) for r in sb.requests if r.resource}
    assert used, "no request was logged"
    assert used - allowed == set(), f"requests the Role does not allow: {used - allowed}"
    assert ("", "secrets", "list") not in used
    # every rule earns its place for the kinds this rollout touches
    for needed in [("serving.knative.dev", "services", "patch"), ("", "configmaps", "patch"),
                   ("", "pods", "watch"), ("", "events", "list"),
                   ("serving.knative.dev", "services", "delete")]:
        assert needed in used, needed
