"""``infstack``: validate, render, preflight and inspect inference specs.

Exit codes: 0 success, 1 invalid input (spec, profile, preflight refusal), 2 usage error.
Errors go to stderr; rendered YAML to stdout. Start-up stays fast: nothing here imports
Pulumi or Airflow, and heavy modules are imported by the command that needs them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from inference_core.cli.policy_options import AssetsOpt, PolicyOpt
from inference_core.errors import InferenceStacksError

app = typer.Typer(
    name="infstack",
    help="Deploy GPU inference services on Kubernetes from one spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: Rich's help renderer alone costs more start-up time than
    # everything else (``docs/benchmarks.md``, CLI start-up).
    rich_markup_mode=None,
)

Files = Annotated[list[Path], typer.Argument(help="Spec files (YAML, several documents allowed).",
                                             exists=True, dir_okay=False, readable=True)]


def _profile_ref(value: str | None) -> str | None:
    """Refuse an unknown built-in profile name as a usage error, with the closest name."""
    if value is None or value.endswith((".yaml", ".yml")) or Path(value).exists():
        return value
    import difflib

    from inference_core.profile import builtin_profiles

    names = builtin_profiles()
    if value in names:
        return value
    close = difflib.get_close_matches(value, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (built-in: {', '.join(names)})"
    raise typer.BadParameter(f"unknown profile {value!r}{hint}")


ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", "-p", envvar="INFSTACK_PROFILE", callback=_profile_ref,
    help="Cluster profile: a built-in name (default, kai, runai) or a YAML file.")]


def _fail(err: Exception) -> None:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(1)


def _load_all(files: list[Path], profile: Any = None, policy: list[Path] | None = None,
              assets: list[Path] | None = None) -> list[Any]:
    return [spec for _, _, spec in _load_located(files, profile, policy, assets)]


def _load_located(files: list[Path], profile: Any = None, policy: list[Path] | None = None,
                  assets: list[Path] | None = None) -> list[tuple[str, int, Any]]:
    """(file, document index, spec) of every document, with the assets it loads and the
    policies that apply (``--policy``/``--assets`` and the profile's lists); every problem of
    every file at once (``SpecError``)."""
    from inference_core.policy import load_effective_located

    return load_effective_located(files, profile, policy or (), assets or ())


def _render_all(files: list[Path], prof: Any, profile: str | None = None,
                policy: list[Path] | None = None, assets: list[Path] | None = None,
                ) -> list[tuple[Any, list[dict[str, Any]]]]:
    """(spec, manifests) of every document; every profile refusal of every document at once
    (``ProfileRefusals``, each naming its file and document)."""
    from inference_core.errors import ProfileRefusals
    from inference_core.render import try_render

    located = _load_located(files, profile if profile is not None else prof, policy, assets)
    rendered: list[tuple[Any, list[dict[str, Any]]]] = []
    issues: list[Any] = []
    errors: list[Any] = []
    for source, index, spec in located:
        manifests, found = try_render(spec, prof)
        errors.extend(found)
        issues.extend(e.issue(document=index, source=source) for e in found)
        rendered.append((spec, manifests))
    if errors:
        raise ProfileRefusals(issues, errors, prof.name)
    return rendered


@app.command()
def validate(files: Files, profile: ProfileOpt = None, policy: PolicyOpt = None,
             assets: AssetsOpt = None) -> None:
    """Check specs (types, ranges, cross-field rules) and that the profile can run them."""
    from inference_core.profile import load_profile

    try:
        prof = load_profile(profile)
        specs = [spec for spec, _ in _render_all(files, prof, profile, policy, assets)]
    except InferenceStacksError as err:
        _fail(err)
    for spec in specs:
        typer.echo(f"ok  {spec.kind} {prof.namespace_for(spec.metadata.project)}/"
                   f"{spec.metadata.name}")


@app.command("render")
def render_cmd(
    files: Files,
    profile: ProfileOpt = None,
    policy: PolicyOpt = None,
    assets: AssetsOpt = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", file_okay=False,
        help="Write one YAML file per object into this directory instead of stdout.")] = None,
) -> None:
    """Print the Kubernetes objects of each spec as multi-document YAML (secrets redacted)."""
    import yaml

    from inference_core.profile import load_profile
    from inference_core.spec.yamlio import ManifestDumper

    try:
        prof = load_profile(profile)
        objects = [obj for _, manifests in _render_all(files, prof, profile, policy, assets)
                   for obj in manifests]
    except InferenceStacksError as err:
        _fail(err)
    if output is None:
        sys.stdout.write(yaml.dump_all(objects, Dumper=ManifestDumper, sort_keys=False))
        return
    output.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        meta = obj["metadata"]
        name = f"{meta.get('namespace', '_')}_{obj['kind'].lower()}_{meta['name']}.yaml"
        (output / name).write_text(yaml.dump(obj, Dumper=ManifestDumper, sort_keys=False),
                                   encoding="utf-8")
        typer.echo(str(output / name))


@app.command()
def schema() -> None:
    """Print the JSON Schema of a spec document (for editor completion)."""
    from inference_core.spec import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def preflight(files: Files, profile: ProfileOpt = None, policy: PolicyOpt = None,
              assets: AssetsOpt = None) -> None:
    """Prove each Hugging Face model exists, the token grants access and it fits the GPUs."""
    from inference_core.preflight import preflight_spec
    from inference_core.profile import load_profile

    failed = False
    try:
        prof = load_profile(profile)
        specs = _load_all(files, profile, policy, assets)
    except InferenceStacksError as err:
        _fail(err)
    for spec in specs:
        try:
            report = preflight_spec(spec, prof)
        except InferenceStacksError as err:
            failed = True
            typer.echo(f"FAIL {spec.kind} {spec.metadata.name}: {err}", err=True)
            continue
        typer.echo(f"ok   {spec.kind} {spec.metadata.name}: {report.summary()}")
    if failed:
        raise typer.Exit(1)


def _add_rollout_commands() -> None:
    """deploy, status, wait, diff, history, rollback, traffic, delete (rollout_cmds.py)."""
    from inference_core.cli.rollout_cmds import register

    register(app)


_add_rollout_commands()


def _add_explain_command() -> None:
    """explain (explain_cmd.py)."""
    from inference_core.cli.explain_cmd import register

    register(app)


_add_explain_command()


def _add_promotion_commands() -> None:
    """smoke, canary (smoke_cmd.py, canary_cmd.py)."""
    from inference_core.cli import canary_cmd, smoke_cmd

    smoke_cmd.register(app)
    canary_cmd.register(app)


_add_promotion_commands()


def main() -> None:
    """Entry point for ``python -m inference_core.cli``."""
    app()
