"""``infstack canary NAME``: walk the candidate's traffic steps, judge each on metrics, promote
or roll back.

Metrics come from Prometheus (``--prometheus URL``) or from a direct scrape of the targets
listed in a Prometheus file_sd file (``--targets-file``). ``--load-rps`` sends a bounded
loopback load through the Service URL during each bake. Exit codes: 0 promoted; 1 rolled back
(breach, no verdict, metrics unavailable) or bad input; 4 cluster unreachable. The decision
record is printed (``-o json``: the whole record).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from inference_core.cli.rollout_cmds import (
    Context,
    Kubeconfig,
    Namespace,
    Output,
    RolloutId,
    _Ctx,
    _run,
)
from inference_core.cli.smoke_cmd import ConnectTo


def register(app: typer.Typer) -> None:
    """Add ``canary`` to ``app``."""

    @app.command()
    def canary(
        name: Annotated[str, typer.Argument(help="Workload name: a Knative Service with a "
                                            "tagged candidate, or a LeaderWorkerSet whose "
                                            "candidate is staged with a partition.")],
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text", rollout_id: RolloutId = None,
        tag: Annotated[str, typer.Option(help="The candidate's traffic tag.")] = "candidate",
        steps: Annotated[str, typer.Option(help="Candidate percentages; 100 (promotion) is "
                                           "appended.")] = "10,25,50,100",
        bake: Annotated[float, typer.Option(help="Seconds per step.")] = 30.0,
        max_wait: Annotated[float, typer.Option(help="Longest a step waits for enough "
                                                "requests (seconds).")] = 120.0,
        prometheus: Annotated[str | None, typer.Option(
            envvar="INFSTACK_PROMETHEUS_URL", help="Prometheus base URL.")] = None,
        selector: Annotated[str | None, typer.Option(
            help="PromQL label matchers of one version (template with {namespace}, "
                 "{service}, {revision}).")] = None,
        targets_file: Annotated[Path | None, typer.Option(
            help="file_sd JSON listing the versions' /metrics (direct scrape).")] = None,
        min_requests: Annotated[int, typer.Option()] = 20,
        max_error_rate: Annotated[float, typer.Option()] = 0.05,
        max_ttft_ratio: Annotated[float, typer.Option()] = 1.5,
        max_e2e_ratio: Annotated[float, typer.Option()] = 1.5,
        max_kv_cache: Annotated[float | None, typer.Option()] = None,
        load_rps: Annotated[float, typer.Option(help="Loopback load during each bake "
                                                "(0 = none).")] = 0.0,
        connect_to: ConnectTo = None,
        timeout: Annotated[float, typer.Option(help="Seconds for each traffic "
                                               "change.")] = 120.0,
    ) -> None:
        """Metric-gated progressive rollout of a candidate; rolls back on a breach."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> Any:
            from inference_core.analysis.canary import (
                CanaryConfig,
                describe_step,
                parse_steps,
                run_canary,
            )
            from inference_core.analysis.errors import CanaryFailed
            from inference_core.analysis.gates import Thresholds
            from inference_core.analysis.traffic import traffic_for

            provider = _provider(prometheus, selector, targets_file)
            config = CanaryConfig(
                steps=parse_steps(steps), bake_s=bake, max_wait_s=max(max_wait, bake),
                thresholds=Thresholds(min_requests=min_requests,
                                      max_error_rate=max_error_rate,
                                      max_ttft_p95_ratio=max_ttft_ratio,
                                      max_e2e_p95_ratio=max_e2e_ratio,
                                      max_kv_cache_usage=max_kv_cache))
            traffic = traffic_for(ctx.engine, name, ctx.namespace, tag=tag,
                                  rollout_id=rollout_id, timeout_s=timeout)
            bake_fn = _bake(ctx, name, load_rps, connect_to)
            text = ctx.output == "text"
            if text:
                typer.echo(f"canary {ctx.namespace}/{name}: stable {traffic.stable.revision}, "
                           f"candidate {traffic.candidate.revision}, metrics from "
                           f"{provider.name}")

            def on_step(step: Any) -> None:
                if text:
                    typer.echo("  " + describe_step(step))

            try:
                record = run_canary(traffic, provider, config, bake=bake_fn, on_step=on_step)
            except CanaryFailed as err:
                ctx.emit({"error": str(err), "reason": err.reason, "record": err.record},
                         f"ROLLED BACK ({err.reason}): {err}")
                raise typer.Exit(1) from err
            ctx.emit(record.to_dict(), f"promoted {record.candidate}: " + ", ".join(
                f"{rev} {pct}%" for rev, pct in record.traffic.items()))

        _run(ctx, go)


def _provider(prometheus: str | None, selector: str | None, targets_file: Path | None) -> Any:
    from inference_core.analysis.prometheus import DEFAULT_SELECTOR, PrometheusProvider
    from inference_core.analysis.scrape import DirectScrapeProvider, file_sd_targets

    if bool(prometheus) == bool(targets_file):
        raise typer.BadParameter("give exactly one of --prometheus URL or --targets-file "
                                 "FILE", param_hint="'--prometheus' / '--targets-file'")
    if prometheus:
        return PrometheusProvider(prometheus, selector=selector or DEFAULT_SELECTOR)
    assert targets_file is not None
    return DirectScrapeProvider(file_sd_targets(targets_file))


def _bake(ctx: _Ctx, name: str, load_rps: float, connect_to: str | None) -> Any:
    import time

    if load_rps <= 0:
        return None
    from inference_core.analysis.load import LoadGenerator
    from inference_core.rollout.engine import find_serving
    from inference_core.smoke.target import served_model, smoke_url

    _, live = find_serving(ctx.engine.client, name, ctx.namespace)
    if live is None:
        return None
    load = LoadGenerator(smoke_url(live, None), model=served_model(live) or name,
                         connect_to=connect_to, rate=load_rps,
                         max_requests=int(load_rps * 3600))

    def bake(seconds: float, percent: int) -> None:
        started = time.monotonic()
        load.run(seconds)
        rest = seconds - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)

    return bake
