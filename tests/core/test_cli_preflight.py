"""``infstack preflight`` against the local Hub emulator."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from inference_core.cli.main import app
from inference_sandbox.hub.server import HubEmulator

runner = CliRunner()


def _spec(tmp_path: Path, model: str, extra: str = "") -> str:
    path = tmp_path / "spec.yaml"
    path.write_text("kind: HuggingFaceInference\nmetadata: {name: llm, project: team-a}\n"
                    f"spec:\n  model: {{id: {model}{extra}}}\n")
    return str(path)


def test_preflight_ok_prints_pinned_commit(hub: HubEmulator, tmp_path: Path) -> None:
    result = runner.invoke(app, ["preflight", _spec(tmp_path, "Qwen/Qwen2.5-0.5B-Instruct")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok   HuggingFaceInference llm: Qwen/Qwen2.5-0.5B-Instruct@")


def test_preflight_gated_without_token_exits_1(hub: HubEmulator, tmp_path: Path) -> None:
    result = runner.invoke(app, ["preflight",
                                 _spec(tmp_path, "meta-llama/Llama-3.1-8B-Instruct")])
    assert result.exit_code == 1
    assert "FAIL HuggingFaceInference llm:" in result.stderr
    assert "meta-llama/Llama-3.1-8B-Instruct" in result.stderr


def test_preflight_70b_on_one_gpu_refused_with_numbers(hub: HubEmulator,
                                                       tmp_path: Path) -> None:
    result = runner.invoke(app, ["preflight",
                                 _spec(tmp_path, "NousResearch/Meta-Llama-3.1-70B-Instruct")])
    assert result.exit_code == 1
    assert "GiB" in result.stderr and "tensor parallel size 4" in result.stderr
