"""``infstack deploy --wait``: how much the CLI adds over the readiness time itself.

Against a sandbox API server (controllers on, 100 simulated seconds per real second), each
round deploys a fresh Knative workload with ``infstack deploy FILE --wait`` in a child
process (real start-up, imports, kubeconfig loading, history write, apply, watch-based
wait, history update) while a raw watch in this process records when the Service first
reports ``Ready=True`` at its generation. Reported per round:

- ``total``: the CLI process from start to exit;
- ``overhead``: CLI exit minus the moment the raw watch saw Ready (the CLI's detection and
  bookkeeping after the workload is ready), and ``before``: start to the raw watch seeing
  the first ADDED event (start-up, imports, history write and apply);
- ``startup``: ``infstack --help`` wall time (imports only).

    .venv/bin/python bench/cli_deploy_wait.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPEC = """apiVersion: inference-stacks/v1alpha1
kind: CustomInference
metadata: {{name: {name}, project: bench}}
spec:
  image: ghcr.io/acme/app:1
  endpoint: {{port: 8080}}
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _watch_ready(client: Any, name: str, seen: dict[str, float], done: threading.Event) -> None:
    for _ in range(60):
        for event in client.watch("serving.knative.dev/v1", "Service", "bench",
                                  field_selector=f"metadata.name={name}", timeout_s=5):
            if event.type == "BOOKMARK":
                continue
            seen.setdefault("added", time.perf_counter())
            obj = event.object
            gen = (obj.get("metadata") or {}).get("generation")
            status = obj.get("status") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in status.get("conditions") or [])
            if ready and status.get("observedGeneration") == gen:
                seen["ready"] = time.perf_counter()
                done.set()
                return
        if done.is_set():
            return


def main() -> None:
    """Run the rounds and print a JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    from inference_core.rollout.client import KubernetesClient
    from inference_sandbox.config import SandboxConfig
    from inference_sandbox.sandbox import Sandbox

    cli = [str(REPO / ".venv/bin/infstack")]
    t0 = time.perf_counter()
    subprocess.run([*cli, "--help"], check=True, capture_output=True)
    startup = time.perf_counter() - t0
    rows = []
    with Sandbox(SandboxConfig(speed=100.0, namespaces=("default", "bench"))).running() as sb, \
            tempfile.TemporaryDirectory() as tmp:
        client = KubernetesClient.from_kubeconfig(sb.kubeconfig_path)
        for i in range(args.rounds):
            name = f"app-{i}"
            spec = Path(tmp) / f"{name}.yaml"
            spec.write_text(SPEC.format(name=name), encoding="utf-8")
            seen: dict[str, float] = {}
            done = threading.Event()
            watcher = threading.Thread(target=_watch_ready, args=(client, name, seen, done),
                                       daemon=True)
            watcher.start()
            start = time.perf_counter()
            proc = subprocess.run([*cli, "deploy", str(spec), "--wait", "--kubeconfig",
                                   sb.kubeconfig_path], capture_output=True, text=True)
            end = time.perf_counter()
            if proc.returncode != 0:
                raise SystemExit(f"deploy failed: {proc.stderr}")
            watcher.join(30)
            if "ready" not in seen:
                raise SystemExit(f"the raw watch never saw {name} ready")
            rows.append({"total": end - start, "overhead": end - seen["ready"],
                         "before": seen["added"] - start})
        client.close()
    out: dict[str, Any] = {"rounds": args.rounds, "startup_s": round(startup, 3)}
    for key in ("total", "overhead", "before"):
        values = [r[key] for r in rows]
        out[key] = {"p50": round(statistics.median(values), 3),
                    "p95": round(_pct(values, 0.95), 3), "max": round(max(values), 3)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
