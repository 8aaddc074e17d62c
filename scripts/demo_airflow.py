"""Run the model-promotion DAG end to end against a Kubernetes API server and print it.

    python scripts/demo_airflow.py --kubeconfig /path/to/kubeconfig [--fail]

Starts nothing itself: the API server (for example the local sandbox) must be running.
Airflow runs in-process (``dag.test()``) with a throw-away home and SQLite database. The
first run deploys the stable version and then the candidate; ``--fail`` deploys a
candidate whose image cannot be pulled, to show the fail-fast rollback: the demo prints
why the candidate failed (the kubelet's reason) and where the traffic went back to.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "dags"
if str(REPO) not in sys.path:  # run as a script: the DAG runner lives in the tests
    sys.path.insert(0, str(REPO))
BAD_IMAGE = "registry.example.com/acme/sentiment:does-not-exist"
#: model_promotion's tasks in the order they run (for the failure lines).
TASK_ORDER = ("train", "register", "needs_baseline", "deploy_baseline", "deploy_candidate",
              "smoke_test", "traffic_10", "traffic_50", "promote", "rollback", "report")


def _split(traffic: list[dict[str, Any]]) -> str:
    return ", ".join(f"{t['revision']} {t['percent']}%"
                     + (f" (tag {t['tag']})" if t.get("tag") else "") for t in traffic)


def _ordered(task_ids: Iterable[str]) -> list[str]:
    ids = set(task_ids)
    return [t for t in TASK_ORDER if t in ids] + sorted(ids - set(TASK_ORDER))


def describe(result: Any) -> list[str]:
    """Human lines: deploy, ready, traffic steps, final URL; or each failure with its
    reason, the tasks that did not run, and the rollback."""
    r, s = result.returns, result.task_states
    errors = getattr(result, "errors", {}) or {}
    lines = []
    if s.get("deploy_baseline") == "success":
        b = r["deploy_baseline"]
        lines.append(f"deploy baseline: {b['kind']} {b['namespace']}/{b['name']} ready, "
                     f"revision {b['revision']}, url {b['url']}")
    c = r.get("deploy_candidate")
    if c:
        lines.append(f"deploy candidate: revision {c['revision']} ready; tag URLs {c['tag_urls']}")
    if "smoke_test" in r:
        lines.append(f"smoke test: {r['smoke_test']['url']} routes to "
                     f"{r['smoke_test']['revision']}")
    for task_id in ("traffic_10", "traffic_50", "promote"):
        if task_id in r:
            lines.append(f"{task_id}: {_split(r[task_id]['traffic'])}")
    for task_id in _ordered(t for t, state in s.items() if state in ("failed", "up_for_retry")):
        failure = errors.get(task_id)
        lines.append(f"{task_id} failed: {failure if failure else 'reason not recorded'}"
                     + (f" (after {result.durations[task_id]:.1f}s)"
                        if task_id in getattr(result, "durations", {}) else ""))
    not_run = _ordered(t for t, state in s.items() if state == "upstream_failed")
    if not_run:
        lines.append(f"not run (an upstream task failed): {', '.join(not_run)}")
    if "rollback" in r:
        rb = r["rollback"]
        serving = [t["revision"] for t in rb["traffic"] if t["percent"]]
        lines.append(f"rollback: all traffic back to {', '.join(serving)} ({_split(rb['traffic'])})"
                     + (f", url {rb['url']}" if rb.get("url") else ""))
    if "report" in r:
        lines.append(f"final URL: {r['report']['url']} (revision {r['report']['revision']})")
    lines.append(f"run {result.run_id}: {result.state}")
    return lines


#: Airflow log levels for the demo (set before Airflow is imported): warnings, but not the
#: failed task's traceback (the demo prints each failure's reason itself) nor dag.test()'s
#: "No tasks to run" notices while it marks tasks upstream_failed.
QUIET_LOGGING = {
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    "AIRFLOW__LOGGING__NAMESPACE_LEVELS": "task=CRITICAL",
}


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; exit code 0 when the run did what was asked."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the API server")
    parser.add_argument("--candidate-image", default="registry.example.com/acme/sentiment:1.1")
    parser.add_argument("--stable-image", default="registry.example.com/acme/sentiment:1.0")
    parser.add_argument("--fail", action="store_true",
                        help=f"deploy a broken candidate ({BAD_IMAGE}) to show the rollback")
    parser.add_argument("--airflow-home", default=None, help="default: a temporary directory")
    parser.add_argument("--verbose", action="store_true",
                        help="keep Airflow's log levels (task logs, tracebacks)")
    args = parser.parse_args(argv)

    if not args.verbose:
        for key, value in QUIET_LOGGING.items():
            os.environ.setdefault(key, value)
    from tests.airflow import dagrun

    home = Path(args.airflow_home or tempfile.mkdtemp(prefix="infstack-airflow-"))
    dagrun.prepare_airflow_home(home, DAGS)
    dagrun.use_kubeconfig(args.kubeconfig)
    start = time.perf_counter()
    conf = {"stable_image": args.stable_image,
            "candidate_image": BAD_IMAGE if args.fail else args.candidate_image}
    import airflow  # noqa: F401  (configures logging: levels can be set from here on)

    dag_log = logging.getLogger("airflow.sdk.definitions.dag")  # dag.test()'s own notices
    saved_level = dag_log.level
    if not args.verbose:
        dag_log.setLevel(logging.ERROR)
    try:
        dagrun.migrate_db()
        result = dagrun.run_dag(dagrun.load_dag(DAGS, "model_promotion"), conf)
    finally:
        dag_log.setLevel(saved_level)
    print("== model_promotion (Airflow dag.test against", args.kubeconfig + ")")
    if args.fail:
        print(f"  candidate image {conf['candidate_image']} (expected to fail and roll back)")
    for line in describe(result):
        print("  " + line)
    print(f"  took {time.perf_counter() - start:.1f}s")
    problem = unexpected_outcome(result, fail=args.fail)
    if problem:
        print(f"  unexpected outcome: {problem}", file=sys.stderr)
    return 1 if problem else 0


def unexpected_outcome(result: Any, *, fail: bool) -> str | None:
    """Why the run is not what the mode promises (None when it is).

    Happy path: the run succeeded. ``--fail``: the run failed *because the candidate
    failed* (its error was recorded) and the rollback ran.
    """
    if not fail:
        return None if result.state == "success" else f"the run ended {result.state}"
    if result.state != "failed":
        return f"the run ended {result.state}, not failed"
    if "deploy_candidate" not in result.errors:
        return "the run failed, but not at deploy_candidate"
    if result.task_states.get("rollback") != "success":
        return f"rollback is {result.task_states.get('rollback')}, not success"
    return None


if __name__ == "__main__":
    sys.exit(main())
