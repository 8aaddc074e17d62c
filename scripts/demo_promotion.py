"""The promotion demo: a vLLM model promoted only after it proved it serves and is no worse.

Against a running API server (the sandbox), with the sandbox's data plane (loopback ingress
and fake vLLM servers) and, when installed, a real Prometheus scraping them:

1. ``infstack deploy chat-v1.yaml --wait``: the stable version.
2. ``infstack deploy chat-v2.yaml --candidate-tag candidate --wait``: the candidate, no traffic.
3. ``infstack smoke chat``: the candidate's tag URL lists the model and answers right.
4. ``infstack canary chat``: 10 -> 25 -> 50 % with a bounded loopback load, each step judged
   on TTFT p95, end-to-end p95 and the 5xx rate against stable; then promoted.

``--fail``: the candidate's time to first token is three times stable's; the canary catches
it at the first step and rolls the traffic back to stable by itself, with the numbers.

    python scripts/demo_promotion.py --kubeconfig PATH [--fail] [--bake 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

NAMESPACE = "team-b"
NAME = "chat"
STABLE_TTFT_MS = "15"
SLOW_TTFT_MS = "45"  # x3


def spec(version: str, ttft_ms: str) -> dict[str, object]:
    """The chat model at one version (the fake server reads FAKE_TTFT_MS)."""
    return {"apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
            "metadata": {"name": NAME, "project": NAMESPACE},
            "spec": {"model": {"id": "acme/chat-7b", "servedModelName": NAME},
                     "env": [{"name": "MODEL_VERSION", "value": version},
                             {"name": "FAKE_TTFT_MS", "value": ttft_ms}],
                     "endpoint": {"exposure": "external"}}}


def infstack(args: list[str], kubeconfig: str, out: Callable[[str], None]) -> int:
    """Run the real CLI as a user would; print the command and its output."""
    shown = " ".join(a if " " not in a else repr(a) for a in args)
    out(f"$ infstack {shown}")
    proc = subprocess.run([sys.executable, "-m", "inference_core.cli", *args,
                           "--kubeconfig", kubeconfig], capture_output=True, text=True,
                          cwd=REPO, env=dict(os.environ, COLUMNS="200"), check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip():
            out("    " + line.rstrip())
    return proc.returncode


def run(kubeconfig: str, *, fail: bool = False, bake: float = 4.0, load_rps: float = 60.0,
        use_prometheus: bool | None = None, out: Callable[[str], None] = print) -> int:
    """The demo; exit code 0 when the outcome is the one the mode promises."""
    from inference_sandbox.dataplane import DataPlane
    from inference_sandbox.dataplane.prometheus import LocalPrometheus, prometheus_binary

    with tempfile.TemporaryDirectory(prefix="infstack-promotion-") as tmp:
        files = {}
        for version, ttft in (("1", STABLE_TTFT_MS),
                              ("2", SLOW_TTFT_MS if fail else STABLE_TTFT_MS)):
            files[version] = Path(tmp) / f"chat-v{version}.yaml"
            files[version].write_text(yaml.safe_dump(spec(version, ttft), sort_keys=False))
        sd_file = Path(tmp) / "targets.json"
        with DataPlane(kubeconfig, sd_file=sd_file).running() as plane:
            out(f"data plane: ingress {plane.ingress_url} (Host-routed), scrape targets "
                f"{sd_file.name}")
            want_prom = prometheus_binary() is not None if use_prometheus is None \
                else use_prometheus
            prom = LocalPrometheus(sd_file) if want_prom else None
            if prom is not None:
                prom.start()
                out(f"metrics: Prometheus {prom.url} (Debian's prometheus, file_sd, 1s scrape)")
            else:
                out("metrics: direct scrape of each version's /metrics (no prometheus "
                    "installed)")
            try:
                return _steps(kubeconfig, files, plane.connect_to, sd_file, prom, fail, bake,
                              load_rps, out)
            finally:
                if prom is not None:
                    prom.stop()


def _steps(kubeconfig: str, files: dict[str, Path], connect_to: str, sd_file: Path,
           prom: Any, fail: bool, bake: float, load_rps: float,
           out: Callable[[str], None]) -> int:
    if infstack(["deploy", str(files["1"]), "--wait"], kubeconfig, out):
        out("unexpected outcome: the stable version did not deploy")
        return 1
    if infstack(["deploy", str(files["2"]), "--candidate-tag", "candidate", "--wait"],
                kubeconfig, out):
        out("unexpected outcome: the candidate did not deploy")
        return 1
    if infstack(["smoke", NAME, "-n", NAMESPACE, "--connect-to", connect_to,
                 "--expect-contains", "Paris"], kubeconfig, out):
        out("unexpected outcome: the candidate failed its smoke test")
        return 1
    source = ["--prometheus", str(prom.url)] if prom is not None else \
        ["--targets-file", str(sd_file)]
    code = infstack(["canary", NAME, "-n", NAMESPACE, *source, "--steps", "10,25,50",
                     "--bake", f"{bake:g}", "--max-wait", f"{bake * 4:g}", "--min-requests",
                     "10", "--load-rps", f"{load_rps:g}", "--connect-to", connect_to],
                    kubeconfig, out)
    status = subprocess.run([sys.executable, "-m", "inference_core.cli", "status", NAME, "-n",
                             NAMESPACE, "-o", "json", "--kubeconfig", kubeconfig],
                            capture_output=True, text=True, cwd=REPO, check=False)
    try:
        traffic = json.loads(status.stdout)["readiness"].get("traffic") or []
        out("final traffic: " + ", ".join(f"{t['revision']} {t['percent']}%"
                                          for t in traffic if t.get("percent")))
    except (ValueError, KeyError, TypeError):
        out(f"final traffic: unknown ({status.stderr.strip()[:200]})")
    if fail and code == 1:
        out("the latency regression was caught at the first step and rolled back "
            "(as expected)")
        return 0
    if not fail and code == 0:
        return 0
    out(f"unexpected outcome: canary exit code {code} in {'--fail' if fail else 'happy'} mode")
    return 1


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--fail", action="store_true",
                        help="a candidate with 3x the time to first token")
    parser.add_argument("--bake", type=float, default=4.0, help="seconds per canary step")
    parser.add_argument("--no-prometheus", action="store_true",
                        help="scrape /metrics directly even when prometheus is installed")
    args = parser.parse_args(argv)
    return run(args.kubeconfig, fail=args.fail, bake=args.bake,
               use_prometheus=False if args.no_prometheus else None)


if __name__ == "__main__":
    sys.exit(main())
