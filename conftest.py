"""Root pytest configuration: fixtures from the test and demo infrastructure
(``sandbox``, ``sandbox_factory``: the local Kubernetes API server; ``hub``: the Hub emulator).

Airflow reads its configuration once, at import: give any test that imports it a private
``AIRFLOW_HOME`` (tests/airflow/conftest.py sets up the full metadata DB)."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="infstack-airflow-home-"))

pytest_plugins = ["inference_sandbox.pytest_plugin", "inference_sandbox.hub.pytest_plugin"]
