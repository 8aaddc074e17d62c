"""Provider metadata returned through the ``apache_airflow_provider`` entry point.

Airflow reads this at start-up to list our hooks, operators, sensors, triggers,
connection types and extra links. It must stay import-cheap: no Airflow imports here.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's ProvidersManager."""
    return {
        "package-name": "inference-stacks",
        "name": "Inference Stacks",
        "description": "Deploy and promote GPU inference services (Knative, vLLM, "
        "LeaderWorkerSet) from Airflow pipelines.",
        "versions": ["0.1.0"],
    }
