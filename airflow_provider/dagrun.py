"""Run a DAG once in this process with ``dag.test()`` and collect what happened.

Used by the demo (``python -m airflow_provider.demo``) and the end-to-end tests: task
states, return values (XCom ``return_value``) and the run's state, read back from the
metadata database after the run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def prepare_airflow_home(home: Path, dags_folder: Path) -> None:
    """Point Airflow at ``home`` (SQLite DB) and ``dags_folder``; call before importing airflow."""
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    })


def migrate_db() -> None:
    """Create the metadata tables (``airflow db migrate`` / reset, in-process)."""
    from airflow.utils import db

    db.resetdb(skip_init=False)


def use_kubeconfig(kubeconfig_path: str, conn_id: str = "kubernetes_default") -> None:
    """Define the Kubernetes connection through its environment variable."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": kubeconfig_path}})


@dataclass
class RunResult:
    """Outcome of one DAG run: its state, each task's state and return value."""

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    returns: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """True when the run ended in ``success``."""
        return self.state == "success"


def load_dag(dags_folder: Path, dag_id: str) -> Any:
    """Parse ``dags_folder`` and return one DAG (raises KeyError naming the known ones)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if dag_id not in bag.dags:
        raise KeyError(f"DAG {dag_id!r} not in {dags_folder} (found {sorted(bag.dags)}; "
                       f"import errors: {bag.import_errors})")
    return bag.dags[dag_id]


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> RunResult:
    """``dag.test(run_conf=conf)`` and read back states and return values."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dr = dag.test(run_conf=conf or {})
    result = RunResult(dag.dag_id, dr.run_id, str(getattr(dr.state, "value", dr.state)))
    with create_session() as session:
        for ti in dr.get_task_instances(session=session):
            result.task_states[ti.task_id] = str(getattr(ti.state, "value", ti.state))
        query = XComModel.get_many(run_id=dr.run_id, dag_ids=dag.dag_id, key="return_value")
        for row in session.scalars(query):
            result.returns[row.task_id] = XComModel.deserialize_value(row)
    return result
