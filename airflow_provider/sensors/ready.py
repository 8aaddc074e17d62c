"""``InferenceReadySensor``: wait (deferrable, watch-based) until a workload serves."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator

from airflow_provider.links import InferenceEndpointLink
from airflow_provider.operators import lifecycle
from airflow_provider.operators.base import (
    DEFAULT_CHECK_WINDOW_S,
    RESUME_MARGIN_S,
    default_deferrable,
)
from airflow_provider.operators.lifecycle import ServingRef

if TYPE_CHECKING:
    from airflow_provider.hooks.inference import InferenceHook

#: Spec kind → serving object (apiVersion, kind).
SERVING_KINDS = {
    "CustomInference": ("serving.knative.dev/v1", "Service"),
    "HuggingFaceInference": ("serving.knative.dev/v1", "Service"),
    "DistributedInference": ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"),
}


class InferenceReadySensor(BaseSensorOperator):
    """Succeed when the workload is ready; fail fast with the reason when it has failed.

    :param name: workload name (templated).
    :param namespace: namespace (templated).
    :param workload_kind: ``CustomInference``, ``HuggingFaceInference`` or
        ``DistributedInference`` (templated).
    :param expected_generation: wait for this generation (default: the current one).
    :param expected_revision: Knative: wait for this revision (default: latest created).
    :param deferrable: wait in the triggerer; otherwise poke. Default
        ``[operators] default_deferrable``.
    :param kubernetes_conn_id: cncf-kubernetes connection id.
    :param check_window: seconds to watch in the worker before deferring (default 10; 0
        reads once). Outcomes decided within it finish without a deferral.

    ``timeout`` (seconds, BaseSensorOperator) bounds the wait from the first check.
    Returns the same summary as the deploy operator.
    """

    template_fields: Sequence[str] = ("name", "namespace", "workload_kind",
                                      "expected_revision")
    operator_extra_links = (InferenceEndpointLink(),)

    def __init__(
        self, *, name: str, namespace: str, workload_kind: str = "CustomInference",
        expected_generation: int | None = None, expected_revision: str | None = None,
        deferrable: bool | None = None, kubernetes_conn_id: str = "kubernetes_default",
        cluster_context: str | None = None, config_file: str | None = None,
        in_cluster: bool | None = None, check_window: float = DEFAULT_CHECK_WINDOW_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check_window = check_window
        self.name = name
        self.namespace = namespace
        self.workload_kind = workload_kind
        self.expected_generation = expected_generation
        self.expected_revision = expected_revision
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self._killed = False
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster

    @cached_property
    def hook(self) -> InferenceHook:
        """The sync hook (made on first use)."""
        from airflow_provider.hooks.inference import InferenceHook

        return InferenceHook(self.kubernetes_conn_id, cluster_context=self.cluster_context,
                             config_file=self.config_file, in_cluster=self.in_cluster)

    def _ref(self) -> ServingRef:
        if self.workload_kind not in SERVING_KINDS:
            raise lifecycle.usage_error("workload_kind", self.workload_kind,
                                        " | ".join(SERVING_KINDS))
        api_version, kind = SERVING_KINDS[self.workload_kind]
        return ServingRef(api_version, kind, self.namespace, self.name)

    def poke(self, context: Any) -> bool:
        """One synchronous check; raises on a terminal failure."""
        r = lifecycle.check_once(self.hook, self._ref(),
                                 expected_generation=self.expected_generation,
                                 expected_revision=self.expected_revision)
        if r.failed:
            lifecycle.raise_for_event(lifecycle.payload_of(r))
        return r.ready

    def execute(self, context: Any) -> Any:
        """Watch for a short window (failures and readiness that come this fast never
        defer: see ``operators/base.py``), then defer (or poke when not deferrable)."""
        ref = self._ref()
        timeout = float(self.timeout.total_seconds() if isinstance(self.timeout, timedelta)
                        else self.timeout)
        start = time.time()
        budget = None
        if self.execution_timeout is not None:
            started = getattr(context.get("ti"), "start_date", None) if context else None
            begun = started.timestamp() if started is not None else start
            budget = self.execution_timeout.total_seconds() - (start - begun)
            timeout = max(1.0, min(timeout, budget - RESUME_MARGIN_S))
        window = min(self.check_window, timeout) if self.deferrable else 0.0
        event = lifecycle.wait_sync(self.hook, ref, timeout=window,
                                    expected_generation=self.expected_generation,
                                    expected_revision=self.expected_revision,
                                    stop=lambda: self._killed)
        if event["status"] != "timeout":
            return self.execute_complete(context, event)
        if not self.deferrable:
            super().execute(context)
            return lifecycle.summarize(lifecycle.check_once(
                self.hook, ref, expected_generation=self.expected_generation,
                expected_revision=self.expected_revision))
        trigger = lifecycle.make_trigger(
            self.hook, ref, start_time=start, timeout=timeout,
            expected_generation=self.expected_generation,
            expected_revision=self.expected_revision,
        )
        defer_s = timeout + lifecycle.DEFER_SLACK_S
        if budget is not None:
            defer_s = max(1.0, min(defer_s, budget))
        self.defer(trigger=trigger, method_name="execute_complete",
                   timeout=timedelta(seconds=defer_s))

    def on_kill(self) -> None:
        """Stop the in-worker wait (its watches close with it)."""
        self._killed = True

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Summary when ready; the event's error otherwise. A timeout is Airflow's
        ``AirflowSensorTimeout`` (as for every sensor: the task fails without retries, and
        ``soft_fail`` skips it instead), carrying the last state seen."""
        from airflow.sdk.exceptions import AirflowSensorTimeout

        from inference_core.errors import ReadinessTimeout

        try:
            r = lifecycle.raise_for_event(event)
        except ReadinessTimeout as e:
            if self.soft_fail:
                from airflow.sdk.exceptions import AirflowSkipException

                raise AirflowSkipException(str(e)) from e
            raise AirflowSensorTimeout(str(e)) from e
        return lifecycle.summarize(r, workload_kind=self.workload_kind)
