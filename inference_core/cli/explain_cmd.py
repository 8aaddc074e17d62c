"""``infstack explain``: the effective spec, with where each value came from.

Heavy modules are imported only when the command runs.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from inference_core.cli.policy_options import AssetsOpt, PolicyOpt


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
