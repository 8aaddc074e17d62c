"""Command line: ``python -m inference_sandbox up --kubeconfig PATH [--port N] [--speed X]``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

from inference_sandbox.config import GpuNode, KaiQueue, SandboxConfig
from inference_sandbox.sandbox import Sandbox

log = logging.getLogger(__name__)


def serve(kubeconfig: str | Path, *, port: int = 0, speed: float = 10.0,
          gpu_nodes: int = 2, gpus_per_node: int = 8, features: dict[str, str] | None = None,
          queues: Sequence[KaiQueue] = (), namespaces: Sequence[str] = ("default",),
          auto_create_namespaces: bool = True, stop: threading.Event | None = None,
          on_ready: object = None) -> None:
    """Run a sandbox until interrupted (Ctrl-C / SIGTERM) or ``stop`` is set.

    Writes the kubeconfig (context ``sandbox``) to ``kubeconfig``. ``on_ready`` may be a
    callable taking the running :class:`Sandbox` (the CLI prints its URL there).
    """
    config = SandboxConfig(
        speed=speed, port=port, kubeconfig_path=str(kubeconfig),
        gpu_nodes=tuple(GpuNode(f"gpu-node-{i}", gpus=gpus_per_node) for i in range(gpu_nodes)),
        features=dict(features or {}), queues=tuple(queues), namespaces=tuple(namespaces),
        auto_create_namespaces=auto_create_namespaces)
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with Sandbox(config).running() as sb:
            if callable(on_ready):
                on_ready(sb)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m inference_sandbox``."""
    parser = argparse.ArgumentParser(prog="python -m inference_sandbox",
                                     description="Local Kubernetes API sandbox (test/demo only)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run a sandbox API server until interrupted")
    up.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig")
    up.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    up.add_argument("--speed", type=float, default=10.0,
                    help="simulated seconds per real second (default 10)")
    up.add_argument("--gpu-nodes", type=int, default=2)
    up.add_argument("--gpus-per-node", type=int, default=8)
    up.add_argument("--feature", action="append", default=[], metavar="KEY=VALUE",
                    help="Knative config-features flag, e.g. "
                         "kubernetes.podspec-schedulername=enabled")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    features = dict(item.split("=", 1) for item in args.feature)

    def ready(sb: Sandbox) -> None:
        print(f"sandbox API server: {sb.url}", flush=True)
        print(f"kubeconfig: {sb.kubeconfig_path} (context {sb.config.context_name})", flush=True)

    serve(args.kubeconfig, port=args.port, speed=args.speed, gpu_nodes=args.gpu_nodes,
          gpus_per_node=args.gpus_per_node, features=features, on_ready=ready)
    return 0
