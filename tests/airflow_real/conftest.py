"""Fixtures of the real-Airflow tier: ``airflow_cluster`` (PostgreSQL + scheduler,
dag-processor, api-server and two triggerers as separate processes) wired to a sandbox API
server (``kube``) through the ``kubernetes_default`` connection in every process's
environment. Session-scoped: booting takes minutes on a loaded machine."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_real.cluster import AirflowCluster, Postgres, new_home, postgres_bin
from tests.helpers import require_real

DAGS = sorted((Path(__file__).resolve().parent / "dags").glob("*.py"))
#: Namespaces the tests deploy into (the API server serves only existing namespaces).
NAMESPACES = ("real-a", "real-b", "real-c", "real-d", "real-e", "real-f", "real-g")


def _airflow_found() -> bool:
    return shutil.which("airflow", path=str(Path(sys.executable).parent)) is not None


@pytest.fixture(scope="session")
def kube() -> Iterator[Any]:
    """A sandbox API server at 5 simulated seconds per real second with fast image pulls
    (1 s pull, 1 s back-off): a bad image is judged failed about a second after its pod
    starts, so a task that defers right after its apply sees its trigger fire within
    about two seconds (the scheduler race's zone); healthy pods take seconds, as real ones."""
    from inference_sandbox.config import SandboxConfig, Timings
    from inference_sandbox.sandbox import Sandbox

    timings = Timings(image_pull=1.0, image_pull_backoff=1.0)
    sb = Sandbox(SandboxConfig(speed=5.0, namespaces=NAMESPACES, timings=timings)).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="session")
def airflow_cluster(kube: Any) -> Iterator[AirflowCluster]:
    """PostgreSQL + Airflow 3 processes on a temporary AIRFLOW_HOME, booted once."""
    bindir = postgres_bin()
    require_real("postgresql (scripts/setup.d/30-postgres.sh)", bindir)
    require_real("airflow", _airflow_found())
    assert bindir is not None
    home = new_home()
    db = Postgres(bindir, home / "pg").start()
    cluster = AirflowCluster(home, db, DAGS, kubeconfig=str(kube.kubeconfig_path))
    try:
        cluster.boot(triggerers=2)
        yield cluster
    finally:
        cluster.stop()
        db.stop()
        keep = Path(os.environ.get("INFSTACK_ARTIFACTS", tempfile.gettempdir())) / \
            "airflow-real-logs"
        shutil.rmtree(keep, ignore_errors=True)
        for part in ("logs", "process-logs"):  # kept for post-mortems
            if (home / part).exists():
                shutil.copytree(home / part, keep / part, dirs_exist_ok=True)
        shutil.rmtree(home, ignore_errors=True)
