"""Command line: ``inference-sandbox up`` (also ``python -m inference_sandbox up``).

Runs the local API server with its simulated cluster until Ctrl-C/SIGTERM. When it is ready
it prints the API URL, the kubeconfig path and an ``export KUBECONFIG=...`` line::

    inference-sandbox up --gpu-nodes 2 --queue team-a:8 --namespace team-a
    export KUBECONFIG=$PWD/.sandbox/kubeconfig
    kubectl get nodes
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from inference_sandbox.config import GpuNode, KaiQueue, SandboxConfig
from inference_sandbox.sandbox import Sandbox

log = logging.getLogger(__name__)

DEFAULT_KUBECONFIG = Path(".sandbox/kubeconfig")


def build_config(kubeconfig: str | Path, *, port: int = 0, speed: float = 10.0,
                 gpu_nodes: int = 2, gpus_per_node: int = 8,
                 features: dict[str, str] | None = None, queues: Sequence[KaiQueue] = (),
                 namespaces: Sequence[str] = ("default",), tls: bool = True) -> SandboxConfig:
    """The :class:`SandboxConfig` the command line options describe."""
    return SandboxConfig(
        speed=speed, port=port, kubeconfig_path=str(Path(kubeconfig).absolute()),
        gpu_nodes=tuple(GpuNode(f"gpu-node-{i}", gpus=gpus_per_node) for i in range(gpu_nodes)),
        features=dict(features or {}), queues=tuple(queues), namespaces=tuple(namespaces),
        tls=tls)


def serve(config: SandboxConfig, *, stop: threading.Event | None = None,
          on_ready: Callable[[Sandbox], None] | None = None) -> None:
    """Run a sandbox until interrupted (Ctrl-C / SIGTERM) or ``stop`` is set.

    ``on_ready`` is called with the running :class:`Sandbox` (the CLI prints its URL there).
    """
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with Sandbox(config).running() as sb:
            # Build the OpenAPI documents now so kubectl's first apply/explain is quick.
            threading.Thread(target=sb.api.openapi.v2, name="openapi-warmup",
                             daemon=True).start()
            if on_ready is not None:
                on_ready(sb)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def parse_queue(text: str) -> KaiQueue:
    """``NAME[:GPU_QUOTA[:GPU_LIMIT]]`` → :class:`KaiQueue` (-1 = unlimited)."""
    parts = text.split(":")
    if not parts[0] or len(parts) > 3:
        raise argparse.ArgumentTypeError(
            f"--queue {text!r}: expected NAME[:GPU_QUOTA[:GPU_LIMIT]], e.g. team-a:8 or "
            "team-a:8:16")
    try:
        numbers = [float(p) for p in parts[1:]]
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"--queue {text!r}: GPU_QUOTA and GPU_LIMIT must be numbers (-1 = unlimited)"
        ) from e
    quota = numbers[0] if numbers else -1
    limit = numbers[1] if len(numbers) > 1 else -1
    return KaiQueue(parts[0], gpu_quota=quota, gpu_limit=limit)


def parse_feature(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (a Knative config-features flag)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(
            f"--feature {text!r}: expected KEY=VALUE, e.g. "
            "kubernetes.podspec-schedulername=enabled")
    return key, value


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``inference-sandbox``."""
    root = argparse.ArgumentParser(prog="inference-sandbox",
                                   description="Local Kubernetes API sandbox (test/demo only)")
    sub = root.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run a sandbox API server until interrupted")
    up.add_argument("--kubeconfig", type=Path, default=DEFAULT_KUBECONFIG,
                    help=f"where to write the kubeconfig (default {DEFAULT_KUBECONFIG})")
    up.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    up.add_argument("--speed", type=float, default=10.0,
                    help="simulated seconds per real second (default 10)")
    up.add_argument("--gpu-nodes", type=int, default=2, help="GPU nodes (default 2)")
    up.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per node (default 8)")
    up.add_argument("--feature", action="append", default=[], type=parse_feature,
                    metavar="KEY=VALUE",
                    help="Knative config-features flag, e.g. "
                         "kubernetes.podspec-schedulername=enabled (repeatable)")
    up.add_argument("--queue", action="append", default=[], type=parse_queue,
                    metavar="NAME[:QUOTA[:LIMIT]]",
                    help="KAI queue with its GPU quota and limit (repeatable)")
    up.add_argument("--namespace", "-n", action="append", default=[], metavar="NAME",
                    help="namespace to create besides default (repeatable); writes into "
                         "other namespaces fail with 404 like a real cluster")
    up.add_argument("--insecure-http", action="store_true",
                    help="serve plain HTTP instead of HTTPS (kubectl will not send the token)")
    return root


def _announce(sb: Sandbox) -> None:
    path = shlex.quote(sb.kubeconfig_path)
    print(f"sandbox API server: {sb.url}", flush=True)
    print(f"kubeconfig: {sb.kubeconfig_path} (context {sb.config.context_name})", flush=True)
    print(f"export KUBECONFIG={path}", flush=True)
    print("ready (Ctrl-C to stop)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``inference-sandbox`` and ``python -m inference_sandbox``."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    config = build_config(
        args.kubeconfig, port=args.port, speed=args.speed, gpu_nodes=args.gpu_nodes,
        gpus_per_node=args.gpus_per_node, features=dict(args.feature), queues=args.queue,
        namespaces=("default", *args.namespace), tls=not args.insecure_http)
    serve(config, on_ready=_announce)
    return 0
