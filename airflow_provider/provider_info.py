"""Provider metadata returned through the ``apache_airflow_provider`` entry point.

Airflow reads this at start-up to list our hooks, operators, sensors, triggers,
connection types and extra links. It must stay import-cheap: no Airflow imports here.
"""

from __future__ import annotations

from typing import Any

PROVIDER_VERSION = "0.1.0"  # keep in step with airflow_provider.__version__


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's ProvidersManager."""
    return {
        "package-name": "inference-stacks",
        "name": "Inference Stacks",
        "description": "Deploy and promote GPU inference services (Knative, vLLM, "
        "LeaderWorkerSet) from Airflow pipelines.",
        "versions": [PROVIDER_VERSION],
        "integrations": [
            {
                "integration-name": "Inference Stacks",
                "external-doc-url": "https://github.com/inference-stacks/inference-stacks",
                "how-to-guide": [],
                "tags": ["software"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Inference Stacks",
                "python-modules": [
                    "airflow_provider.hooks.inference",
                    "airflow_provider.hooks.async_inference",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "Inference Stacks",
                "python-modules": [
                    "airflow_provider.operators.deploy",
                    "airflow_provider.operators.rolling_update",
                    "airflow_provider.operators.traffic",
                    "airflow_provider.operators.delete",
                    "airflow_provider.operators.smoke",
                    "airflow_provider.operators.canary",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Inference Stacks",
                "python-modules": ["airflow_provider.sensors.ready"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Inference Stacks",
                "python-modules": ["airflow_provider.triggers.readiness"],
            }
        ],
        "extra-links": ["airflow_provider.links.InferenceEndpointLink"],
    }
