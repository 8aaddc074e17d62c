"""Rollout commands of ``infstack``: deploy, status, wait, diff, history, rollback, traffic,
delete — against any kubeconfig (``--kubeconfig``, ``--context``, ``-n``), ``-o json``.

Exit codes (docs/cli.md): 0 success; 1 invalid input, refusal (field conflict, no good
revision) or failed rollout; 2 usage; 3 readiness timeout; 4 cluster unreachable / API
error. Heavy modules (kubernetes, the engine, rendering) load inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inference_core.cli.policy_options import AssetsOpt, PolicyOpt

if TYPE_CHECKING:
    from inference_core.rollout.engine import Engine
    from inference_core.rollout.wait import Outcome, WaitProgress

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_API = 4

Kubeconfig = Annotated[str | None, typer.Option(
    "--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).")]
Context = Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")]
Namespace = Annotated[str | None, typer.Option(
    "--namespace", "-n", help="Namespace (default: the context's, else 'default').")]
Output = Annotated[str, typer.Option(
    "--output", "-o", help="Output format: text or json.")]
Timeout = Annotated[float | None, typer.Option(
    "--timeout", help="Seconds to wait (default: the spec's initialization timeout).")]
Force = Annotated[bool, typer.Option(
    "--force-conflicts", help="Take over fields another field manager owns.")]
RolloutId = Annotated[str | None, typer.Option(
    "--rollout-id", help="Idempotency key: a re-run with the same id resumes that rollout.")]
Profile = Annotated[str | None, typer.Option(
    "--profile", "-p", envvar="INFSTACK_PROFILE",
    help="Cluster profile: a built-in name (default, kai, runai) or a YAML file.")]


class _Ctx:
    """Client, engine and output settings of one command."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None,
                 output: str) -> None:
        if output not in ("text", "json"):
            raise typer.BadParameter(f"unknown output {output!r} (allowed: text, json)",
                                     param_hint="'--output' / '-o'")
        self.kubeconfig, self.context, self.output = kubeconfig, context, output
        self._namespace = namespace
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        from inference_core.rollout.client import KubernetesClient
        from inference_core.rollout.engine import Engine

        if self._engine is None:
            client = KubernetesClient.from_kubeconfig(self.kubeconfig, context=self.context)
            self._engine = Engine(client)
        return self._engine

    @property
    def namespace(self) -> str:
        if self._namespace:
            return self._namespace
        return getattr(self.engine.client, "namespace", None) or "default"

    def emit(self, data: Any, text: str) -> None:
        if self.output == "json":
            typer.echo(json.dumps(data, indent=2, default=str))
        else:
            typer.echo(text)

    def progress(self) -> Any:
        return _LiveStatus()


class _LiveStatus:
    """A status line on stderr while waiting: phase, ready pods, last reason."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.status: Any = None
        self.last_line = ""

    def __enter__(self) -> _LiveStatus:
        if self.console.is_terminal:
            self.status = self.console.status("waiting for the first read ...")
            self.status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)

    def __call__(self, progress: WaitProgress, outcome: Outcome) -> None:
        r = progress.last
        ready, total = progress.pods
        line = (f"{r.state if r else 'unknown'} · pods {ready}/{total} ready · "
                f"{r.reason if r else 'no answer yet'}")
        if progress.api_down_since is not None:
            line += " · API server unreachable"
        if self.status is not None:
            self.status.update(line)
        elif line != self.last_line:
            typer.echo(f"  {line}", err=True)
        self.last_line = line


def _run(ctx: _Ctx | None, fn: Any) -> Any:
    """Run ``fn``; translate errors to messages and exit codes."""
    from inference_core.errors import InferenceStacksError, KubeApiError, ReadinessTimeout

    try:
        return fn()
    except ReadinessTimeout as err:
        _error(ctx, err, EXIT_TIMEOUT)
    except KubeApiError as err:
        _error(ctx, err, EXIT_API if err.transient else EXIT_FAILED)
    except InferenceStacksError as err:
        _error(ctx, err, EXIT_FAILED)
    return None


def _error(ctx: _Ctx | None, err: Exception, code: int) -> None:
    typer.echo(f"error: {err}", err=True)
    for note in getattr(err, "__notes__", ()):
        typer.echo(f"  {note}", err=True)
    if ctx is not None and ctx.output == "json":
        typer.echo(json.dumps({"error": str(err), "type": type(err).__name__,
                               "exit_code": code}, indent=2))
    raise typer.Exit(code)


def _specs(file: Path, name: str | None, profile: Any = None,
           policy: list[Path] | None = None, assets: list[Path] | None = None) -> list[Any]:
    """The spec documents of ``file``, with the policies and assets of ``--policy``,
    ``--assets`` and the profile applied (``inference_core.policy``)."""
    from inference_core.rollout.inputs import resolve_spec_input, resolve_spec_inputs

    extra: dict[str, Any] = {"profile": profile, "policies": policy or (),
                             "assets": assets or ()}
    if name is not None:
        return [resolve_spec_input(file, name=name, field="file", **extra)]
    return resolve_spec_inputs(file, field="file", **extra)


def _check_namespace(ctx: _Ctx, manifest: dict[str, Any]) -> None:
    ns = manifest["metadata"].get("namespace")
    if ctx._namespace and ns and ctx._namespace != ns:
        raise typer.BadParameter(
            f"the spec deploys into namespace {ns!r} (its project through the profile), not "
            f"{ctx._namespace!r}; drop -n or change metadata.project / the profile",
            param_hint="'--namespace' / '-n'")


def _readiness_text(r: dict[str, Any] | None) -> str:
    if not r:
        return ""
    text = f"{r['state']} ({r['reason']}): {r['message']}"
    if r.get("url"):
        text += f"\n  url: {r['url']}"
    for t in r.get("traffic") or []:
        tag = f" tag={t['tag']}" if t.get("tag") else ""
        text += f"\n  traffic: {t['revision']} {t['percent']}%{tag}"
    return text


def register(app: typer.Typer) -> None:
    """Add the rollout commands to ``app``."""

    @app.command()
    def deploy(
        file: Annotated[Path, typer.Argument(help="Spec file (YAML).", exists=True,
                                             dir_okay=False, readable=True)],
        name: Annotated[str | None, typer.Option(
            "--name", help="Document of a multi-document file (default: all).")] = None,
        profile: Profile = None,
        policy: PolicyOpt = None,
        assets: AssetsOpt = None,
        wait: Annotated[bool, typer.Option("--wait", help="Wait until ready.")] = False,
        candidate_tag: Annotated[str | None, typer.Option(
            "--candidate-tag", help="Knative: keep traffic on the serving revision; reach "
            "the new one through this tag's URL (then `traffic --split/--promote`).")] = None,
        force_conflicts: Force = False,
        rollback_on_failure: Annotated[bool, typer.Option(
            "--rollback-on-failure", help="With --wait: roll back to the last good revision "
            "if the new one fails.")] = False,
        rollout_id: RolloutId = None,
        timeout: Timeout = None,
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Apply a spec (server-side apply, recorded in the rollout history)."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            from inference_core.profile import load_profile
            from inference_core.render import render, serving_object

            prof = load_profile(profile)
            specs = _specs(file, name, profile, policy, assets)
            for spec in specs:
                _check_namespace(ctx, serving_object(render(spec, prof)))
            results = []
            for spec in specs:
                with ctx.progress() as live:
                    res = ctx.engine.deploy(
                        spec, profile=prof, rollout_id=rollout_id, force=force_conflicts,
                        candidate_tag=candidate_tag, wait=wait, timeout_s=timeout,
                        rollback_on_failure=rollback_on_failure, on_update=live)
                results.append(res.to_dict())
                for note in res.notes:
                    typer.echo(f"note: {note}", err=True)
                entry = res.entry or {}
                if ctx.output == "text":
                    typer.echo(
                        f"applied {spec.kind} {res.namespace}/{res.name} (history revision "
                        f"{entry.get('revision')}, rollout {res.rollout_id})"
                        + (f"\n{_readiness_text(res.readiness)}" if res.readiness else ""))
            if ctx.output == "json":
                ctx.emit(results if len(results) != 1 else results[0], "")

        _run(ctx, go)

    @app.command()
    def status(
        name: Annotated[str, typer.Argument(help="Workload name.")],
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Readiness, traffic and the newest history entry of a workload."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            data = ctx.engine.status(name, ctx.namespace)
            latest = data.get("latest") or {}
            text = (f"{data['kind']} {ctx.namespace}/{name}: "
                    f"{_readiness_text(data['readiness'])}")
            if latest:
                text += (f"\n  history: revision {latest['revision']} {latest['action']} "
                         f"{latest['status']} image={latest.get('image')}")
            ctx.emit(data, text)

        _run(ctx, go)

    @app.command("wait")
    def wait_cmd(
        name: Annotated[str, typer.Argument(help="Workload name.")],
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds.")] = 600.0,
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Wait until the workload is ready at its current generation (or fails)."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            with ctx.progress() as live:
                r = ctx.engine.wait(name, ctx.namespace, timeout_s=timeout, on_update=live)
            ctx.emit(r.to_dict(), _readiness_text(r.to_dict()))

        _run(ctx, go)

    @app.command()
    def diff(
        file: Annotated[Path, typer.Argument(help="Spec file (YAML).", exists=True,
                                             dir_okay=False, readable=True)],
        name: Annotated[str | None, typer.Option("--name", help="Document to diff.")] = None,
        profile: Profile = None,
        policy: PolicyOpt = None,
        assets: AssetsOpt = None,
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Show what a deploy would change (server-side dry run against the live objects).

        Secret values are never shown, only their digests."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            from inference_core.cli.diffing import diff_objects
            from inference_core.profile import load_profile
            from inference_core.render import render

            prof = load_profile(profile)
            changes = []
            for spec in _specs(file, name, profile, policy, assets):
                manifests = render(spec, prof, include_secret_values=True)
                changes += diff_objects(ctx.engine.client, manifests)
            text = "\n".join(c["diff"] or f"= {c['object']} (no change)" for c in changes)
            ctx.emit(changes, text)

        _run(ctx, go)

    @app.command()
    def history(
        name: Annotated[str, typer.Argument(help="Workload name.")],
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """The recorded rollouts of a workload (newest last)."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            hist = ctx.engine.history(name, ctx.namespace)
            rows = [e.summary() for e in hist.entries]
            lines = [f"{'REV':>4}  {'ACTION':8}  {'STATUS':7}  {'KNATIVE REVISION':18}  "
                     f"{'IMAGE':40}  {'APPLIED':25}  ROLLOUT"]
            for e in hist.entries:
                back = f" (of {e.rollback_of})" if e.rollback_of else ""
                lines.append(f"{e.revision:>4}  {e.action:8}  {e.status.value:7}  "
                             f"{e.knative_revision or '-':18}  {(e.image or '-'):40}  "
                             f"{e.applied_at:25}  {e.rollout_id}{back}")
            if not rows:
                lines = [f"no recorded rollout of {name} in namespace {ctx.namespace}"]
            ctx.emit(rows, "\n".join(lines))

        _run(ctx, go)

    @app.command()
    def rollback(
        name: Annotated[str, typer.Argument(help="Workload name.")],
        to: Annotated[int | None, typer.Option(
            "--to", help="History revision to go back to (default: the last good one "
            "before the newest).")] = None,
        no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait.")] = False,
        force_conflicts: Force = False, rollout_id: RolloutId = None, timeout: Timeout = None,
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Go back to a recorded good revision (Knative: traffic back to its revision)."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            with ctx.progress() as live:
                res = ctx.engine.rollback(name, ctx.namespace, rollout_id=rollout_id, to=to,
                                          force=force_conflicts, wait=not no_wait,
                                          timeout_s=timeout, on_update=live)
            ctx.emit(res.to_dict(), "rolled back: " + "; ".join(res.notes)
                     + (f"\n{_readiness_text(res.readiness)}" if res.readiness else ""))

        _run(ctx, go)

    @app.command()
    def traffic(
        name: Annotated[str, typer.Argument(help="Workload name (Knative).")],
        split: Annotated[int | None, typer.Option(
            "--split", help="Percent of traffic to the candidate (0..100).")] = None,
        promote: Annotated[bool, typer.Option(
            "--promote", help="Send all traffic to the candidate.")] = False,
        tag: Annotated[str, typer.Option("--tag", help="The candidate's tag.")] = "candidate",
        no_wait: Annotated[bool, typer.Option("--no-wait", help="Do not wait.")] = False,
        force_conflicts: Force = False, rollout_id: RolloutId = None, timeout: Timeout = None,
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Split traffic between stable and candidate revisions, or promote the candidate."""
        if (split is None) == (not promote):
            raise typer.BadParameter("give exactly one of --split N or --promote",
                                     param_hint="'--split' / '--promote'")
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            with ctx.progress() as live:
                res = ctx.engine.traffic(name, ctx.namespace, split=split, promote=promote,
                                         tag=tag, rollout_id=rollout_id, force=force_conflicts,
                                         wait=not no_wait, timeout_s=timeout, on_update=live)
            ctx.emit(res.to_dict(), _readiness_text(res.readiness) or "traffic applied")

        _run(ctx, go)

    @app.command()
    def delete(
        target: Annotated[str, typer.Argument(help="Workload name, or a spec file.")],
        profile: Profile = None,
        timeout: Annotated[float, typer.Option(
            "--timeout", help="Seconds to wait until every object is gone.")] = 300.0,
        kubeconfig: Kubeconfig = None, context: Context = None, namespace: Namespace = None,
        output: Output = "text",
    ) -> None:
        """Delete every object of a workload and wait until they are gone.

        The token Secret is deleted by name and the history ConfigMap last."""
        ctx = _Ctx(kubeconfig, context, namespace, output)

        def go() -> None:
            from inference_core.render import render, serving_object

            results = []
            if Path(target).is_file():
                from inference_core.profile import load_profile

                prof = load_profile(profile)
                for spec in _specs(Path(target), None, profile):
                    manifests = render(spec, prof)
                    serving = serving_object(manifests)
                    _check_namespace(ctx, serving)
                    results.append(ctx.engine.delete(
                        serving["metadata"]["name"], serving["metadata"]["namespace"],
                        manifests=manifests, timeout_s=timeout))
            else:
                results.append(ctx.engine.delete(target, ctx.namespace, timeout_s=timeout))
            data = [r.to_dict() for r in results]
            text = "\n".join(f"deleted {', '.join(r.deleted) or 'nothing'}"
                             + (f"; already absent: {', '.join(r.absent)}" if r.absent else "")
                             for r in results)
            ctx.emit(data if len(data) != 1 else data[0], text)

        _run(ctx, go)

    _ = (deploy, status, wait_cmd, diff, history, rollback, traffic, delete)
