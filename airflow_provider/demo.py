"""Run the model-promotion DAG end to end against a Kubernetes API server and print it.

    python -m airflow_provider.demo --kubeconfig /path/to/kubeconfig [--fail]

Starts nothing itself: the API server (for example the local sandbox) must be running.
Airflow runs in-process (``dag.test()``) with a throw-away home and SQLite database. The
first run deploys the stable version and then the candidate; ``--fail`` deploys a
candidate whose image cannot be pulled, to show the fail-fast rollback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DAGS = Path(__file__).resolve().parents[1] / "dags"
BAD_IMAGE = "registry.example.com/acme/sentiment:does-not-exist"


def describe(result: Any) -> list[str]:
    """Human lines: deploy, ready, traffic steps, final URL (or the failure and rollback)."""
    r, s = result.returns, result.task_states
    lines = []
    if s.get("deploy_baseline") == "success":
        b = r["deploy_baseline"]
        lines.append(f"deploy baseline: {b['kind']} {b['namespace']}/{b['name']} ready, "
                     f"revision {b['revision']}, url {b['url']}")
    c = r.get("deploy_candidate")
    if c:
        lines.append(f"deploy candidate: revision {c['revision']} ready; tag URLs {c['tag_urls']}")
    else:
        lines.append(f"deploy candidate: {s.get('deploy_candidate')}")
    if "smoke_test" in r:
        lines.append(f"smoke test: {r['smoke_test']['url']} routes to "
                     f"{r['smoke_test']['revision']}")
    for task_id in ("traffic_10", "traffic_50", "promote", "rollback"):
        if task_id in r:
            split = ", ".join(f"{t['revision']} {t['percent']}%"
                              + (f" (tag {t['tag']})" if t.get("tag") else "")
                              for t in r[task_id]["traffic"])
            lines.append(f"{task_id}: {split}")
        elif s.get(task_id) not in (None, "skipped"):
            lines.append(f"{task_id}: {s[task_id]}")
    if "report" in r:
        lines.append(f"final URL: {r['report']['url']} (revision {r['report']['revision']})")
    lines.append(f"run {result.run_id}: {result.state}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; exit code 0 when the run did what was asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the API server")
    parser.add_argument("--candidate-image", default="registry.example.com/acme/sentiment:1.1")
    parser.add_argument("--stable-image", default="registry.example.com/acme/sentiment:1.0")
    parser.add_argument("--fail", action="store_true",
                        help=f"deploy a broken candidate ({BAD_IMAGE}) to show the rollback")
    parser.add_argument("--airflow-home", default=None, help="default: a temporary directory")
    args = parser.parse_args(argv)

    from airflow_provider import dagrun

    home = Path(args.airflow_home or tempfile.mkdtemp(prefix="infstack-airflow-"))
    dagrun.prepare_airflow_home(home, DAGS)
    dagrun.use_kubeconfig(args.kubeconfig)
    import logging

    logging.getLogger("airflow").setLevel(logging.WARNING)
    start = time.perf_counter()
    dagrun.migrate_db()
    dag = dagrun.load_dag(DAGS, "model_promotion")
    conf = {"stable_image": args.stable_image,
            "candidate_image": BAD_IMAGE if args.fail else args.candidate_image}
    result = dagrun.run_dag(dag, conf)
    print("== model_promotion (Airflow dag.test against", args.kubeconfig + ")")
    for line in describe(result):
        print("  " + line)
    print(f"  took {time.perf_counter() - start:.1f}s")
    expected = "failed" if args.fail else "success"
    return 0 if result.state == expected else 1


if __name__ == "__main__":
    sys.exit(main())
