"""Benchmark: canary analysis against the sandbox's data plane.

1. **Breach to stable**: a candidate with 3x the time to first token gets 10 % of a burst of
   requests; from the moment the last of them is answered (the breach is in the servers'
   metrics) to the moment the data plane routes the Service URL 100 % to stable again.
   That is: wait for the metrics provider to have the breach (Prometheus: its next scrape;
   direct scrape: nothing), one analysis, the rollback through the engine (apply + route
   ready), and the data plane's watch. Target: <= one scrape interval plus one step check.
2. **Analysis overhead per step**: the time ``run_canary`` spends judging one window (both
   versions measured, gates evaluated) for an equal candidate, per provider.

Prometheus (Debian's package) is used when installed, else only the direct scrape runs.

Run: ``.venv/bin/python bench/promotion.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference_core.analysis.canary import CanaryConfig, run_canary  # noqa: E402
from inference_core.analysis.errors import CanaryFailed  # noqa: E402
from inference_core.analysis.gates import Thresholds  # noqa: E402
from inference_core.analysis.load import LoadGenerator  # noqa: E402
from inference_core.analysis.prometheus import PrometheusProvider  # noqa: E402
from inference_core.analysis.scrape import DirectScrapeProvider, file_sd_targets  # noqa: E402
from inference_core.analysis.traffic import KnativeTraffic  # noqa: E402
from inference_core.rollout.client import KubernetesClient  # noqa: E402
from inference_core.rollout.engine import Engine  # noqa: E402
from inference_sandbox import Sandbox, SandboxConfig  # noqa: E402
from inference_sandbox.dataplane import DataPlane  # noqa: E402
from inference_sandbox.dataplane.prometheus import LocalPrometheus, prometheus_binary  # noqa: E402
from tests.promotion.cluster import HOST, MODEL, PROJECT, URL, chat_spec  # noqa: E402

SCRAPE = 1.0


def scraped(provider: PrometheusProvider, plane: DataPlane, revisions: list[str]) -> bool:
    for rev in revisions:
        server = plane.server(PROJECT, rev)
        got = provider.query(f'sum(http_requests_total{{revision="{rev}"}}) or vector(0)',
                             time.time())
        if server is None or got is None or int(got) != server.requests:
            return False
    return True


def one_run(candidate_ttft: str, use_prometheus: bool, n: int) -> dict[str, Any]:
    """Deploy stable + candidate, run the canary; the figures of this run."""
    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(SandboxConfig(speed=100, namespaces=["default", PROJECT])).running() as sb:
        sd = Path(tmp) / "targets.json"
        client = KubernetesClient.from_kubeconfig(sb.kubeconfig_path)
        engine = Engine(client, by="bench")
        engine.deploy(chat_spec({"FAKE_TTFT_MS": "15"}), wait=True, timeout_s=120)
        engine.deploy(chat_spec({"FAKE_TTFT_MS": candidate_ttft, "MODEL_VERSION": "2"}),
                      candidate_tag="candidate", rollout_id="c", wait=True, timeout_s=120)
        with DataPlane(sb.kubeconfig_path, time_scale=0.0, sd_file=sd).running() as plane:
            prom = LocalPrometheus(sd, scrape_interval=f"{SCRAPE:g}s") if use_prometheus \
                else None
            if prom is not None:
                prom.start()
            try:
                traffic = KnativeTraffic(engine, "chat", PROJECT, rollout_id="c")
                revisions = [traffic.stable.revision, traffic.candidate.revision]
                provider: Any = PrometheusProvider(prom.url) if prom is not None else \
                    DirectScrapeProvider(file_sd_targets(sd))
                if prom is not None:
                    while not scraped(provider, plane, revisions):
                        time.sleep(0.1)
                load = LoadGenerator(URL, model=MODEL, connect_to=plane.connect_to,
                                     rate=100_000, concurrency=4)
                marks: dict[str, float] = {}

                def bake(seconds: float, percent: int) -> None:
                    live = client.get("serving.knative.dev/v1", "Service", "chat", PROJECT)
                    routed = {t["revisionName"]: t["percent"]
                              for t in live["status"]["traffic"] if t.get("percent")}
                    plane.wait_until(lambda p: p.routes(HOST) == routed, 30)
                    load.run(300, requests=n)
                    marks["breach"] = time.monotonic()
                    if prom is not None:  # the analysis runs once the provider has it
                        while not scraped(provider, plane, revisions):
                            time.sleep(0.02)
                    marks["provider_has_it"] = time.monotonic()

                config = CanaryConfig(steps=(10, 25, 50, 100), bake_s=1, max_wait_s=5,
                                      thresholds=Thresholds(min_requests=20))
                out: dict[str, Any] = {"steps": []}
                try:
                    record = run_canary(traffic, provider, config, bake=bake)
                    out["steps"] = [s.analysis_s for s in record.steps]
                    out["outcome"] = record.outcome
                except CanaryFailed as err:
                    plane.wait_until(lambda p: p.routes(HOST) == {traffic.stable.revision: 100},
                                     30)
                    stable_at = time.monotonic()
                    out["outcome"] = err.record["outcome"]
                    out["breach_to_stable"] = stable_at - marks["breach"]
                    out["scrape_wait"] = marks["provider_has_it"] - marks["breach"]
                    out["rollback_s"] = err.record["rollback_s"]
                    out["steps"] = [s["analysis_s"] for s in err.record["steps"]]
                return out
            finally:
                if prom is not None:
                    prom.stop()
                client.close()


def fmt(values: list[float]) -> str:
    values = sorted(values)
    return (f"p50 {statistics.median(values) * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms "
            f"(n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400, help="requests per bake")
    args = parser.parse_args()
    providers = [False] + ([True] if prometheus_binary() else [])
    for use_prom in providers:
        name = f"prometheus ({SCRAPE:g}s scrape)" if use_prom else "direct scrape"
        breach, scrape_wait, rollback, overhead = [], [], [], []
        for _ in range(args.repeat):
            r = one_run("45", use_prom, args.requests)
            assert r["outcome"] == "rolled-back", r
            breach.append(r["breach_to_stable"])
            scrape_wait.append(r["scrape_wait"])
            rollback.append(r["rollback_s"])
            r = one_run("15", use_prom, args.requests)
            assert r["outcome"] == "promoted", r
            overhead += r["steps"]
        print(f"{name}:")
        print(f"  breach in metrics -> traffic 100% on stable: {fmt(breach)}")
        print(f"    of which waiting for the provider to have it: {fmt(scrape_wait)}")
        print(f"    of which rollback through the engine (apply + routed): {fmt(rollback)}")
        print(f"  analysis per step (both versions measured, gates): {fmt(overhead)}")


if __name__ == "__main__":
    main()
