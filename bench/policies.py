"""Cost of policies and assets: reading N specs with and without them.

Each spec loads an environment, a compute resource (with an override) and a credential; two
policies (cluster and project) apply defaults, rules, a lock and an imposed data source —
the setup of ``examples/policies``. Prints CPU seconds (median of R runs) per N.

    .venv/bin/python bench/policies.py [N ...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from inference_core.policy import load_effective_specs
from inference_core.spec import load_specs

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples/policies"
WITH = """apiVersion: inference-stacks/v1alpha1
kind: HuggingFaceInference
metadata: {{name: chat-{i}, project: team-a}}
spec:
  environment: vllm-openai
  model: {{id: meta-llama/Llama-3.1-8B-Instruct, tokenSecret: {{asset: hf-read}}}}
  compute: {{asset: one-a100, memory: {{limit: 96GB}}}}
  scheduling: {{nodeType: h100}}
"""
# The same workloads written out in full, read without policies or assets.
WITHOUT = """apiVersion: inference-stacks/v1alpha1
kind: HuggingFaceInference
metadata: {{name: chat-{i}, project: team-a, labels: {{cost-center: ml-team-a}}}}
spec:
  imagePullSecret: team-registry-pull
  imagePullPolicy: IfNotPresent
  vllm: {{image: "registry.example.com/mirror/vllm-openai:v0.11.0"}}
  env: [{{name: VLLM_LOGGING_LEVEL, value: INFO}}, {{name: HF_HUB_ENABLE_HF_TRANSFER, value: "1"}}]
  endpoint: {{exposure: cluster-local}}
  model: {{id: meta-llama/Llama-3.1-8B-Instruct, tokenSecret: team-a-hf-token}}
  compute: {{gpuDevices: 1, cpu: {{request: "4", limit: "8"}}, largeShm: true,
            memory: {{request: 32GB, limit: 96GB}}}}
  scheduling: {{nodeType: h100}}
  general: {{requestTimeout: 2m}}
  storage: [{{name: team-a-datasets, path: /datasets,
             pvc: {{claimName: team-a-datasets, readOnly: true}}}}]
"""


def _cpu(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(sizes: list[int], runs: int = 3) -> None:
    print(f"{'specs':>7} {'plain (s)':>10} {'policies+assets (s)':>20} {'per spec (ms)':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            plain = Path(tmp, f"plain-{n}.yaml")
            plain.write_text("---\n".join(WITHOUT.format(i=i) for i in range(n)))
            refs = Path(tmp, f"refs-{n}.yaml")
            refs.write_text("---\n".join(WITH.format(i=i) for i in range(n)))
            a = _cpu(lambda p=plain: load_specs(p), runs)  # type: ignore[misc]
            b = _cpu(lambda p=refs: load_effective_specs(  # type: ignore[misc]
                p, "kai", [EX / "policies"], [EX / "assets"]), runs)
            print(f"{n:>7} {a:>10.2f} {b:>20.2f} {1000 * (b - a) / n:>14.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 100, 1000])
