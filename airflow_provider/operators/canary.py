"""``CanaryOperator``: the metric-gated progressive rollout of a candidate (a tagged Knative
revision, or a LeaderWorkerSet staged with a partition).

A thin adapter over ``inference_core.analysis``: walks the traffic steps through the rollout
engine, judges each window on the metrics provider (Prometheus, or a direct scrape of the
targets in a file_sd file), promotes, or rolls back and fails with the evidence. The decision
record is the return value (XCom) on success, the XCom ``decision_record`` on failure, and
one log line per window either way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator


class CanaryOperator(BaseOperator):
    """Canary analysis with automatic rollback.

    :param name: Knative Service or LeaderWorkerSet name (templated).
    :param namespace: its namespace (templated).
    :param tag: the candidate's traffic tag (templated).
    :param steps: candidate percentages, ending at 100 (the promotion).
    :param bake_s: seconds per step; ``max_wait_s``: longest a step waits for enough requests.
    :param gates: ``inference_core.analysis.gates.Thresholds`` fields (templated).
    :param prometheus_url: Prometheus base URL (templated); or
    :param targets_file: a file_sd JSON of the versions' ``/metrics`` (direct scrape).
    :param prometheus_selector: label matchers of one version (``{namespace}``,
        ``{service}``, ``{revision}``).
    :param load_rps: bounded loopback load through the Service URL during each bake (0: none);
        ``connect_to``: where that load (and nothing else) connects.
    :param rollout_id: the candidate's rollout id (the rollback targets the good revision
        recorded before it); default: the newest recorded rollout.
    :param step_timeout_s: seconds for each traffic change to be routed.
    """

    template_fields: Sequence[str] = ("name", "namespace", "tag", "gates", "prometheus_url",
                                      "targets_file", "connect_to", "rollout_id")

    def __init__(self, *, name: str, namespace: str, tag: str = "candidate",
                 steps: Sequence[int] = (10, 25, 50, 100), bake_s: float = 30.0,
                 max_wait_s: float = 120.0, gates: Mapping[str, Any] | None = None,
                 prometheus_url: str | None = None, prometheus_selector: str | None = None,
                 targets_file: str | None = None, load_rps: float = 0.0,
                 connect_to: str | None = None, rollout_id: str | None = None,
                 step_timeout_s: float = 120.0,
                 kubernetes_conn_id: str = "kubernetes_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.namespace = namespace
        self.tag = tag
        self.steps = list(steps)
        self.bake_s = bake_s
        self.max_wait_s = max_wait_s
        self.gates = dict(gates or {})
        self.prometheus_url = prometheus_url
        self.prometheus_selector = prometheus_selector
        self.targets_file = targets_file
        self.load_rps = load_rps
        self.connect_to = connect_to
        self.rollout_id = rollout_id
        self.step_timeout_s = step_timeout_s
        self.kubernetes_conn_id = kubernetes_conn_id

    def _provider(self) -> Any:
        from inference_core.analysis.prometheus import DEFAULT_SELECTOR, PrometheusProvider
        from inference_core.analysis.scrape import DirectScrapeProvider, file_sd_targets
        from inference_core.errors import FieldIssue, SpecError

        if bool(self.prometheus_url) == bool(self.targets_file):
            raise SpecError([FieldIssue("prometheus_url", "needs exactly one metrics source",
                                        value={"prometheus_url": self.prometheus_url,
                                               "targets_file": self.targets_file},
                                        allowed="prometheus_url or targets_file")])
        if self.prometheus_url:
            return PrometheusProvider(self.prometheus_url,
                                      selector=self.prometheus_selector or DEFAULT_SELECTOR)
        return DirectScrapeProvider(file_sd_targets(str(self.targets_file)))

    def execute(self, context: Any) -> dict[str, Any]:
        """Validate, walk the steps, promote or roll back."""
        from airflow_provider.hooks.inference import InferenceHook
        from inference_core.analysis.canary import (
            CanaryConfig,
            describe_step,
            parse_steps,
            run_canary,
        )
        from inference_core.analysis.errors import CanaryFailed
        from inference_core.analysis.gates import Thresholds
        from inference_core.analysis.traffic import traffic_for
        from inference_core.rollout.engine import Engine

        config = CanaryConfig(steps=parse_steps(self.steps), bake_s=self.bake_s,
                              max_wait_s=self.max_wait_s,
                              thresholds=Thresholds.from_dict(self.gates))
        provider = self._provider()
        engine = Engine(InferenceHook(self.kubernetes_conn_id).client)
        traffic = traffic_for(engine, self.name, self.namespace, tag=self.tag,
                              rollout_id=self.rollout_id, timeout_s=self.step_timeout_s)
        self.log.info("canary %s/%s: stable %s, candidate %s, metrics from %s",
                      self.namespace, self.name, traffic.stable.revision,
                      traffic.candidate.revision, provider.name)
        try:
            record = run_canary(traffic, provider, config, bake=self._bake(traffic),
                                on_step=lambda s: self.log.info("canary %s", describe_step(s)))
        except CanaryFailed as err:
            ti = (context or {}).get("ti")
            if ti is not None:
                ti.xcom_push(key="decision_record", value=err.record)
            self.log.error("canary rolled back (%s): %s", err.reason, err)
            raise
        self.log.info("canary promoted %s: %s", record.candidate, record.traffic)
        return record.to_dict()

    def _bake(self, traffic: Any) -> Any:
        if self.load_rps <= 0:
            return None
        from inference_core.analysis.load import LoadGenerator
        from inference_core.rollout.engine import find_serving
        from inference_core.smoke.target import served_model, smoke_url

        _, live = find_serving(traffic.engine.client, self.name, self.namespace)
        if live is None:
            return None
        load = LoadGenerator(smoke_url(live, None), model=served_model(live) or self.name,
                             connect_to=self.connect_to or None, rate=self.load_rps,
                             max_requests=int(self.load_rps * 3600))

        def bake(seconds: float, percent: int) -> None:
            started = time.monotonic()
            load.run(seconds)
            rest = seconds - (time.monotonic() - started)
            if rest > 0:
                time.sleep(rest)

        return bake
