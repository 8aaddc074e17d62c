"""The real Pulumi engine for tests: the Go-built CLI and Kubernetes provider
(``scripts/setup.d/20-pulumi-tools.sh``), a local file backend, the passphrase secrets
provider, and stacks driven through the Automation API.

The Python language host (``pulumi-language-python``) cannot be built here (its Go module is not
served), so Python programs run as the Automation API's *inline* programs: the program runs in
this process behind the SDK's own language server and the CLI drives the deployment exactly as
``pulumi up`` does (engine, state, diff, provider plugin, secrets).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from tests.helpers import REPO
from tests.real.tools import cache_dir

TOOLS = REPO / "tools" / "pulumi"
PASSPHRASE = "infstack-test-passphrase"
PROJECT = "inference-stacks"
BINARIES = {  # tool → (module dir, module whose version names the binary)
    "pulumi": ("engine", "github.com/pulumi/pulumi/pkg/v3"),
    "pulumi-resource-kubernetes": ("k8s-provider",
                                   "github.com/pulumi/pulumi-kubernetes/provider/v4"),
    "pulumi-language-yaml": ("yaml", "github.com/pulumi/pulumi-yaml"),
}


def module_version(tool: str) -> str:
    """The version of ``tool``'s module its tools module pins (names the cached binary)."""
    folder, module = BINARIES[tool]
    text = (TOOLS / folder / "go.mod").read_text(encoding="utf-8")
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.M)
    if not found:
        raise LookupError(f"tools/pulumi/{folder}/go.mod does not require {module}")
    return found.group(1)


def tool_path(tool: str) -> Path:
    """``<tools cache>/<tool>-<version>`` (may not exist)."""
    return cache_dir() / f"{tool}-{module_version(tool)}"


def find_tool(tool: str) -> Path | None:
    """The cached binary of ``tool`` when it has been built."""
    path = tool_path(tool)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def bin_dir(root: Path, tools: Mapping[str, Path]) -> Path:
    """``root/bin`` holding the tools under their plain names (what the engine looks up on
    ``PATH`` as ambient plugins)."""
    folder = root / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in tools.items():
        link = folder / name
        if not link.exists():
            link.symlink_to(path)
    return folder


COMPONENT_PLUGIN = "pulumi-resource-inference-stacks"
"""The component provider as an executable plugin on ``PATH`` (what the engine starts for the
``inference-stacks`` package)."""


def component_plugin(folder: Path) -> Path:
    """``folder/pulumi-resource-inference-stacks``: runs ``pulumi_provider`` with this
    interpreter. The engine starts a Python component provider through the Python language host
    (``pulumi package add`` reads ``PulumiPlugin.yaml``); that host cannot be built here, so
    the tests start the same entry point as an ambient plugin executable."""
    path = folder / COMPONENT_PLUGIN
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" '
                    f'"{REPO / "pulumi_provider" / "__main__.py"}" "$@"\n', encoding="utf-8")
    path.chmod(0o755)
    return path


@dataclass
class Engine:
    """Where the CLI runs: binaries, backend, Pulumi home, environment."""

    root: Path
    env: dict[str, str]

    @classmethod
    def create(cls, root: Path, tools: Mapping[str, Path]) -> Engine:
        """A private Pulumi home and file backend under ``root``."""
        bins = bin_dir(root, tools)
        component_plugin(bins)
        state = root / "state"
        state.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": f"{bins}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(root / "home"),
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        }
        return cls(root=root, env=env)

    def command(self) -> auto.PulumiCommand:
        """The CLI binary, through the Automation API."""
        return auto.PulumiCommand(root=str(self.root), skip_version_check=True)

    def cli(self, *args: str, cwd: Path, check: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi ARGS`` directly (for commands without an Automation API call)."""
        env = {**os.environ, **self.env}
        done = subprocess.run([str(self.root / "bin" / "pulumi"), *args, "--non-interactive"],
                              cwd=cwd, env=env, input=stdin, text=True, capture_output=True,
                              timeout=900, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return done

    def exported(self, stack: auto.Stack) -> str:
        """``pulumi stack export`` as a user runs it (no ``--show-secrets``; the Automation
        API's ``export_stack`` decrypts)."""
        return self.cli("stack", "export", "--stack", stack.name,
                        cwd=Path(stack.workspace.work_dir)).stdout

    def stack(self, name: str, program: Callable[[], None], work_dir: Path,
              config: Mapping[str, auto.ConfigValue]) -> auto.Stack:
        """Create (or select) stack ``name`` of an inline program and set its config."""
        work_dir.mkdir(parents=True, exist_ok=True)
        settings = auto.ProjectSettings(name=PROJECT, runtime="python")
        workspace = auto.LocalWorkspace(
            work_dir=str(work_dir), program=program, env_vars=dict(self.env),
            pulumi_home=self.env["PULUMI_HOME"], project_settings=settings,
            secrets_provider="passphrase", pulumi_command=self.command())
        stack = auto.Stack.create_or_select(name, workspace)
        stack.set_all_config(dict(config))
        return stack


def root_program() -> None:
    """The repository's stack program (``Pulumi.yaml``'s ``main``) as an inline program."""
    runpy.run_path(str(REPO / "pulumi_program" / "__main__.py"), run_name="__main__")


def config_values(values: Mapping[str, Any], secret: tuple[str, ...] = ()
                  ) -> dict[str, auto.ConfigValue]:
    """Stack config (``inference-stacks:...``) with objects as JSON text."""
    return {k: auto.ConfigValue(value=v if isinstance(v, str) else json.dumps(v),
                                secret=k in secret) for k, v in values.items()}
