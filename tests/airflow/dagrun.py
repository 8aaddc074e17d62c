"""Run a DAG once in this process with ``dag.test()`` and collect what happened.

Used by the demo (``scripts/demo_airflow.py``) and the end-to-end tests: task
states, return values (XCom ``return_value``), each task's duration, the error each
failed task raised, and the run's state. States and return values are read back from the
metadata database after the run; errors and timings are caught as they happen by a
task-instance listener (``dag.test()`` runs every task in this process): the database
keeps no error, and a deferred task's start date restarts when it resumes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    if not os.environ.get("AIRFLOW__CORE__FERNET_KEY"):
        from cryptography.fernet import Fernet

        # A throw-away home gets a throw-away key: nothing is stored unencrypted.
        os.environ["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()


def migrate_db() -> None:
    """Create the metadata tables (``airflow db migrate`` / reset, in-process)."""
    from airflow.utils import db

    db.resetdb(skip_init=False)


def use_kubeconfig(kubeconfig_path: str, conn_id: str = "kubernetes_default") -> None:
    """Define the Kubernetes connection through its environment variable."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": kubeconfig_path}})


@dataclass(frozen=True)
class TaskFailure:
    """The error a task attempt ended with.

    ``error_type`` is the exception's class name; ``reason`` the Kubernetes reason when
    the error carries one (``WorkloadFailed.reason``: ImagePullBackOff, CrashLoopBackOff,
    Unschedulable...; ``KubeApiError.reason``); ``message`` the error's text.
    """

    error_type: str
    message: str
    reason: str | None = None

    def __str__(self) -> str:
        head = self.reason or self.error_type
        return f"{head}: {self.message}" if self.message else head

    @classmethod
    def of(cls, error: BaseException | str | None) -> TaskFailure:
        """From what the listener is given (an exception, a string or nothing)."""
        if error is None:
            return cls("Unknown", "")
        if isinstance(error, str):
            return cls("Error", error)
        reason = getattr(error, "reason", None)
        return cls(type(error).__name__, str(error), str(reason) if reason else None)


@dataclass
class RunResult:
    """Outcome of one DAG run: its state, each task's state, return value, duration, error."""

    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str] = field(default_factory=dict)
    returns: dict[str, Any] = field(default_factory=dict)
    #: seconds from each task's first start to its end, deferrals included
    durations: dict[str, float] = field(default_factory=dict)
    #: the error each failed task ended with
    errors: dict[str, TaskFailure] = field(default_factory=dict)
    #: how often each task's code started (2 for a task that deferred and resumed once)
    task_runs: dict[str, int] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """True when the run ended in ``success``."""
        return self.state == "success"


@dataclass
class TaskLog:
    """What a listener saw of the tasks run in this process: errors and timings."""

    errors: dict[str, TaskFailure] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)

    def elapsed(self) -> dict[str, float]:
        """Seconds from each task's first start to its end (deferrals included)."""
        return {t: self.ended[t] - self.started[t] for t in self.ended if t in self.started}


def _listener(seen: TaskLog) -> Any:
    """A task-instance listener filling ``seen``."""
    from airflow.listeners import hookimpl  # imported late: the environment is set first

    def _end(task_instance: Any) -> None:
        seen.ended[str(task_instance.task_id)] = time.monotonic()

    class TaskListener:
        @hookimpl
        def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
            task_id = str(task_instance.task_id)
            seen.started.setdefault(task_id, time.monotonic())
            seen.runs[task_id] = seen.runs.get(task_id, 0) + 1

        @hookimpl
        def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
            _end(task_instance)

        @hookimpl
        def on_task_instance_failed(self, previous_state: Any, task_instance: Any,
                                    error: BaseException | str | None) -> None:
            seen.errors[str(task_instance.task_id)] = TaskFailure.of(error)
            _end(task_instance)

    return TaskListener()


@contextmanager
def watch_tasks() -> Iterator[TaskLog]:
    """Record errors and timings of the tasks that run in this process meanwhile."""
    from airflow.sdk.listener import get_listener_manager

    seen = TaskLog()
    listener = _listener(seen)
    manager = get_listener_manager()
    manager.add_listener(listener)
    try:
        yield seen
    finally:
        manager.pm.unregister(listener)


def load_dag(dags_folder: Path, dag_id: str) -> Any:
    """Parse ``dags_folder`` and return one DAG (raises KeyError naming the known ones)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dags_folder))
    if dag_id not in bag.dags:
        raise KeyError(f"DAG {dag_id!r} not in {dags_folder} (found {sorted(bag.dags)}; "
                       f"import errors: {bag.import_errors})")
    return bag.dags[dag_id]


def run_dag(dag: Any, conf: dict[str, Any] | None = None) -> RunResult:
    """``dag.test(run_conf=conf)`` and read back states, return values, durations, errors."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with watch_tasks() as seen:
        dr = dag.test(run_conf=conf or {})
    result = RunResult(dag.dag_id, dr.run_id, str(getattr(dr.state, "value", dr.state)))
    with create_session() as session:
        for ti in dr.get_task_instances(session=session):
            result.task_states[ti.task_id] = str(getattr(ti.state, "value", ti.state))
        query = XComModel.get_many(run_id=dr.run_id, dag_ids=dag.dag_id, key="return_value")
        for row in session.scalars(query):
            result.returns[row.task_id] = XComModel.deserialize_value(row)
    result.durations = seen.elapsed()
    result.task_runs = dict(seen.runs)
    result.errors = {task_id: failure for task_id, failure in seen.errors.items()
                     if result.task_states.get(task_id) in ("failed", "up_for_retry")}
    return result
