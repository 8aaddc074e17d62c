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

from inference_core.errors import InferenceStacksError

app = typer.Typer(
    name="infstack",
    help="Deploy GPU inference services on Kubernetes from one spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Files = Annotated[list[Path], typer.Argument(help="Spec files (YAML, several documents allowed).",
                                             exists=True, dir_okay=False, readable=True)]
ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", "-p", envvar="INFSTACK_PROFILE",
    help="Cluster profile: a built-in name (default, kai, runai) or a YAML file.")]


def _fail(err: Exception) -> None:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(1)


def _load_all(files: list[Path]) -> list[Any]:
    from inference_core.errors import SpecError
    from inference_core.spec import load_specs

    specs: list[Any] = []
    issues: list[Any] = []
    for file in files:
        try:
            specs.extend(load_specs(file))
        except SpecError as err:
            issues.extend(err.issues)
    if issues:
        raise SpecError(issues)
    return specs


@app.command()
def validate(files: Files, profile: ProfileOpt = None) -> None:
    """Check specs (types, ranges, cross-field rules) and that the profile can run them."""
    from inference_core.profile import load_profile
    from inference_core.render import render

    try:
        prof = load_profile(profile)
        specs = _load_all(files)
        for spec in specs:
            render(spec, prof)
    except InferenceStacksError as err:
        _fail(err)
    for spec in specs:
        typer.echo(f"ok  {spec.kind} {prof.namespace_for(spec.metadata.project)}/"
                   f"{spec.metadata.name}")


@app.command("render")
def render_cmd(
    files: Files,
    profile: ProfileOpt = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", file_okay=False,
        help="Write one YAML file per object into this directory instead of stdout.")] = None,
) -> None:
    """Print the Kubernetes objects of each spec as multi-document YAML (secrets redacted)."""
    import yaml

    from inference_core.profile import load_profile
    from inference_core.render import render

    try:
        prof = load_profile(profile)
        objects = [obj for spec in _load_all(files) for obj in render(spec, prof)]
    except InferenceStacksError as err:
        _fail(err)
    if output is None:
        sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
        return
    output.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        meta = obj["metadata"]
        name = f"{meta.get('namespace', '_')}_{obj['kind'].lower()}_{meta['name']}.yaml"
        (output / name).write_text(yaml.safe_dump(obj, sort_keys=False), encoding="utf-8")
        typer.echo(str(output / name))


@app.command()
def schema() -> None:
    """Print the JSON Schema of a spec document (for editor completion)."""
    from inference_core.spec import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command()
def preflight(files: Files, profile: ProfileOpt = None) -> None:
    """Prove each Hugging Face model exists, the token grants access and it fits the GPUs."""
    from inference_core.preflight import preflight_spec
    from inference_core.profile import load_profile

    failed = False
    try:
        prof = load_profile(profile)
        specs = _load_all(files)
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


def main() -> None:
    """Entry point for ``python -m inference_core.cli``."""
    app()
