"""``infstack explain``: the effective spec, with where each value came from.

Also defines the ``--policy`` / ``--assets`` options every spec-reading command shares, so
they read the same everywhere. Heavy modules are imported only when the command runs.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

PolicyOpt = Annotated[list[Path] | None, typer.Option(
    "--policy", exists=True, readable=True,
    help="InferencePolicy file or directory (repeatable); added to the profile's policies.")]
AssetsOpt = Annotated[list[Path] | None, typer.Option(
    "--assets", exists=True, readable=True,
    help="Asset file or directory (Environment, ComputeResource, DataSource, Credential; "
         "repeatable); added to the profile's assets.")]


class ExplainFormat(StrEnum):
    """Output forms of ``infstack explain``."""

    YAML = "yaml"
    TABLE = "table"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add the ``explain`` command to the CLI."""

    @app.command()
    def explain(
        files: Annotated[list[Path], typer.Argument(
            help="Spec files (YAML, several documents allowed).", exists=True,
            dir_okay=False, readable=True)],
        profile: Annotated[str | None, typer.Option(
            "--profile", "-p", envvar="INFSTACK_PROFILE",
            help="Cluster profile: a built-in name (default, kai, runai) or a YAML file.")]
        = None,
        policy: PolicyOpt = None,
        assets: AssetsOpt = None,
        output: Annotated[ExplainFormat, typer.Option(
            "--output", "-o", help="yaml (values with # source comments), table or json.")]
        = ExplainFormat.YAML,
    ) -> None:
        """Print each effective spec with the source of every value: the spec, an asset, a
        policy default or lock, or a built-in/profile default."""
        from inference_core.errors import InferenceStacksError
        from inference_core.policy import explain as report
        from inference_core.policy import resolve_files

        try:
            results = resolve_files(files, profile, policy or (), assets or ())
        except InferenceStacksError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        if output == ExplainFormat.JSON:
            typer.echo(json.dumps(report.to_json(results), indent=2))
        elif output == ExplainFormat.TABLE:
            typer.echo(report.to_table(results), nl=False)
        else:
            typer.echo(report.to_yaml(results), nl=False)
