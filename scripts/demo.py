"""The demo: what `make demo` runs, on local defaults, with no cluster and no network.

1. Validate and render every example spec with the cluster profile it names.
2. Start the local Kubernetes API server (test and demo infrastructure, 127.0.0.1 only)
   with simulated Knative and LeaderWorkerSet controllers.
3. Run the Airflow promotion pipeline against it (deploy a candidate, wait until it
   serves, smoke-test the tag URL, shift traffic 10 % -> 50 % -> 100 %), printing each step.
4. Promote a vLLM model with the CLI (``scripts/demo_promotion.py``): deploy stable and a
   tagged candidate, smoke-test the candidate's tag URL with the openai client through the
   sandbox's data plane, then a canary 10 -> 25 -> 50 % judged on TTFT/e2e p95 and 5xx rate
   from a real Prometheus (direct scrape when it is not installed), and promote.

``scripts/demo.sh --fail`` deploys a candidate whose image cannot be pulled in step 3 (the
pipeline fails fast with the kubelet's reason and rolls the traffic back) and, in step 4, a
candidate three times slower to its first token: the canary catches it at 10 % and rolls
back by itself, with the numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def render_examples() -> None:
    from inference_core.profile import load_profile
    from inference_core.render import render, serving_object
    from inference_core.spec import load_specs

    print("== 1. validate and render every example")
    for path in sorted((REPO / "examples").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        profile_name = first.split(":", 1)[1].strip() if first.startswith("# profile:") \
            else "default"
        profile = load_profile(profile_name)
        for spec in load_specs(path):
            objects = render(spec, profile)
            serving = serving_object(objects)
            kinds = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
            print(f"  {path.name:<28} [{profile_name}] {spec.kind} "
                  f"{serving['metadata']['namespace']}/{spec.metadata.name}: {kinds}")


def run_pipeline(extra_args: list[str]) -> int:
    from inference_sandbox import Sandbox, SandboxConfig

    print("\n== 2. start the local Kubernetes API server (simulated Knative/LWS)")
    with tempfile.TemporaryDirectory(prefix="infstack-demo-") as tmp:
        config = SandboxConfig(speed=float(os.environ.get("INFSTACK_DEMO_SPEED", "60")),
                               namespaces=("default", "team-b"))
        with Sandbox(config).running() as sandbox:
            print(f"  API server at {sandbox.url}, kubeconfig {sandbox.kubeconfig_path}")
            print("\n== 3. run the promotion pipeline with Airflow (dag.test)")
            env = dict(os.environ, AIRFLOW_HOME=str(Path(tmp) / "airflow"))
            airflow_code = subprocess.call(
                [sys.executable, str(REPO / "scripts" / "demo_airflow.py"), "--kubeconfig",
                 str(sandbox.kubeconfig_path), *extra_args], env=env, cwd=REPO)
            print("\n== 4. promote a vLLM model with the CLI: smoke test, then a metric-gated "
                  "canary" + (" (candidate with 3x the time to first token)"
                              if "--fail" in extra_args else ""))
            sys.path.insert(0, str(REPO / "scripts"))
            import demo_promotion

            promotion_code = demo_promotion.run(
                str(sandbox.kubeconfig_path), fail="--fail" in extra_args,
                out=lambda line: print("  " + line, flush=True))
            return airflow_code or promotion_code


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)  # passed on: --fail, --verbose
    render_examples()
    return run_pipeline(extra)


if __name__ == "__main__":
    sys.exit(main())
