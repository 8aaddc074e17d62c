"""The sandbox ships apart from the production wheel, with its own command."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from typer.testing import CliRunner

from inference_core.cli.main import app
from tests.helpers import REPO


def test_production_wheel_leaves_the_sandbox_out():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    assert not [p for p in setuptools["packages"]["find"]["include"]
                if p.startswith("inference_sandbox")]
    assert "inference_sandbox" not in setuptools.get("package-data", {})
    assert "inference-sandbox" not in project["project"]["scripts"]


def test_sandbox_distribution_has_its_own_command():
    root = REPO / "packaging" / "inference-sandbox"
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "inference-sandbox"
    assert project["project"]["scripts"] == {"inference-sandbox": "inference_sandbox.cli:main"}
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["inference_sandbox*"]
    assert (root / "inference_sandbox").resolve() == (REPO / "inference_sandbox").resolve()


def test_core_cli_has_no_sandbox_command():
    result = CliRunner().invoke(app, ["sandbox", "up", "--help"])
    assert result.exit_code != 0
    assert "sandbox" not in CliRunner().invoke(app, ["--help"]).output.split("Commands")[-1]


def test_module_entry_point_matches_the_command():
    done = subprocess.run([sys.executable, "-m", "inference_sandbox", "up", "--help"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0
    for option in ("--gpu-nodes", "--queue", "--namespace", "--feature", "--kubeconfig"):
        assert option in done.stdout
