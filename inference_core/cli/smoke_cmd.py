"""``infstack smoke NAME``: prove the candidate answers before it gets traffic.

Against the candidate's own URL (the Knative tag URL, the LWS leader Service): the official
``openai`` client lists the models and sends one deterministic completion (vLLM), or an HTTP
request / the gRPC health protocol (custom workloads). Exit codes: 0 passed, 1 failed (or bad
input), 4 cluster unreachable.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from inference_core.cli.rollout_cmds import Context, Kubeconfig, Namespace, Output, _Ctx, _run

ConnectTo = Annotated[str | None, typer.Option(
    "--connect-to", envvar="INFSTACK_CONNECT_TO",
    help="HOST:PORT to connect to instead of the URL's host (sends the URL's Host header), "
         "e.g. a port-forward or the sandbox's loopback ingress.")]


def register(app: typer.Typer) -> None:
    """Add ``smoke`` to ``app``."""

    @app.command()
    def smoke(
        name: Annotated[str, typer.Argument(help="Workload name.")],
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
        tag: Annotated[str, typer.Option(help="Traffic tag of the candidate; '' = the "
                                         "Service URL.")] = "candidate",
        url: Annotated[str | None, typer.Option(help="Test this URL instead of looking it "
                                                "up.")] = None,
        connect_to: ConnectTo = None,
        kind: Annotated[str | None, typer.Option(help="openai, http or grpc (default: openai "
                                                 "for vLLM, else http).")] = None,
        model: Annotated[str | None, typer.Option(help="Served model name (default: from "
                                                  "the workload).")] = None,
        prompt: Annotated[str, typer.Option()] = "The capital of France is",
        chat: Annotated[bool, typer.Option(help="Use /v1/chat/completions.")] = False,
        max_tokens: Annotated[int, typer.Option()] = 16,
        expect_contains: Annotated[str | None, typer.Option()] = None,
        expect_regex: Annotated[str | None, typer.Option()] = None,
        expect_json: Annotated[bool, typer.Option(help="The answer must be JSON.")] = False,
        method: Annotated[str, typer.Option(help="http kind: method.")] = "GET",
        path: Annotated[str, typer.Option(help="http kind: path.")] = "/health",
        body: Annotated[str | None, typer.Option(help="http kind: request body.")] = None,
        expect_status: Annotated[int, typer.Option(help="http kind.")] = 200,
        expect_body: Annotated[str | None, typer.Option(help="http kind: body must "
                                                        "contain.")] = None,
        latency_budget: Annotated[float, typer.Option(help="Seconds per request.")] = 10.0,
        attempts: Annotated[int, typer.Option()] = 3,
        retry_delay: Annotated[float, typer.Option(help="Seconds between attempts.")] = 2.0,
        timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 30.0,
    ) -> None:
        """Smoke-test a workload's candidate (or Service) URL."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> Any:
            from inference_core.smoke.checks import SmokeCheck
            from inference_core.smoke.runner import SmokeFailed, run_smoke
            from inference_core.smoke.target import served_model, smoke_url

            target, served = url, model
            if target is None or (served is None and kind in (None, "openai")):
                live = _live(ctx, name)
                target = target or smoke_url(live, tag or None)
                served = served or served_model(live)
            check = SmokeCheck(
                kind=kind or ("openai" if served else "http"), model=served, prompt=prompt,
                chat=chat, max_tokens=max_tokens, expect_contains=expect_contains,
                expect_regex=expect_regex, expect_json=expect_json, method=method, path=path,
                body=body, expect_status=expect_status, expect_body_contains=expect_body,
                latency_budget_s=latency_budget, attempts=attempts,
                retry_delay_s=retry_delay, timeout_s=timeout)
            try:
                report = run_smoke(target, check, connect_to=connect_to)
            except SmokeFailed as err:
                ctx.emit({"ok": False, **err.report.to_dict()}, "FAIL " + err.report.summary())
                raise typer.Exit(1) from err
            ctx.emit(report.to_dict(), "ok   " + report.summary())

        _run(ctx, go)


def _live(ctx: _Ctx, name: str) -> dict[str, Any]:
    from inference_core.errors import DeployError
    from inference_core.rollout.engine import find_serving

    _, live = find_serving(ctx.engine.client, name, ctx.namespace)
    if not live:
        raise DeployError(f"no Knative Service or LeaderWorkerSet named {name} in namespace "
                          f"{ctx.namespace}")
    return dict(live)
