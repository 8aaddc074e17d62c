"""Airflow for real, in-process: a private AIRFLOW_HOME, a SQLite metadata DB migrated once
per session, a DAGs folder holding the example DAGs and the end-to-end test DAGs, and a
``kubernetes_default`` connection pointing at a sandbox API server.

The environment is set when this module is imported, before anything imports airflow
(Airflow reads its configuration once, at import).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E_DAGS = Path(__file__).resolve().parent / "e2e_dags"

_HOME = Path(tempfile.mkdtemp(prefix="infstack-airflow-"))
_DAGS = _HOME / "dags"
_DAGS.mkdir()
os.environ.update({
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(_DAGS),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
})
for source in [*sorted((REPO / "dags").glob("*.py")), *sorted(E2E_DAGS.glob("*.py"))]:
    (_DAGS / source.name).symlink_to(source)


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[float]:
    """Migrate the metadata DB once per test session; yields the seconds it took."""
    from airflow.utils import db

    start = time.perf_counter()
    db.resetdb(skip_init=False)
    took = time.perf_counter() - start
    yield took
    shutil.rmtree(_HOME, ignore_errors=True)


def connection_env(kubeconfig_path: str) -> str:
    """``AIRFLOW_CONN_KUBERNETES_DEFAULT`` value for a sandbox kubeconfig."""
    return json.dumps({"conn_type": "kubernetes",
                       "extra": {"kube_config_path": kubeconfig_path}})


@pytest.fixture
def kube_conn(sandbox, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The sandbox, reachable through Airflow's ``kubernetes_default`` connection."""
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sandbox.kubeconfig_path))
    return sandbox


from inference_sandbox.hub.pytest_plugin import hub  # noqa: E402, F401  (the Hub emulator)
