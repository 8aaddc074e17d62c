"""``scripts/demo_promotion.py`` (step 4 of ``make demo``) in both modes against the sandbox:
the commands it runs, the smoke test, every canary window, and where the traffic ends."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from tests.helpers import REPO

_spec = importlib.util.spec_from_file_location("demo_promotion",
                                               REPO / "scripts" / "demo_promotion.py")
assert _spec is not None and _spec.loader is not None
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)


def run_demo(sandbox_factory: Any, *, fail: bool) -> tuple[int, list[str]]:
    sb = sandbox_factory(namespaces=["default", "team-b"])
    lines: list[str] = []
    code = demo.run(sb.kubeconfig_path, fail=fail, bake=1.0, load_rps=100,
                    use_prometheus=False, out=lines.append)
    return code, lines


def test_happy_path_smokes_walks_the_steps_and_promotes(sandbox_factory: Any) -> None:
    code, lines = run_demo(sandbox_factory, fail=False)
    assert code == 0, "\n".join(lines)
    commands = [line.split()[2] for line in lines if line.startswith("$ infstack")]
    assert commands == ["deploy", "deploy", "smoke", "canary"]
    assert any(re.fullmatch(r"\s+ok\s+http://candidate-chat\.team-b\.example\.com: ok "
                            r"\(openai, [\d.]+s\)", line) for line in lines), lines
    windows = [line.strip() for line in lines if re.match(r"\s+\d+%: ", line)]
    assert [w.split(":")[0] for w in windows if "pass" in w][-3:] == ["10%", "25%", "50%"]
    assert "    promoted chat-00002: chat-00002 100%" in lines
    assert lines[-1] == "final traffic: chat-00002 100%"


def test_fail_mode_catches_the_latency_regression_at_the_first_step(
        sandbox_factory: Any) -> None:
    code, lines = run_demo(sandbox_factory, fail=True)
    assert code == 0, "\n".join(lines)
    windows = [line.strip() for line in lines if re.match(r"\s+\d+%: ", line)]
    assert windows[-1].startswith("10%: fail (") and "[FAIL]" in windows[-1]
    ratio = re.search(r"ttft_p95_ratio ([\d.]+) \(", windows[-1])
    assert ratio and float(ratio.group(1)) > 2.5
    assert not any(w.startswith(("25%", "50%")) for w in windows)
    assert any("ROLLED BACK (breach)" in line for line in lines)
    assert "final traffic: chat-00001 100%" in lines
    assert lines[-1].startswith("the latency regression was caught at the first step")
