"""DAG-parse cost: what importing our operators adds over ``import airflow.sdk``.

Each measurement is a fresh interpreter (so nothing is cached in ``sys.modules``) that
times ``import airflow.sdk`` and then the extra import; cncf-kubernetes' operators are
measured the same way in the same run. Prints medians over N runs.

    .venv/bin/python bench/airflow_parse_cost.py [N]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile

PROBE = """
import json, os, time
t0 = time.perf_counter()
import airflow.sdk
t1 = time.perf_counter()
{extra}
t2 = time.perf_counter()
print(json.dumps({{"sdk": t1 - t0, "extra": t2 - t1}}))
"""

CASES = {
    "inference-stacks operators + sensor": (
        "import airflow_provider.operators.deploy, airflow_provider.operators.rolling_update, "
        "airflow_provider.operators.traffic, airflow_provider.operators.delete, "
        "airflow_provider.sensors.ready"),
    "cncf-kubernetes KubernetesPodOperator": (
        "import airflow.providers.cncf.kubernetes.operators.pod"),
    "cncf-kubernetes resource operators": (
        "import airflow.providers.cncf.kubernetes.operators.resource"),
}


def measure(extra: str, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(extra=extra)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import os

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    home = tempfile.mkdtemp(prefix="bench-airflow-")
    env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    measure("pass", env)  # warm the OS file cache
    print(f"DAG-parse import cost, median of {n} fresh interpreters (ms)")
    print(f"{'case':42s} {'import airflow.sdk':>18s} {'extra import':>13s} {'p90 extra':>10s}")
    for label, extra in CASES.items():
        rows = [measure(extra, env) for _ in range(n)]
        sdk = statistics.median(r["sdk"] for r in rows) * 1000
        extras = sorted(r["extra"] * 1000 for r in rows)
        p90 = extras[min(len(extras) - 1, int(0.9 * len(extras)))]
        print(f"{label:42s} {sdk:18.1f} {statistics.median(extras):13.1f} {p90:10.1f}")
    print("target: inference-stacks extra import <= 50 ms")


if __name__ == "__main__":
    main()
