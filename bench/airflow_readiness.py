"""Readiness detection latency and scale of the watch-based trigger, against the sandbox.

The API server is the project's sandbox (``inference_sandbox.Sandbox``: real HTTP on
127.0.0.1, its watch cache and request log) with its simulated controllers turned off, so
that nothing but this benchmark writes an object's status. By default it runs in a child
process (``--sandbox process``); this process is only the "triggerer": the real
``InferenceReadyTrigger`` with its shared informers and the ``kubernetes_asyncio`` client.
``--sandbox thread`` runs the sandbox in a background thread of this process instead.

"Ready landed" is stamped (``time.perf_counter``, CLOCK_MONOTONIC, the same clock in both
processes) on the sandbox's event loop just before the Knative Service with Ready=True is
written to its store; that write queues the watch events. The trigger's side is stamped
when ``run()`` yields its event.

1. Latency: ``--runs`` (200) Services wait concurrently, each watched by one trigger and
   polled by a 2 s polling loop (GET + the trigger's own check, start times spread over
   the interval) in the same event loop. They turn ready one by one in random order, 0-30
   ms apart. p50/p95/max of (event - landed) for both.
2. Scale: ``--waits`` (1,000) concurrent triggers in one event loop on not-ready Services
   of one namespace: RSS of this process before and at peak, API requests per second in a
   steady-state window (the sandbox's request log), open watch streams (counted by the
   sandbox, by resource and namespace), then all turned ready in a burst. A second, traced
   run of the same size gives the Python heap growth (tracemalloc).

    .venv/bin/python bench/airflow_readiness.py [--runs 200] [--waits 1000] [--sandbox thread]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import statistics
import sys
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

API = "serving.knative.dev/v1"
NAMESPACES = ("bench-warmup", "bench-scale", "bench-traced", "bench-latency")


# --------------------------------------------------------------------------- sandbox side
def manifest(name: str, namespace: str) -> dict[str, Any]:
    """A Knative Service as a deploy would apply it."""
    return {"apiVersion": API, "kind": "Service",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "inference-stacks",
                                    "inference-stacks.io/workload": name}},
            "spec": {"template": {"spec": {"containers": [{
                "image": "ghcr.io/acme/server:1", "ports": [{"containerPort": 8000}]}]}}}}


def service_status(name: str, namespace: str, *, ready: bool) -> dict[str, Any]:
    """The status Knative writes while the first revision comes up, and once it is ready."""
    rev = f"{name}-00001"
    url = f"http://{name}.{namespace}.example.com"
    status: dict[str, Any] = {"observedGeneration": 1, "latestCreatedRevisionName": rev,
                              "url": url}
    if ready:
        status.update(latestReadyRevisionName=rev,
                      traffic=[{"revisionName": rev, "percent": 100, "latestRevision": True}],
                      conditions=[{"type": t, "status": "True"}
                                  for t in ("ConfigurationsReady", "Ready", "RoutesReady")])
    else:
        waiting = {"status": "Unknown", "reason": "RevisionMissing",
                   "message": f'Configuration "{name}" is waiting for a Revision to become '
                              "ready."}
        status["conditions"] = [{"type": t, **waiting}
                                for t in ("ConfigurationsReady", "Ready", "RoutesReady")]
    return status


def serve_sandbox(conn: Connection) -> None:
    """Run a sandbox (controllers off) and answer the benchmark's commands over ``conn``."""
    logging.disable(logging.INFO)
    from inference_sandbox import Sandbox, SandboxConfig

    sb = Sandbox(SandboxConfig(controllers=False, namespaces=NAMESPACES)).start()
    rt = sb.store.rt(API, "Service")

    def create(names: list[str], namespace: str) -> None:
        for name in names:
            body, _ = sb.admission.admit(rt, rt.version, manifest(name, namespace), None,
                                         verb="create")
            body["status"] = service_status(name, namespace, ready=False)
            sb.store.create(rt, body)

    def set_ready(name: str, namespace: str) -> float:
        obj = sb.store.get(rt, namespace, name)
        assert obj is not None, name
        obj["status"] = service_status(name, namespace, ready=True)
        landed = time.perf_counter()
        sb.store.replace(rt, obj)
        return landed

    def flip(schedule: list[tuple[str, float]], namespace: str) -> dict[str, float]:
        landed = {}
        for name, gap in schedule:
            if gap:
                time.sleep(gap)
            landed[name] = sb.call(set_ready, name, namespace)
        return landed

    def stats() -> tuple[dict[str, int], dict[tuple[str, str], int], float]:
        return sb.requests.counts(), sb.store.open_watches(), time.perf_counter()

    def create_objects(objs: list[dict[str, Any]]) -> None:
        for obj in objs:
            sb.store.create(sb.store.rt(obj["apiVersion"], obj["kind"]), obj)

    def set_status(objs: list[dict[str, Any]]) -> None:
        for obj in objs:
            ort = sb.store.rt(obj["apiVersion"], obj["kind"])
            live = sb.store.get(ort, obj["metadata"]["namespace"], obj["metadata"]["name"])
            assert live is not None
            live["status"] = obj["status"]
            sb.store.replace(ort, live)

    commands: dict[str, Callable[..., Any]] = {
        "extra": lambda objs: sb.call(create_objects, objs, timeout=300),
        "pods_ready": lambda objs: sb.call(set_status, objs, timeout=300),
        "create": lambda names, ns: sb.call(create, names, ns, timeout=60),
        "flip": flip, "stats": stats, "clock": time.perf_counter}
    conn.send(sb.kubeconfig_path)
    try:
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            try:
                conn.send(("ok", commands[command](*args)))
            except Exception:  # reported to the benchmark, which raises it
                conn.send(("error", traceback.format_exc()))
    finally:
        sb.stop()
        conn.close()


class SandboxLink:
    """The benchmark's end of the command pipe (one command at a time)."""

    def __init__(self, mode: str) -> None:
        if mode == "process":
            ctx = multiprocessing.get_context("spawn")
            self.conn, child = ctx.Pipe()
            self.worker: Any = ctx.Process(target=serve_sandbox, args=(child,), daemon=True)
        else:
            self.conn, child = multiprocessing.Pipe()
            self.worker = threading.Thread(target=serve_sandbox, args=(child,), daemon=True)
        self.worker.start()
        for _ in range(120):
            if self.conn.poll(0.5):
                break
            if not self.worker.is_alive():
                raise RuntimeError("the sandbox worker ended before it started")
        else:
            raise RuntimeError("the sandbox did not start within 60 s")
        self.kubeconfig: str = self.conn.recv()
        self._lock = threading.Lock()

    def ask(self, command: str, *args: Any) -> Any:
        with self._lock:
            self.conn.send((command, args))
            status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(f"sandbox command {command!r} failed:\n{value}")
        return value

    async def aask(self, command: str, *args: Any) -> Any:
        return await asyncio.to_thread(self.ask, command, *args)

    def stop(self) -> None:
        self.conn.send(("stop", ()))
        self.worker.join(20)


# --------------------------------------------------------------------------- triggerer side
def trigger(kubeconfig: str, name: str, namespace: str, timeout: float = 300) -> Any:
    from airflow_provider.triggers.readiness import InferenceReadyTrigger

    return InferenceReadyTrigger(api_version=API, kind="Service", name=name,
                                 namespace=namespace, start_time=time.time(), timeout=timeout,
                                 expected_generation=1, config_file=kubeconfig)


async def watch_wait(t: Any) -> tuple[float, str]:
    """Run a trigger; (perf_counter at its event, event status)."""
    async for event in t.run():
        return time.perf_counter(), event.payload["status"]
    raise AssertionError("the trigger ended without an event")


async def poll_wait(hook: Any, name: str, namespace: str, interval: float,
                    offset: float) -> float:
    """The baseline: GET every ``interval`` s, the trigger's own check; perf_counter when done."""
    from airflow_provider.triggers.assess import assess

    await asyncio.sleep(offset)
    for _ in range(10_000):
        obj = await hook.get(API, "Service", name, namespace)
        if assess(obj, ref=(API, "Service", namespace, name), expected_generation=1).terminal:
            return time.perf_counter()
        await asyncio.sleep(interval)
    raise AssertionError(f"{name} never became ready")


async def until_watching(link: SandboxLink, namespace: str, count: int = 4) -> None:
    """Wait (bounded) until the server has ``count`` watch streams open in ``namespace``."""
    for _ in range(600):
        _, watches, _ = await link.aask("stats")
        if sum(n for (_, ns), n in watches.items() if ns == namespace) >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the triggers never opened {count} watches in {namespace}")


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p * len(ordered)) - 1))]


def ms(values: list[float]) -> str:
    return (f"{statistics.median(values) * 1000:9.1f} {pct(values, .95) * 1000:9.1f} "
            f"{max(values) * 1000:9.1f}")


def proc_status(field: str) -> float:
    """A ``/proc/self/status`` memory figure (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def warm_up(link: SandboxLink) -> None:
    """One wait to completion: imports and first-use costs stay out of the figures."""
    ns = NAMESPACES[0]
    await link.aask("create", ["warm"], ns)
    task = asyncio.ensure_future(watch_wait(trigger(link.kubeconfig, "warm", ns)))
    await until_watching(link, ns)
    await link.aask("flip", [("warm", 0.0)], ns)
    async with asyncio.timeout(30):
        await task
    before = time.perf_counter()
    other = await link.aask("clock")
    if not before <= other <= time.perf_counter():
        raise RuntimeError("perf_counter differs between the two processes: latency figures "
                           "would be meaningless")


async def latency(link: SandboxLink, runs: int, interval: float) -> dict[str, Any]:
    from airflow_provider.hooks.async_inference import AsyncInferenceHook

    ns = NAMESPACES[3]
    names = [f"lat-{i}" for i in range(runs)]
    await link.aask("create", names, ns)
    hook = AsyncInferenceHook(config_file=link.kubeconfig)
    watch = {n: asyncio.ensure_future(watch_wait(trigger(link.kubeconfig, n, ns)))
             for n in names}
    poll = {n: asyncio.ensure_future(poll_wait(hook, n, ns, interval,
                                               random.uniform(0, interval)))
            for n in names}
    await until_watching(link, ns)
    await asyncio.sleep(interval)  # every poller has made its first GET
    requests0, _, t0 = await link.aask("stats")
    await asyncio.sleep(interval)
    requests1, _, t1 = await link.aask("stats")
    rates = {verb: (n - requests0.get(verb, 0)) / (t1 - t0) for verb, n in requests1.items()}
    order = random.sample(names, len(names))
    landed = await link.aask("flip", [(n, random.uniform(0, 0.03)) for n in order], ns)
    async with asyncio.timeout(60):
        done = {n: await t for n, t in watch.items()}
    async with asyncio.timeout(60):
        polled = {n: await t for n, t in poll.items()}
    await hook.close()
    statuses = {s for _, s in done.values()}
    if statuses != {"ready"}:
        raise RuntimeError(f"trigger events: {statuses}")
    return {"watch": [done[n][0] - landed[n] for n in names],
            "poll": [polled[n] - landed[n] for n in names], "rates": rates,
            "writes_s": max(landed.values()) - min(landed.values())}


async def scale(link: SandboxLink, waits: int, steady: float, traced: bool) -> dict[str, Any]:
    from airflow_provider.hooks import informer

    ns = NAMESPACES[2] if traced else NAMESPACES[1]
    names = [f"s-{i}" for i in range(waits)]
    await link.aask("create", names, ns)
    out: dict[str, Any] = {"hwm_reset": reset_peak_rss(), "rss_before": proc_status("VmRSS")}
    if traced:
        tracemalloc.start()
        heap_before = tracemalloc.get_traced_memory()[0]
    tasks = {n: asyncio.ensure_future(watch_wait(trigger(link.kubeconfig, n, ns)))
             for n in names}
    started = time.perf_counter()
    await until_watching(link, ns)
    out["all_watching_s"] = time.perf_counter() - started
    await asyncio.sleep(2.0)  # settle: every trigger has evaluated its object
    if any(t.done() for t in tasks.values()):
        raise RuntimeError("a trigger ended before its Service was ready")
    requests0, _, t0 = await link.aask("stats")
    client0 = informer.stats().lists + informer.stats().watch_requests
    await asyncio.sleep(steady)
    requests1, watches, t1 = await link.aask("stats")
    out["requests"] = sum(requests1.values()) - sum(requests0.values())
    out["rate"] = out["requests"] / (t1 - t0)
    out["client_requests"] = informer.stats().lists + informer.stats().watch_requests - client0
    out["watches"] = {res: n for (res, wns), n in watches.items() if wns == ns}
    out["watches_client"] = informer.stats().open_watches
    landed = await link.aask("flip", [(n, 0.0) for n in names], ns)
    async with asyncio.timeout(120):
        done = {n: await t for n, t in tasks.items()}
    if {s for _, s in done.values()} != {"ready"}:
        raise RuntimeError(f"trigger events: {sorted({s for _, s in done.values()})}")
    out["rss_peak"] = proc_status("VmHWM")
    out["latency"] = [done[n][0] - landed[n] for n in names]
    out["writes_s"] = max(landed.values()) - min(landed.values())
    out["all_ready_s"] = max(t for t, _ in done.values()) - min(landed.values())
    if traced:
        out["heap_growth"] = (tracemalloc.get_traced_memory()[1] - heap_before) / 2**20
        tracemalloc.stop()
    await asyncio.sleep(1.5)  # the server notices the closed streams at its next bookmark
    _, watches, _ = await link.aask("stats")
    out["watches_after"] = sum(n for (_, wns), n in watches.items() if wns == ns)
    return out


def report(args: argparse.Namespace, baseline: dict[str, float], lat: dict[str, Any],
           sc: dict[str, Any], traced: dict[str, Any]) -> None:
    where = ("a child process (multiprocessing, spawn)" if args.sandbox == "process"
             else "a background thread of this process")
    print(f"inference-stacks readiness benchmark: sandbox API server in {where}, "
          f"controllers off; Python {sys.version.split()[0]}")
    print()
    print(f"Latency, {args.runs} runs: Ready=True written to the sandbox store -> trigger event "
          f"(ms); writes spread over {lat['writes_s']:.1f} s")
    print(f"  {'':38s}{'p50':>9s} {'p95':>9s} {'max':>9s}")
    print(f"  {'watch trigger (InferenceReadyTrigger)':38s}{ms(lat['watch'])}")
    print(f"  {f'{args.interval:g} s polling (GET + same check)':38s}{ms(lat['poll'])}")
    rates = lat["rates"]
    print(f"  API requests/s while waiting: {rates.get('get', 0):.1f} GET (the pollers), "
          f"{rates.get('list', 0) + rates.get('watch', 0):.1f} list/watch (the triggers)")
    print()
    print("RSS of this process before any wait (MB): " + ", ".join(
        f"{label} {value:.0f}" for label, value in baseline.items()))
    print()
    print(f"Scale, {args.waits} concurrent waits in one event loop (this process = triggerer)")
    growth = sc["rss_peak"] - sc["rss_before"]
    note = "" if sc["hwm_reset"] else " (VmHWM could not be reset: lifetime peak)"
    rows = [
        ("RSS before the waits", f"{sc['rss_before']:.1f} MB"),
        ("peak RSS during the waits (VmHWM)", f"{sc['rss_peak']:.1f} MB (+{growth:.1f} MB){note}"),
        ("Python heap growth, peak (tracemalloc)",
         f"{traced['heap_growth']:.1f} MB (separate traced run, {args.waits} waits)"),
        (f"API requests/s, steady state ({args.steady:g} s)",
         f"{sc['rate']:.2f} ({sc['requests']} requests in the sandbox log; "
         f"{sc['client_requests']} list/watch calls by the informers)"),
        ("open watch streams (server side)",
         f"{sum(sc['watches'].values())}: " + ", ".join(
             f"{res} {n}" for res, n in sorted(sc["watches"].items()))),
        ("open watch streams (informer count)", f"{sc['watches_client']}"),
        ("all triggers watching after", f"{sc['all_watching_s']:.2f} s"),
        (f"all {args.waits} ready events after the first write",
         f"{sc['all_ready_s']:.2f} s ({args.waits} writes took {sc['writes_s']:.2f} s)"),
        ("per-wait latency in that burst p50/p95/max",
         " / ".join(f"{v:.1f}" for v in (statistics.median(sc["latency"]) * 1000,
                                          pct(sc["latency"], .95) * 1000,
                                          max(sc["latency"]) * 1000)) + " ms"),
        ("watch streams left open on the server", f"{sc['watches_after']}"),
    ]
    for label, value in rows:
        print(f"  {label:44s} {value}")


async def run(args: argparse.Namespace, baseline: dict[str, float]) -> None:
    link = SandboxLink(args.sandbox)
    try:
        await warm_up(link)
        baseline["after one wait (kubernetes_asyncio client)"] = proc_status("VmRSS")
        sc = await scale(link, args.waits, args.steady, traced=False)
        traced = await scale(link, args.waits, 0.5, traced=True)
        lat = await latency(link, args.runs, args.interval)
    finally:
        link.stop()
    report(args, baseline, lat, sc, traced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=200, help="latency runs (default 200)")
    parser.add_argument("--waits", type=int, default=1000,
                        help="concurrent waits for the scale run (default 1000)")
    parser.add_argument("--interval", type=float, default=2.0,
                        help="polling baseline interval in s (default 2)")
    parser.add_argument("--steady", type=float, default=5.0,
                        help="steady-state window in s for requests/s (default 5)")
    parser.add_argument("--sandbox", choices=("process", "thread"), default="process",
                        help="where the sandbox API server runs (default: a child process)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)
    baseline = {"interpreter + benchmark module": proc_status("VmRSS")}
    import airflow.sdk  # noqa: F401

    baseline["import airflow.sdk"] = proc_status("VmRSS")
    import airflow_provider.triggers.readiness  # noqa: F401  (Airflow configures logging)

    baseline["import the trigger module"] = proc_status("VmRSS")
    logging.disable(logging.INFO)
    asyncio.run(run(args, baseline))


if __name__ == "__main__":
    main()
