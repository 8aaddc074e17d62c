"""Benchmark: model preflight of 100 specs over 20 distinct models against the Hub emulator.

Measures the number of Hub HTTP requests (counted by the emulator) and the wall time, with the
per-(model, revision, token) cache on, and with a cache that keeps nothing (every spec asks the
Hub). Run: ``.venv/bin/python bench/preflight.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference_core.errors import PreflightError
from inference_core.preflight import (
    GIB,
    GpuBudget,
    HubClient,
    ModelRequest,
    TtlLruCache,
    VllmSettings,
    check_model,
)
from inference_sandbox.hub import (
    GATED_8B,
    LARGE_70B,
    PRIVATE_7B,
    PUBLIC_SMALL,
    TOKEN_GRANTED,
    HubEmulator,
    default_repos,
    synthetic_repos,
)

SPECS = 100
MODELS = 20
ROUNDS = 5


def workload() -> list[tuple[ModelRequest, GpuBudget, VllmSettings]]:
    """100 (request, budget, settings) triples cycling over 20 models and varied GPU budgets."""
    models = [PUBLIC_SMALL, GATED_8B, LARGE_70B, PRIVATE_7B]
    models += [r.repo_id for r in synthetic_repos(MODELS - len(models))]
    items = []
    for i in range(SPECS):
        model = models[i % MODELS]
        gpus = 8 if model == LARGE_70B else (1, 2, 4)[i % 3]
        items.append((
            ModelRequest(model, token=TOKEN_GRANTED),
            GpuBudget(gpus_per_pod=gpus, memory_per_device_bytes=80 * GIB),
            VllmSettings(vllm_image="vllm/vllm-openai:v0.11.0",
                         max_model_len=(4096, 8192, None)[i % 3]),
        ))
    return items


def run(hub: HubEmulator, client: HubClient) -> tuple[float, int, int, int]:
    """(seconds, hub requests, passed, refused) for one pass over the workload."""
    hub.reset_log()
    passed = refused = 0
    start = time.perf_counter()
    for req, budget, vllm in workload():
        try:
            check_model(req, budget, vllm, hub=client)
            passed += 1
        except PreflightError:
            refused += 1
    return time.perf_counter() - start, hub.request_count, passed, refused


def main() -> None:
    """Print the figures."""
    repos = default_repos() + synthetic_repos(MODELS - 4)
    with HubEmulator(repos).running() as hub:
        os.environ["HF_ENDPOINT"] = hub.url
        results: dict[str, list[tuple[float, int, int, int]]] = {"cached": [], "uncached": []}
        for _ in range(ROUNDS):
            results["cached"].append(run(hub, HubClient(cache=TtlLruCache())))
            results["uncached"].append(run(hub, HubClient(cache=TtlLruCache(max_entries=0))))
    print(f"preflight benchmark: {SPECS} specs over {MODELS} distinct models, "
          f"{ROUNDS} rounds, Hub emulator on 127.0.0.1")
    for name, rows in results.items():
        times = [r[0] for r in rows]
        _, requests, passed, refused = rows[-1]
        print(f"  {name:9s} hub requests={requests:4d}  passed={passed} refused={refused}  "
              f"wall median={statistics.median(times) * 1000:.0f} ms "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})  "
              f"per spec={statistics.median(times) / SPECS * 1000:.2f} ms")


if __name__ == "__main__":
    main()
