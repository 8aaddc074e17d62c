"""Readiness detection latency and scale of the watch-based trigger.

1. Latency: 200 waits; each object turns Ready at a random moment; the time from the write
   landing to the trigger's event is measured, beside a 2 s polling loop in the same run
   (same evaluation, GET every 2 s). Prints p50/p95.
2. Scale: 1,000 concurrent readiness waits in one event loop (one "triggerer"): peak RSS
   growth, API requests per second in steady state, open watch connections.

Runs against the list/watch server in tests/airflow/fakeapi.py (loopback, same process):

    .venv/bin/python bench/airflow_readiness.py
"""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_provider.hooks import informer
from airflow_provider.hooks.async_inference import AsyncInferenceHook
from airflow_provider.triggers.assess import assess
from airflow_provider.triggers.readiness import InferenceReadyTrigger
from tests.airflow.fakeapi import running
from tests.airflow.test_trigger_watch import KSVC, ksvc


def trig(kubeconfig: str, name: str, timeout: float = 120) -> InferenceReadyTrigger:
    return InferenceReadyTrigger(api_version="serving.knative.dev/v1", kind="Service",
                                 name=name, namespace="ns", start_time=time.time(),
                                 timeout=timeout, expected_generation=1, config_file=kubeconfig)


async def watch_wait(t: InferenceReadyTrigger) -> float:
    async for _ in t.run():
        return time.perf_counter()
    raise AssertionError


async def poll_wait(hook: AsyncInferenceHook, name: str, interval: float = 2.0) -> float:
    while True:
        obj = await hook.get("serving.knative.dev/v1", "Service", name, "ns")
        if assess(obj, ref=("serving.knative.dev/v1", "Service", "ns", name),
                  expected_generation=1).terminal:
            return time.perf_counter()
        await asyncio.sleep(interval)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


async def latency(api: Any, kubeconfig: str, n: int = 200) -> None:
    hook = AsyncInferenceHook(config_file=kubeconfig)
    names = [f"lat-{i}" for i in range(n)]
    for name in names:
        await asyncio.to_thread(api.put, KSVC, ksvc(name, ready=False))
    watch = {nm: asyncio.ensure_future(watch_wait(trig(kubeconfig, nm))) for nm in names}
    poll = {nm: asyncio.ensure_future(poll_wait(hook, nm)) for nm in names}
    await asyncio.sleep(1.0)
    landed: dict[str, float] = {}
    order = names[:]
    random.shuffle(order)
    for name in order:
        await asyncio.sleep(random.uniform(0, 0.03))
        await asyncio.to_thread(api.put, KSVC, ksvc(name, ready=True))
        landed[name] = time.perf_counter()
    w = [(await watch[nm]) - landed[nm] for nm in names]
    p = [(await poll[nm]) - landed[nm] for nm in names]
    await hook.close()
    print(f"latency over {n} waits (Ready written → event), ms:")
    for label, vals in (("watch trigger", w), ("2 s polling", p)):
        print(f"  {label:16s} p50 {statistics.median(vals) * 1000:8.1f}"
              f"   p95 {pct(vals, .95) * 1000:8.1f}")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def scale(api: Any, kubeconfig: str, n: int = 1000) -> None:
    names = [f"s-{i}" for i in range(n)]
    for name in names:
        await asyncio.to_thread(api.put, KSVC, ksvc(name, ready=False))
    before = rss_mb()
    tasks = [asyncio.ensure_future(watch_wait(trig(kubeconfig, nm, timeout=300))) for nm in names]
    await asyncio.sleep(3)
    r0, t0 = sum(api.requests.values()), time.perf_counter()
    await asyncio.sleep(5)
    rate = (sum(api.requests.values()) - r0) / (time.perf_counter() - t0)
    open_watches = informer.stats().open_watches
    started = time.perf_counter()
    for name in names:
        await asyncio.to_thread(api.put, KSVC, ksvc(name, ready=True))
    await asyncio.gather(*tasks)
    print(f"scale: {n} concurrent waits in one event loop")
    print(f"  peak RSS growth        {rss_mb() - before:8.1f} MB (process peak {rss_mb():.0f} MB, "
          "includes the in-process API server)")
    print(f"  API requests/s steady  {rate:8.2f}")
    print(f"  open watch connections {open_watches:8d} (one namespace, 4 collections)")
    print(f"  all {n} ready events   {time.perf_counter() - started:8.2f} s after the first write")


async def main() -> None:
    with running(Path(tempfile.mkdtemp())) as (api, kubeconfig):
        await latency(api, kubeconfig)
    with running(Path(tempfile.mkdtemp())) as (api, kubeconfig):
        await scale(api, kubeconfig)


if __name__ == "__main__":
    random.seed(7)
    asyncio.run(main())
