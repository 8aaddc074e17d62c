"""The demo: what `make demo` runs, on local defaults, with no cluster and no network.

1. Validate and render every example spec with the cluster profile it names.
2. Start the local Kubernetes API server (test and demo infrastructure, 127.0.0.1 only)
   with simulated Knative and LeaderWorkerSet controllers.
3. Run the Airflow promotion pipeline against it (deploy a candidate, wait until it
   serves, smoke-test the tag URL, shift traffic 10 % -> 50 % -> 100 %), printing each step.

``scripts/demo.sh --fail`` deploys a candidate whose image cannot be pulled instead: the
pipeline fails fast with the kubelet's reason and rolls the traffic back.
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
        config = SandboxConfig(speed=float(os.environ.get("INFSTACK_DEMO_SPEED", "60")))
        with Sandbox(config).running() as sandbox:
            print(f"  API server at {sandbox.url}, kubeconfig {sandbox.kubeconfig_path}")
            print("\n== 3. run the promotion pipeline with Airflow (dag.test)")
            env = dict(os.environ, AIRFLOW_HOME=str(Path(tmp) / "airflow"))
            return subprocess.call(
                [sys.executable, "-m", "airflow_provider.demo", "--kubeconfig",
                 str(sandbox.kubeconfig_path), *extra_args], env=env, cwd=REPO)


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)  # passed on: --fail, --verbose
    render_examples()
    return run_pipeline(extra)


if __name__ == "__main__":
    sys.exit(main())
