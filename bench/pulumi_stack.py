"""Cost of the Pulumi component layer: 200 components vs. the same raw resources, under mocks.

``layer``: 200 components (``pulumi_components``) built from spec documents (the examples,
cycled, each with its profile): validation, rendering, children, outputs.
``bare``: the same children under empty ComponentResources (the floor of any component
layer). ``raw``: a program creating the same ``pulumi_kubernetes`` resources (same types, names,
bodies, ``depends_on``) from manifests rendered before the clock starts, as a hand-written
program would. Each measurement runs in a fresh interpreter; time is the median of
``--repeat`` runs, peak memory is tracemalloc's peak (Python heap) in a separate run, plus
the process's max RSS.

    .venv/bin/python bench/pulumi_stack.py [--components 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODES = ("raw", "bare", "layer")
sys.path.insert(0, str(REPO))


def workload_docs(count: int) -> list[tuple[str, dict[str, Any], str]]:
    """(name, spec document, profile) for ``count`` workloads, cycling through the examples."""
    import yaml

    examples = sorted((REPO / "examples").glob("*.yaml"))
    base = []
    for path in examples:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        profile = first.split(":", 1)[1].strip() if first.startswith("# profile:") else "default"
        base.append((yaml.safe_load(path.read_text(encoding="utf-8")), profile))
    out = []
    for i in range(count):
        doc, profile = base[i % len(base)]
        doc = json.loads(json.dumps(doc))
        doc["metadata"]["name"] = f"{doc['metadata']['name'][:36]}-{i}"
        out.append((doc["metadata"]["name"], doc, profile))
    return out


def run_once(mode: str, count: int, measure_memory: bool) -> dict[str, float]:
    """One program run in this process (called in a child interpreter)."""
    import pulumi
    import pulumi_kubernetes as k8s

    from inference_core.profile import load_profile
    from inference_core.render import render
    from inference_core.spec import parse_spec
    from pulumi_components import InferenceArgs, component_for
    from pulumi_components.children import SERVING, create, gvk, role_of

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            return f"{args.name}-id", args.inputs

        def call(self, args: Any) -> tuple[dict[str, Any], None]:
            return {}, None

    pulumi.runtime.set_mocks(Mocks(), preview=False)
    docs = workload_docs(count)
    profiles = {p: load_profile(p) for _, _, p in docs}
    prerendered = [(name, render(parse_spec(doc), profiles[p])) for name, doc, p in docs]
    _ = k8s.core.v1.Service  # import cost outside the clock

    def layer() -> None:
        for name, doc, profile in docs:
            cls = component_for(doc["kind"])
            cls(name, InferenceArgs(spec=doc, profile=profiles[profile]))

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

    class Bare(pulumi.ComponentResource):
        """An empty component: the floor any ComponentResource layer pays under Pulumi."""

        def __init__(self, name: str) -> None:
            super().__init__("bench:index:Bare", name, None, None)

    def bare() -> None:
        for name, manifests in prerendered:
            parent = Bare(name)
            before: list[pulumi.Resource] = []
            for obj in manifests:
                key = gvk(obj)
                opts = pulumi.ResourceOptions(parent=parent,
                                              depends_on=before if key in SERVING else None)
                res = create(f"{name}-{role_of(obj, name)}", key, obj["metadata"],
                             obj.get("spec"), opts)
                if key not in SERVING:
                    before.append(res)
            parent.register_outputs({})

    program = {"layer": layer, "raw": raw, "bare": bare}[mode]

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> None:
        program()

    if measure_memory:
        tracemalloc.start()
        if mode != "layer":  # a raw program's manifests are its own data: count them
            prerendered[:] = copy.deepcopy(prerendered)
    start, cpu = time.perf_counter(), time.process_time()
    run()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": elapsed, "cpu_seconds": cpu, "peak_bytes": peak, "max_rss_bytes": rss}


def measure(mode: str, count: int, memory: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--components", str(count)]
                         + (["--memory"] if memory else []),
                         check=True, capture_output=True, text=True, cwd=REPO)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.child, args.components, args.memory)))
        return
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):
        for mode in MODES:  # interleaved, so machine noise hits every mode alike
            runs[mode].append(measure(mode, args.components, memory=False))
    mem = {mode: measure(mode, args.components, memory=True) for mode in MODES}
    wall = {m: statistics.median(r["seconds"] for r in runs[m]) for m in MODES}
    cpu = {m: statistics.median(r["cpu_seconds"] for r in runs[m]) for m in MODES}
    print(f"components: {args.components}, runs: {args.repeat} (median), Python "
          f"{sys.version.split()[0]}")
    for mode in MODES:
        walls = [r["seconds"] for r in runs[mode]]
        print(f"{mode:>6}: wall {wall[mode]:.3f} s (min {min(walls):.3f}, max {max(walls):.3f}); "
              f"cpu {cpu[mode]:.3f} s; tracemalloc peak {mem[mode]['peak_bytes'] / 2**20:.1f} "
              f"MiB; max RSS {mem[mode]['max_rss_bytes'] / 2**20:.1f} MiB")
    for mode in ("bare", "layer"):
        print(f"{mode:>6} / raw: wall {wall[mode] / wall['raw']:.2f}x; cpu "
              f"{cpu[mode] / cpu['raw']:.2f}x; peak memory "
              f"{mem[mode]['peak_bytes'] / mem['raw']['peak_bytes']:.2f}x (target <= 1.3x)")

if __name__ == "__main__":
    main()
