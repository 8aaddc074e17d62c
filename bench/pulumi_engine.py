"""``pulumi preview`` and ``pulumi up`` wall time through the real engine: N components
(``pulumi_components``) against a raw ``pulumi_kubernetes`` program creating the same objects.

Both programs run through the Go-built Pulumi CLI and Kubernetes provider
(``scripts/setup.d/20-pulumi-tools.sh``) as Automation API inline programs, on a local file
backend, against the real kube-apiserver with kube-controller-manager and the simulated
controllers (their own process, 30x; ``tests/pulumi_real/cluster.py``).
``layer``: one component per workload (validation, rendering, children, outputs, and the wait
with the core's readiness). ``raw``: the rendered manifests (rendered before the clock starts)
as ``pulumi_kubernetes`` resources with the same names, bodies and ``depends_on``; the
provider awaits the serving objects (the renderer's ``pulumi.com/waitFor``); its v1 Services
carry ``pulumi.com/skipAwait``, as the layer's do (the test cluster has no load-balancer
controller, so the provider's Service await would wait for an address). Each mode gets a
fresh stack: ``preview`` (all creates), ``up``, then a second ``up`` (no changes); ``destroy``
is not timed.

    .venv/bin/python bench/pulumi_engine.py [--components 50] [--modes raw,layer]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def workloads(count: int, prefix: str) -> list[tuple[str, dict[str, Any], str]]:
    """(name, spec document, profile), cycling through the examples."""
    import yaml

    from tests.helpers import EXAMPLES, example_profile

    base = [(yaml.safe_load(p.read_text(encoding="utf-8")), example_profile(p))
            for p in EXAMPLES]
    out = []
    for i in range(count):
        doc, profile = base[i % len(base)]
        doc = json.loads(json.dumps(doc))
        doc["metadata"]["name"] = f"{prefix}{i}-{doc['metadata']['name']}"[:40].rstrip("-")
        out.append((doc["metadata"]["name"], doc, profile))
    return out


def program_for(mode: str, docs: list[tuple[str, dict[str, Any], str]]) -> Any:
    import pulumi

    from inference_core.profile import load_profile
    from inference_core.render import render
    from inference_core.spec import parse_spec
    from pulumi_components import InferenceArgs, component_for
    from pulumi_components.children import SERVING, create, gvk, role_of

    profiles = {p: load_profile(p) for _, _, p in docs}
    prerendered = [(name, render(parse_spec(doc), profiles[p])) for name, doc, p in docs]
    for _, manifests in prerendered:
        for obj in manifests:  # as the layer does: no wait for a load balancer address
            if (obj["apiVersion"], obj["kind"]) == ("v1", "Service"):
                obj["metadata"].setdefault("annotations", {})["pulumi.com/skipAwait"] = "true"

    def layer() -> None:
        for name, doc, profile in docs:
            component_for(doc["kind"])(name, InferenceArgs(spec=doc, profile=profiles[profile]))

    def raw() -> None:
        for name, manifests in prerendered:
            before: list[pulumi.Resource] = []
            for obj in manifests:
                key = gvk(obj)
                opts = pulumi.ResourceOptions(depends_on=before if key in SERVING else None)
                res = create(f"{name}-{role_of(obj, name)}", key, obj["metadata"],
                             obj.get("spec"), opts)
                if key not in SERVING:
                    before.append(res)

    return {"layer": layer, "raw": raw}[mode]


def measure(mode: str, count: int, kubeconfig: Path, engine: Any, root: Path,
            show: Any = None) -> dict[str, Any]:
    from pulumi import automation as auto

    docs = workloads(count, prefix=mode[0])
    program = program_for(mode, docs)
    config = {"kubernetes:kubeconfig": auto.ConfigValue(value=str(kubeconfig))}
    stack = engine.stack(f"bench-{mode}", program, root / mode, config)
    out: dict[str, Any] = {"mode": mode, "components": count}
    try:
        start = time.perf_counter()
        preview = stack.preview(on_output=show)
        out["preview_s"] = round(time.perf_counter() - start, 2)
        out["preview_creates"] = preview.change_summary.get("create")
        start = time.perf_counter()
        up = stack.up(on_output=show)
        out["up_s"] = round(time.perf_counter() - start, 2)
        out["up_result"] = up.summary.result
        start = time.perf_counter()
        stack.up(on_output=show)
        out["up_again_s"] = round(time.perf_counter() - start, 2)
    finally:
        stack.destroy(on_output=show)
        stack.workspace.remove_stack(f"bench-{mode}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--modes", default="raw,layer")
    parser.add_argument("--show-output", action="store_true",
                        help="print the engine's progress (to find where a run stalls)")
    args = parser.parse_args()
    # A TERM (timeout, Ctrl-C in a wrapper) unwinds, so the stacks and the control plane stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from tests.helpers import require_shared
    from tests.kubehttp import KubeHttp
    from tests.pulumi_real.cluster import KUBE_TOOLS, running_cluster
    from tests.pulumi_real.engine import Engine, find_tool
    from tests.pulumi_real.live import prerequisites
    from tests.real.tools import find_tool as find_kube_tool

    tools = {t: find_tool(t) for t in ("pulumi", "pulumi-resource-kubernetes")}
    kube = {t: find_kube_tool(t) for t in KUBE_TOOLS}
    missing = [t for t, p in {**tools, **kube}.items() if p is None]
    if missing:
        sys.exit(f"not built: {', '.join(missing)} (run scripts/setup.d/10-kube-tools.sh and "
                 "20-pulumi-tools.sh)")
    root = Path(tempfile.mkdtemp(prefix="infstack-pulumi-bench-"))
    engine = Engine.create(root, {t: p for t, p in tools.items() if p is not None})
    results = []
    binaries = {t: p for t, p in kube.items() if p is not None}
    # Room for every workload at once: a distributed example takes 16 GPUs.
    nodes = 2 * args.components
    # The controllers run in their own process at 30x: Knative's 600 s progress deadline is
    # 20 s, room for 50 workloads starting at once on two cores.
    with running_cluster(binaries, require_shared() / "schemas", gpu_nodes=nodes, speed=30.0,
                         separate_process=True) as cluster:
        http = KubeHttp(cluster.kubeconfig)
        for obj in prerequisites("hf_bench0123456789abcdefghijkl"):
            http.apply(obj, manager="bench", force=True)
        http.close()
        for mode in args.modes.split(","):
            result = measure(mode, args.components, cluster.kubeconfig, engine, root,
                             show=print if args.show_output else None)
            results.append(result)
            print(json.dumps(result), flush=True)
    by = {r["mode"]: r for r in results}
    if "raw" in by and "layer" in by:
        for key in ("preview_s", "up_s", "up_again_s"):
            print(f"{key}: layer/raw = {by['layer'][key] / by['raw'][key]:.2f}x")


if __name__ == "__main__":
    main()
