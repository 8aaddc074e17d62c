"""What every inference operator shares: connection parameters and "check, then wait".

Subclasses implement ``_finish(context, event, **kwargs)`` to turn the readiness event
into their summary (or their error). The wait first watches synchronously for a short,
bounded window (``check_window``, event-driven: the core's watch-based wait) and finishes
in the worker when the outcome is decided by then; only a workload still progressing
defers (``deferrable``) or is waited on in the worker to its deadline.

Why the window: in Airflow 3.3 the scheduler can fail a task whose trigger fires within a
few seconds of its deferral (a stale executor event, apache/airflow#66374, #67287,
#71580, #72716), so the fast outcomes (an image that cannot be pulled, a crash at start)
are decided before deferring, and the resume path is safe to run again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.defaults import DEFAULT_FIELD_MANAGER, DEFAULT_REQUEST_TIMEOUT_S
from airflow_provider.operators import lifecycle
from airflow_provider.operators.lifecycle import ServingRef

if TYPE_CHECKING:
    from airflow_provider.hooks.inference import InferenceHook

RESUME_KEYS = ("workload_kind", "generation", "previous_revision", "rollout_id")
"""Resume values small and plain enough to travel in the trigger's event."""

#: Seconds the operator watches before deferring (failures that fire this fast never defer).
DEFAULT_CHECK_WINDOW_S = 10.0
#: Time kept between the trigger's deadline and ``execution_timeout`` for the resume.
RESUME_MARGIN_S = 30.0


def default_deferrable() -> bool:
    """``[operators] default_deferrable`` (True when unset), as Airflow's operators do."""
    from airflow.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=True)


def rollout_id_of(context: Any) -> str:
    """``dag_id/run_id/task_id[/map_index]``: the same for every try of one task instance,
    so a retried task finds its own history entry and the same rollback target. Outside a
    task run (no ``ti`` in the context) a fresh id is made."""
    ti = (context or {}).get("ti")
    if ti is None:
        from inference_core.rollout.engine import new_rollout_id

        return new_rollout_id("airflow")
    rid = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}"
    map_index = getattr(ti, "map_index", -1)
    return f"{rid}/{map_index}" if map_index is not None and map_index >= 0 else rid


class InferenceBaseOperator(BaseOperator):
    """Connection and waiting parameters common to the inference operators.

    :param kubernetes_conn_id: cncf-kubernetes connection (default ``kubernetes_default``).
    :param cluster_context: kubeconfig context override.
    :param config_file: kubeconfig path override.
    :param in_cluster: in-cluster override.
    :param field_manager: server-side apply field manager (default ``inference-stacks``).
    :param request_timeout: client-side timeout of each API call, seconds.
    :param deferrable: wait in the triggerer; default ``[operators] default_deferrable``.
    :param check_window: seconds to watch in the worker before deferring (default 10;
        0 checks once). Outcomes decided within it finish without a deferral.

    ``execution_timeout`` also bounds the deferred wait: the trigger's deadline ends
    ``RESUME_MARGIN_S`` before it, so the task resumes (and rolls back) in time.
    ``on_kill`` stops the wait the task runs in the worker (its watches close); the applied
    objects and the rollout's history entry stay as they are: a kill is not a verdict, and
    a retry (same rollout id) resumes the same rollout.
    """

    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        kubernetes_conn_id: str = "kubernetes_default",
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        deferrable: bool | None = None,
        check_window: float = DEFAULT_CHECK_WINDOW_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.field_manager = field_manager
        self.request_timeout = request_timeout
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.check_window = check_window
        self._killed = False

    @cached_property
    def hook(self) -> InferenceHook:
        """The sync hook (made on first use, never at DAG parse)."""
        from airflow_provider.hooks.inference import InferenceHook

        return InferenceHook(
            self.kubernetes_conn_id, cluster_context=self.cluster_context,
            config_file=self.config_file, in_cluster=self.in_cluster,
            field_manager=self.field_manager, request_timeout=self.request_timeout,
        )

    def on_kill(self) -> None:
        """Stop the in-worker wait (its watch threads end with it); see the class doc."""
        self._killed = True
        self.log.warning("Task killed: the wait stops; the applied objects and the "
                         "rollout's history entry are left for the retry")

    # -- waiting -----------------------------------------------------------------------------

    def execution_budget(self, context: Any, now: float | None = None) -> float | None:
        """Seconds left of ``execution_timeout`` for this try (None when unset)."""
        limit = self.execution_timeout
        if limit is None:
            return None
        now = time.time() if now is None else now
        started = getattr(context.get("ti"), "start_date", None) if context else None
        begun = started.timestamp() if isinstance(started, datetime) else now
        return limit.total_seconds() - (now - begun)

    def wait_until_ready(
        self, context: Any, ref: ServingRef, *, timeout: float,
        expected_generation: int | None = None, expected_revision: str | None = None,
        finish_kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        """Watch for ``check_window`` s; finish at once if decided, else defer (or keep
        waiting in the worker when not deferrable)."""
        kwargs = dict(finish_kwargs or {})
        start = time.time()
        budget = self.execution_budget(context, start)
        if budget is not None:
            timeout = max(1.0, min(timeout, budget - RESUME_MARGIN_S))
        window = min(self.check_window, timeout) if self.deferrable else timeout
        event = lifecycle.wait_sync(self.hook, ref, timeout=window,
                                    expected_generation=expected_generation,
                                    expected_revision=expected_revision,
                                    stop=lambda: self._killed)
        if event["status"] != "timeout" or not self.deferrable:
            return self._finish(context, event, **kwargs)
        self.log.info("%s %s/%s is %s; deferring (up to %ss from %s)", ref.kind, ref.namespace,
                      ref.name, event.get("reason"), int(timeout),
                      datetime.fromtimestamp(start).isoformat(timespec="seconds"))
        trigger = lifecycle.make_trigger(
            self.hook, ref, start_time=start, timeout=timeout,
            expected_generation=expected_generation, expected_revision=expected_revision,
            resume={k: v for k, v in kwargs.items() if k in RESUME_KEYS},
        )
        defer_s = timeout + lifecycle.DEFER_SLACK_S
        if budget is not None:
            defer_s = max(1.0, min(defer_s, budget))
        self.defer(trigger=trigger, method_name="execute_complete", kwargs=kwargs,
                   timeout=timedelta(seconds=defer_s))

    def execute_complete(self, context: Any, event: dict[str, Any], **kwargs: Any) -> Any:
        """Resume after the trigger fired: summary on success, the event's error otherwise.
        Safe to run again (a retry after the scheduler failed a resumed try).

        The defer kwargs win; the values the trigger echoed fill in when they are missing
        (``dag.test()`` in Airflow 3.3 resumes with the event alone)."""
        return self._finish(context, event, **{**(event.get("resume") or {}), **kwargs})

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        r = lifecycle.raise_for_event(event)
        return lifecycle.summarize(r, workload_kind=kwargs.get("workload_kind"))
