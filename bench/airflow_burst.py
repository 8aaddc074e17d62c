"""1,000 readiness waits in one triggerer event loop, all becoming ready at once.

Against the sandbox API server in a child process (controllers off: only this benchmark
writes status), with the real ``InferenceReadyTrigger``, its shared informers and the
``kubernetes_asyncio`` client in this process (the "triggerer"). Two variants:

- ``plain``: the namespace holds only the Knative Services;
- ``pods+events``: each Service also has one Pod (its revision's) and one Event about that
  Pod, as in a real namespace; a round of Pod status updates (every Pod turns Ready) is
  measured on its own, then the Services' burst.

Per variant: CPU seconds of this process to start the waits, per-wait detection latency in
the burst (Ready=True written to the store -> the trigger's event) p50/p95/max, the longest
event-loop stall (a 5 ms ticker's worst lateness) during start-up and during the burst,
peak RSS, open watch streams. Then the first-wait latency of a fresh process (imports
included): from "the trigger starts" to its event, and the loop stall meanwhile.

    .venv/bin/python bench/airflow_burst.py [--waits 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from airflow_readiness import (  # noqa: E402
    API,
    SandboxLink,
    pct,
    proc_status,
    reset_peak_rss,
    trigger,
    until_watching,
    watch_wait,
)

REV_LABEL = "serving.knative.dev/revision"


def pod(name: str, namespace: str, *, ready: bool) -> dict[str, Any]:
    """The one Pod of a Service's first revision."""
    rev = f"{name}-00001"
    cond = "True" if ready else "False"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{rev}-deployment-0", "namespace": namespace,
                         "labels": {REV_LABEL: rev, "serving.knative.dev/service": name,
                                    "app": rev}},
            "spec": {"containers": [{"name": "user-container", "image": "ghcr.io/acme/x:1"}]},
            "status": {"phase": "Running" if ready else "Pending",
                       "conditions": [{"type": "Ready", "status": cond},
                                      {"type": "PodScheduled", "status": "True"}]}}


def event(name: str, namespace: str) -> dict[str, Any]:
    """One Event about that Pod."""
    pod_name = f"{name}-00001-deployment-0"
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{pod_name}.1", "namespace": namespace},
            "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": namespace},
            "reason": "Pulling", "message": 'Pulling image "ghcr.io/acme/x:1"', "type": "Normal",
            "count": 1}


class Ticker:
    """Worst lateness of a 5 ms sleep loop (how long the event loop was blocked)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - before - 0.005)

    def start(self) -> Ticker:
        self.worst = 0.0
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> float:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        return self.worst


async def variant(link: SandboxLink, namespace: str, waits: int, with_pods: bool
                  ) -> dict[str, Any]:
    from airflow_provider.hooks import informer

    names = [f"b-{i}" for i in range(waits)]
    await link.aask("create", names, namespace)
    if with_pods:
        await link.aask("extra", [pod(n, namespace, ready=False) for n in names] +
                        [event(n, namespace) for n in names])
    out: dict[str, Any] = {"hwm_reset": reset_peak_rss()}
    ticker = Ticker().start()
    cpu0 = time.process_time()
    tasks: dict[str, asyncio.Task[tuple[float, str]]] = {}
    for i, n in enumerate(names):  # as a triggerer does: a batch per loop iteration
        tasks[n] = asyncio.ensure_future(watch_wait(trigger(link.kubeconfig, n, namespace)))
        if i % 50 == 49:
            await asyncio.sleep(0)
    await until_watching(link, namespace, count=4)
    await asyncio.sleep(2.0)  # every trigger has judged its object once
    out["startup_cpu_s"] = time.process_time() - cpu0
    out["startup_stall_ms"] = await ticker.stop() * 1000
    if any(t.done() for t in tasks.values()):
        raise RuntimeError("a trigger ended before its Service was ready")
    _, watches, _ = await link.aask("stats")
    out["watches_server"] = sum(n for (_, ns), n in watches.items() if ns == namespace)
    out["watches_informer"] = informer.stats().open_watches
    if with_pods:  # one round of Pod status updates (each wakes its one trigger)
        events0 = informer.stats().events
        ticker.start()
        cpu0 = time.process_time()
        await link.aask("pods_ready", [pod(n, namespace, ready=True) for n in names])
        while informer.stats().events < events0 + waits:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)  # the woken triggers have judged again
        out["pods_cpu_s"] = time.process_time() - cpu0
        out["pods_stall_ms"] = await ticker.stop() * 1000
    ticker.start()
    cpu0 = time.process_time()
    landed = await link.aask("flip", [(n, 0.0) for n in names], namespace)
    async with asyncio.timeout(300):
        done = {n: await t for n, t in tasks.items()}
    out["burst_cpu_s"] = time.process_time() - cpu0
    out["burst_stall_ms"] = await ticker.stop() * 1000
    if {s for _, s in done.values()} != {"ready"}:
        raise RuntimeError(f"trigger events: {sorted({s for _, s in done.values()})}")
    out["latency"] = [done[n][0] - landed[n] for n in names]
    out["rss_peak"] = proc_status("VmHWM")
    return out


FIRST_WAIT = textwrap.dedent("""
    import asyncio, json, sys, time
    sys.path.insert(0, {repo!r})
    import airflow.sdk  # a triggerer has Airflow loaded already
    import logging
    logging.disable(logging.INFO)
    worst = 0.0
    async def tick():
        global worst
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - t - 0.005)
    async def main():
        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        from airflow_provider.triggers.readiness import InferenceReadyTrigger
        trig = InferenceReadyTrigger(api_version={api!r}, kind="Service", name="first",
                                     namespace={ns!r}, start_time=time.time(), timeout=120,
                                     config_file={kubeconfig!r})
        event = await anext(trig.run())
        took = time.perf_counter() - t0
        ticker.cancel()
        print(json.dumps({{"status": event.payload["status"], "first_wait_s": took,
                           "stall_ms": worst * 1000}}))
    asyncio.run(main())
""")


def first_wait(link: SandboxLink, namespace: str) -> dict[str, Any]:
    """A fresh process: import the trigger and wait once on a Service that is ready."""
    link.ask("create", ["first"], namespace)
    link.ask("flip", [("first", 0.0)], namespace)
    code = FIRST_WAIT.format(repo=str(HERE.parent), api=API, ns=namespace,
                             kubeconfig=link.kubeconfig)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ms(values: list[float]) -> str:
    return " / ".join(f"{v * 1000:.1f}" for v in (statistics.median(values), pct(values, .95),
                                                   max(values)))


async def run(args: argparse.Namespace) -> None:
    link = SandboxLink("process")
    try:
        plain = await variant(link, "bench-scale", args.waits, with_pods=False)
        with_pods = await variant(link, "bench-traced", args.waits, with_pods=True)
        first = await asyncio.to_thread(first_wait, link, "bench-warmup")
    finally:
        link.stop()
    print(f"{args.waits} waits in one event loop, all ready at once (sandbox in a child "
          f"process; Python {sys.version.split()[0]})")
    rows = [("per-wait detection p50 / p95 / max (ms)", "latency", ms),
            ("CPU to start the waits (s)", "startup_cpu_s", lambda v: f"{v:.2f}"),
            ("CPU for the burst (s)", "burst_cpu_s", lambda v: f"{v:.2f}"),
            ("CPU for one round of Pod updates (s)", "pods_cpu_s", lambda v: f"{v:.2f}"),
            ("event-loop stall max, Pod round (ms)", "pods_stall_ms", lambda v: f"{v:.0f}"),
            ("event-loop stall max, start-up (ms)", "startup_stall_ms", lambda v: f"{v:.0f}"),
            ("event-loop stall max, burst (ms)", "burst_stall_ms", lambda v: f"{v:.0f}"),
            ("peak RSS (MB)", "rss_peak", lambda v: f"{v:.0f}"),
            ("open watches: server / informer", "watches_server", None)]
    print(f"  {'':44s}{'plain':>24s}{'1 Pod + 1 Event each':>24s}")
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"  (load average at the end: {' '.join(load)} on {os.cpu_count()} CPUs)")
    for label, key, fmt in rows:
        if fmt is None:
            cells = [f"{r['watches_server']} / {r['watches_informer']}" for r in (plain, with_pods)]
        else:
            cells = [fmt(r[key]) if key in r else "-" for r in (plain, with_pods)]
        print(f"  {label:44s}{cells[0]:>24s}{cells[1]:>24s}")
    print(f"First wait in a fresh process (trigger import + client imports + one wait): "
          f"{first['first_wait_s']:.2f} s to the event ({first['status']}), event-loop stall "
          f"max {first['stall_ms']:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--waits", type=int, default=1000)
    args = parser.parse_args()
    import airflow.sdk  # noqa: F401

    import airflow_provider.triggers.readiness  # noqa: F401  (Airflow configures logging)

    logging.disable(logging.INFO)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
