"""What every inference operator shares: connection parameters and "check, then wait".

Subclasses implement ``_finish(context, event, **kwargs)`` to turn the readiness event
into their summary (or their error). The wait checks once synchronously; only when the
workload is still progressing does it defer (``deferrable=True``, the default) or run
the same trigger inline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider.defaults import DEFAULT_FIELD_MANAGER, DEFAULT_REQUEST_TIMEOUT_S
from airflow_provider.operators import lifecycle
from airflow_provider.operators.lifecycle import ServingRef

if TYPE_CHECKING:
    from airflow_provider.hooks.inference import InferenceHook



RESUME_KEYS = ("workload_kind", "generation", "previous_revision")
"""Resume values small and plain enough to travel in the trigger's event (not ``previous``,
the whole manifest a rollback re-applies: that stays in the defer kwargs only)."""


class InferenceBaseOperator(BaseOperator):
    """Connection and waiting parameters common to the inference operators.

    :param kubernetes_conn_id: cncf-kubernetes connection (default ``kubernetes_default``).
    :param cluster_context: kubeconfig context override.
    :param config_file: kubeconfig path override.
    :param in_cluster: in-cluster override.
    :param field_manager: server-side apply field manager (default ``inference-stacks``).
    :param request_timeout: client-side timeout of each API call, seconds.
    :param deferrable: wait in the triggerer (default) instead of in the worker.
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
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.field_manager = field_manager
        self.request_timeout = request_timeout
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> InferenceHook:
        """The sync hook (made on first use, never at DAG parse)."""
        from airflow_provider.hooks.inference import InferenceHook

        return InferenceHook(
            self.kubernetes_conn_id, cluster_context=self.cluster_context,
            config_file=self.config_file, in_cluster=self.in_cluster,
            field_manager=self.field_manager, request_timeout=self.request_timeout,
        )

    def wait_until_ready(
        self, context: Any, ref: ServingRef, *, timeout: float,
        expected_generation: int | None = None, expected_revision: str | None = None,
        finish_kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        """Check once; return ``_finish`` at once if terminal, else defer or wait inline."""
        kwargs = dict(finish_kwargs or {})
        r = lifecycle.check_once(self.hook, ref, expected_generation=expected_generation,
                                 expected_revision=expected_revision)
        if r.terminal:
            return self._finish(context, lifecycle.payload_of(r), **kwargs)
        self.log.info("%s %s/%s is %s (%s); waiting up to %ss", ref.kind, ref.namespace,
                      ref.name, r.state, r.reason, int(timeout))
        trigger = lifecycle.make_trigger(
            self.hook, ref, start_time=time.time(), timeout=timeout,
            expected_generation=expected_generation, expected_revision=expected_revision,
            resume={k: v for k, v in kwargs.items() if k in RESUME_KEYS},
        )
        if self.deferrable:
            self.defer(trigger=trigger, method_name="execute_complete", kwargs=kwargs,
                       timeout=timedelta(seconds=timeout + lifecycle.DEFER_SLACK_S))
        return self._finish(context, lifecycle.run_inline(trigger), **kwargs)

    def execute_complete(self, context: Any, event: dict[str, Any], **kwargs: Any) -> Any:
        """Resume after the trigger fired: summary on success, the event's error otherwise.

        The defer kwargs win; the values the trigger echoed fill in when they are missing
        (``dag.test()`` in Airflow 3.3 resumes with the event alone)."""
        return self._finish(context, event, **{**(event.get("resume") or {}), **kwargs})

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        r = lifecycle.raise_for_event(event)
        return lifecycle.summarize(r, workload_kind=kwargs.get("workload_kind"))
