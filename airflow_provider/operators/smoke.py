"""``SmokeTestOperator``: prove the candidate answers a real request before it gets traffic.

A thin adapter over ``inference_core.smoke``: finds the candidate's own URL (Knative tag URL,
LWS leader Service) and the served model from the live object, runs the check, returns the
report (XCom) or fails with every attempt's problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from inference_core.errors import DeployError


class SmokeTestOperator(BaseOperator):
    """Smoke-test a workload's candidate.

    :param name: workload name (templated).
    :param namespace: its namespace (templated).
    :param tag: the candidate's traffic tag (``None``: the Service URL) (templated).
    :param url: test this URL instead of looking it up (templated).
    :param check: ``inference_core.smoke.checks.SmokeCheck`` fields as a dict (templated):
        ``kind``, ``model`` (default: the served model name), ``prompt``,
        ``expect_contains``/``expect_regex``/``expect_json``, ``latency_budget_s``,
        ``attempts``, ``retry_delay_s``; ``method``/``path``/``expect_status`` for ``http``.
    :param connect_to: ``host:port`` to send the requests to (with the URL's Host), e.g. an
        ingress without DNS (templated).
    :param kubernetes_conn_id: the cncf-kubernetes connection.

    Returns the report: ``{"url", "kind", "ok", "attempts": [...]}``.
    """

    template_fields: Sequence[str] = ("name", "namespace", "tag", "url", "check", "connect_to")

    def __init__(self, *, name: str, namespace: str, tag: str | None = "candidate",
                 url: str | None = None, check: Mapping[str, Any] | None = None,
                 connect_to: str | None = None,
                 kubernetes_conn_id: str = "kubernetes_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.namespace = namespace
        self.tag = tag
        self.url = url
        self.check = dict(check or {})
        self.connect_to = connect_to
        self.kubernetes_conn_id = kubernetes_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        """Validate the check, find the URL, run it."""
        from inference_core.smoke.checks import SmokeCheck
        from inference_core.smoke.runner import SmokeFailed, run_smoke
        from inference_core.smoke.target import served_model, smoke_url

        settings = dict(self.check)
        url = self.url
        if url is None or ("model" not in settings and settings.get("kind", "openai") ==
                           "openai"):
            live = self._live()
            url = url or smoke_url(live, self.tag or None)
            model = served_model(live)
            settings.setdefault("kind", "openai" if model else "http")
            if settings["kind"] == "openai":
                settings.setdefault("model", model)
        check = SmokeCheck.from_dict(settings)
        try:
            report = run_smoke(url, check, connect_to=self.connect_to or None)
        except SmokeFailed as err:
            for n, attempt in enumerate(err.report.attempts, 1):
                self.log.error("smoke attempt %d: %s", n, attempt.problem)
            raise
        self.log.info("smoke test %s", report.summary())
        return report.to_dict()

    def _live(self) -> dict[str, Any]:
        from airflow_provider.hooks.inference import InferenceHook
        from inference_core.rollout.engine import find_serving

        hook = InferenceHook(self.kubernetes_conn_id)
        _, live = find_serving(hook.client, self.name, self.namespace)
        if not live:
            raise DeployError(f"no Knative Service or LeaderWorkerSet named {self.name} in "
                              f"namespace {self.namespace}")
        return dict(live)
