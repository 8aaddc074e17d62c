"""Metric-gated progressive rollout (canary analysis). Import from the modules:

- ``providers`` — ``VersionRef``, the ``MetricsProvider`` protocol, metric names.
- ``prometheus`` — ``PrometheusProvider`` (PromQL over HTTP; the production default).
- ``scrape`` — ``DirectScrapeProvider`` and ``file_sd_targets`` (the embedded default).
- ``gates`` — ``Thresholds``, ``evaluate`` (pass / fail / insufficient, with every check).
- ``canary`` — ``CanaryConfig``, ``run_canary`` (steps, bake, rollback), ``DecisionRecord``.
- ``traffic`` — ``TrafficControl`` protocol, ``KnativeTraffic`` over the rollout engine.
- ``load`` — ``LoadGenerator`` (bounded, loopback only).

Nothing here imports Airflow, Pulumi or the sandbox.
"""

from __future__ import annotations
