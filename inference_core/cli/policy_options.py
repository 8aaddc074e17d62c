"""The ``--policy`` and ``--assets`` options every spec-reading command shares.

Commands pass them with ``--profile`` to ``inference_core.policy.load_effective_specs`` (or
``load_effective_located``), so a spec means the same thing in ``validate``, ``render``,
``explain``, ``preflight`` and ``deploy``. Importing this module costs only typer.
"""

from __future__ import annotations

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
