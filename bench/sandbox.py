"""Benchmark the sandbox API server: GET and server-side-apply throughput, watch fan-out.

The server runs in its own process (``python -m inference_sandbox up``), as in the demo, so
the load generator does not share its interpreter. Prints measured figures; nothing is
estimated. Usage::

    .venv/bin/python bench/sandbox.py [--seconds 3] [--concurrency 32] [--watchers 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[1]
CM_PATH = "/api/v1/namespaces/default/configmaps"


def start_server(kubeconfig: Path, *, insecure_http: bool = False
                 ) -> tuple[subprocess.Popen[str], str, str]:
    """Run ``python -m inference_sandbox up``; return (process, url, token).
    The CA the server's certificate chains to is in the kubeconfig (:func:`ssl_context`)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "inference_sandbox", "up", "--kubeconfig", str(kubeconfig),
         "--speed", "1", *(["--insecure-http"] if insecure_http else [])],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for _ in range(20):
        line = proc.stdout.readline()
        if line.startswith("sandbox API server: "):
            break
    else:
        proc.kill()
        raise RuntimeError("the sandbox did not start")
    config = yaml.safe_load(kubeconfig.read_text())
    return proc, config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"]


def ssl_context(kubeconfig: Path) -> ssl.SSLContext | bool:
    """Trust the CA written into the kubeconfig (``certificate-authority-data``); False (no
    TLS) for a plain-HTTP server."""
    cluster = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]
    if "certificate-authority-data" not in cluster:
        return False
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    return ssl.create_default_context(cadata=ca)


async def timed_loop(session: aiohttp.ClientSession, seconds: float, concurrency: int,
                     request: object) -> tuple[int, list[float], int]:
    """Run ``request(session, i)`` from ``concurrency`` workers for ``seconds``."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0

    async def worker(wid: int) -> None:
        nonlocal errors
        i = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status = await request(session, wid * 1_000_000 + i)  # type: ignore[operator]
            latencies.append(time.perf_counter() - start)
            if status >= 400:
                errors += 1
            i += 1

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return len(latencies), latencies, errors


def report(name: str, count: int, seconds: float, latencies: list[float], errors: int) -> None:
    """Print one throughput line."""
    latencies = sorted(latencies)
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"{name:<34} {count / seconds:8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"
          f"   errors {errors}")


async def bench_requests(url: str, token: str, seconds: float, concurrency: int,
                         tls: ssl.SSLContext | bool) -> None:
    """GET one object, then server-side apply, at fixed concurrency."""
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=tls)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector) as session:
        await session.post(CM_PATH, json={"metadata": {"name": "bench"}, "data": {"k": "v"}})

        async def get(s: aiohttp.ClientSession, _: int) -> int:
            async with s.get(f"{CM_PATH}/bench") as response:
                await response.read()
                return response.status

        async def apply(s: aiohttp.ClientSession, i: int) -> int:
            body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": f"apply-{i % 50}"},
                               "data": {"i": str(i)}})
            async with s.patch(f"{CM_PATH}/apply-{i % 50}?fieldManager=bench&force=true",
                               data=body,
                               headers={"Content-Type": "application/apply-patch+yaml"}
                               ) as response:
                await response.read()
                return response.status

        count, lat, errors = await timed_loop(session, seconds, concurrency, get)
        report(f"GET configmap (c={concurrency})", count, seconds, lat, errors)
        count, lat, errors = await timed_loop(session, seconds, concurrency, apply)
        report(f"server-side apply (c={concurrency})", count, seconds, lat, errors)


def bench_official_client(kubeconfig: Path, seconds: float) -> None:
    """One thread of the official sync client, as an operator or hook uses it."""
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    deadline = time.perf_counter() + seconds
    latencies = []
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        api.read_namespaced_config_map("bench", "default")
        latencies.append(time.perf_counter() - start)
    report("GET, official client (1 thread)", len(latencies), seconds, latencies, 0)


async def bench_fanout(url: str, token: str, watchers: int, updates: int,
                       tls: ssl.SSLContext | bool) -> None:
    """``watchers`` concurrent watch streams; ``updates`` writes; all events delivered."""
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=0, ssl=tls)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
    async with aiohttp.ClientSession(url, headers=headers, connector=connector,
                                     timeout=timeout) as session:
        await session.post(CM_PATH, json={"metadata": {"name": "fan",
                                                       "labels": {"bench": "fanout"}}})
        async with session.get(CM_PATH) as response:
            rv = (await response.json())["metadata"]["resourceVersion"]
        received = [0] * watchers
        first_at: list[float] = []
        ready = asyncio.Event()
        opened = 0

        async def watch(i: int) -> None:
            nonlocal opened
            path = (f"{CM_PATH}?watch=true&resourceVersion={rv}&labelSelector=bench%3Dfanout"
                    f"&timeoutSeconds=300")
            async with session.get(path) as response:
                opened += 1
                if opened == watchers:
                    ready.set()
                async for _line in response.content:
                    received[i] += 1
                    if received[i] >= updates:
                        return

        tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
        start_open = time.perf_counter()
        async with asyncio.timeout(120):
            await ready.wait()
        open_time = time.perf_counter() - start_open
        start = time.perf_counter()
        for i in range(updates):
            async with session.patch(f"{CM_PATH}/fan", data=json.dumps({"data": {"i": str(i)}}),
                                     headers={"Content-Type": "application/merge-patch+json"}
                                     ) as response:
                await response.read()
        write_time = time.perf_counter() - start
        async with asyncio.timeout(300):
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        del first_at
        total = sum(received)
        print(f"watch fan-out: {watchers} watchers opened in {open_time:.2f} s; {updates} updates "
              f"written in {write_time:.2f} s")
        print(f"{'watch fan-out delivery':<34} {total / elapsed:8.0f} events/s   "
              f"({total} events in {elapsed:.2f} s, "
              f"min/median per watcher {min(received)}/{statistics.median(received):.0f})")


def main() -> int:
    """Run all measurements against a fresh sandbox process."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--insecure-http", action="store_true",
                        help="serve plain HTTP (compare with the default HTTPS)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        proc, url, token = start_server(kubeconfig, insecure_http=args.insecure_http)
        try:
            print(f"sandbox at {url} (separate process); Python {sys.version.split()[0]}")
            tls = ssl_context(kubeconfig)
            asyncio.run(bench_requests(url, token, args.seconds, args.concurrency, tls))
            bench_official_client(kubeconfig, args.seconds)
            asyncio.run(bench_fanout(url, token, args.watchers, args.updates, tls))
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
