"""``infstack smoke`` and ``infstack canary`` against the sandbox through its kubeconfig,
reaching the candidate through the data plane (``--connect-to``)."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from inference_core.cli.main import app
from tests.promotion.cluster import PROJECT, TAG_URL, Bed

runner = CliRunner()


def cli(bed: Bed, *args: str) -> Any:
    return runner.invoke(app, [*args, "--kubeconfig", bed.sandbox.kubeconfig_path,
                               "-n", PROJECT, "--connect-to", bed.plane.connect_to])


def deploy_pair(bed: Bed, candidate_env: dict[str, str]) -> None:
    bed.deploy({"FAKE_TTFT_MS": "15"})
    bed.deploy({"FAKE_TTFT_MS": "15", **candidate_env}, candidate_tag="candidate")


def test_smoke_cli_passes_and_fails_with_exit_codes(bed: Bed) -> None:
    deploy_pair(bed, {"MODEL_VERSION": "2"})
    assert bed.plane.wait_until(lambda p: p.routes("candidate-chat.team-a.example.com"), 30)
    ok = cli(bed, "smoke", "chat", "--expect-contains", "Paris", "-o", "json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] and report["url"] == TAG_URL
    assert report["attempts"][0]["details"]["served"] == ["chat"]
    bad = cli(bed, "smoke", "chat", "--expect-contains", "Berlin", "--attempts", "2",
              "--retry-delay", "0")
    assert bad.exit_code == 1
    assert "FAIL http://candidate-chat.team-a.example.com: FAILED after 2 attempt(s): " \
           "answer 'Paris is the capital of France.' does not contain 'Berlin'" in bad.stdout


def canary(bed: Bed) -> Any:
    return cli(bed, "canary", "chat", "--targets-file", str(bed.sd_file), "--steps", "50",
               "--bake", "1", "--max-wait", "20", "--min-requests", "5", "--load-rps", "200",
               "-o", "json")


def test_canary_cli_promotes_an_equal_candidate(bed: Bed) -> None:
    deploy_pair(bed, {"MODEL_VERSION": "2"})
    result = canary(bed)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["outcome"] == "promoted" and record["steps"][-1]["verdict"] == "pass"
    assert bed.routed() == {"chat-00002": 100}


def test_canary_cli_rolls_back_a_slow_candidate_with_the_numbers(bed: Bed) -> None:
    deploy_pair(bed, {"FAKE_TTFT_MS": "45"})
    result = canary(bed)
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["reason"] == "breach"
    failed = [c for c in out["record"]["steps"][-1]["checks"] if c["verdict"] == "fail"]
    assert [c["name"] for c in failed] == ["ttft_p95_ratio"] and failed[0]["value"] > 2.5
    assert bed.routed() == {"chat-00001": 100}


def test_canary_cli_needs_exactly_one_metrics_source(bed: Bed) -> None:
    result = cli(bed, "canary", "chat")
    assert result.exit_code == 2
    words = " ".join(w for w in result.output.split() if w != "│")
    assert "give exactly one of --prometheus URL or --targets-file FILE" in words
