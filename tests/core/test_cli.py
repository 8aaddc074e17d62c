"""The infstack CLI: exit codes, output, and a start-up free of Pulumi/Airflow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from inference_core.cli.main import app
from tests.helpers import REPO

runner = CliRunner()
HTTP = str(REPO / "examples/custom-http.yaml")
GRPC = str(REPO / "examples/custom-grpc-fraction.yaml")


def test_validate_ok_and_profile_refusal() -> None:
    ok = runner.invoke(app, ["validate", HTTP])
    assert ok.exit_code == 0 and "ok  CustomInference team-a/iris-classifier" in ok.stdout
    refused = runner.invoke(app, ["validate", GRPC])
    assert refused.exit_code == 1
    assert "turn on 'scheduler.type: kai'" in refused.stderr
    assert runner.invoke(app, ["validate", "-p", "kai", GRPC]).exit_code == 0


def test_validate_bad_spec_exit_1_with_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: CustomInference\nmetadata: {name: x, project: p}\n"
                   "spec: {image: i, replicas: {min: 3, max: 1}}\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert (f"{bad}#0 (line 3, column 29): spec.replicas.min: is greater than max "
            "(got 3; allowed: 0..1)") in result.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["render", "--no-such-flag", HTTP]).exit_code == 2
    assert runner.invoke(app, ["validate", str(tmp_path / "missing.yaml")]).exit_code == 2


def test_render_stdout_and_directory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", HTTP])
    assert result.exit_code == 0
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["Service"]
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", "-p", "kai", GRPC, HTTP, "-o", str(out)])
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "team-a_service_embedder.yaml", "team-a_service_iris-classifier.yaml"]


def test_schema_is_json_schema_with_kinds() -> None:
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.stdout)
    assert set(schema["discriminator"]["mapping"]) == {
        "CustomInference", "HuggingFaceInference", "DistributedInference"}


def test_cli_startup_imports_no_pulumi_or_airflow() -> None:
    code = ("import sys; import inference_core.cli.main; "
            "bad=[m for m in sys.modules if m.split('.')[0] in ('pulumi','airflow')]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_help_stays_lean() -> None:
    """``infstack --help`` loads neither Rich's help renderer nor the spec machinery."""
    code = ("import sys\n"
            "from inference_core.cli.main import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = ('rich', 'pydantic', 'yaml', 'kubernetes', 'pulumi', 'airflow')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout[-500:]


def test_render_quotes_strings_kubernetes_reads_as_booleans(tmp_path: Path) -> None:
    """A project named ``y`` must reach kubectl as the string "y", not YAML 1.1's true."""
    spec = (REPO / "examples" / "custom-http.yaml").read_text(encoding="utf-8")
    path = tmp_path / "y.yaml"
    path.write_text(spec.replace("project: team-a", "project: y"), encoding="utf-8")
    result = runner.invoke(app, ["render", str(path)])
    assert result.exit_code == 0, result.output
    assert "namespace: 'y'" in result.output
    assert "namespace: y\n" not in result.output
