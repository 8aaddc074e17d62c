"""``Sandbox``: a running local API server (background thread) plus its simulated cluster."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from inference_sandbox import controllers, seed, tls
from inference_sandbox.admission import Admission
from inference_sandbox.clock import SimClock
from inference_sandbox.config import SandboxConfig
from inference_sandbox.faults import FaultInjector
from inference_sandbox.handlers import ApiHandlers
from inference_sandbox.kubeconfig import write_kubeconfig
from inference_sandbox.requestlog import RequestLog
from inference_sandbox.resources import TABLE
from inference_sandbox.server import ApiServer
from inference_sandbox.store import Store
from inference_sandbox.watching import WatchStreamer

log = logging.getLogger(__name__)
T = TypeVar("T")

START_TIMEOUT = 20.0


class Sandbox:
    """A small simulated Kubernetes cluster behind a real HTTP API on loopback.

    ``Sandbox(config).running()`` starts it in a background thread and stops it on exit.
    Attributes: ``url``, ``kubeconfig_path``, ``faults``, ``requests``, ``store``, ``clock``;
    ``certificates`` (CA and serving certificate) when ``config.tls`` is on — raw HTTP
    clients in tests use :meth:`ssl_context`.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        config = config or SandboxConfig()
        self.config = replace(config, **overrides) if overrides else config
        self.clock = SimClock(self.config.speed, sim_timestamps=self.config.sim_timestamps)
        self.store = Store(self.clock, history=self.config.watch_history,
                           max_events=self.config.max_events)
        self.faults = FaultInjector(seed=self.config.seed)
        self.requests = RequestLog(self.config.max_request_log)
        self.admission = Admission(self.store, schema_admission=self.config.schema_admission)
        self.controllers, self._kubelet = controllers.build(
            self.store, self.clock, self.config, self.admission.knative_defaults)
        self.url = ""
        self.kubeconfig_path = ""
        self.certificates: tls.ServingCertificates | None = \
            tls.generate((self.config.host, "localhost")) if self.config.tls else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tmpdir: str | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.dataplane: Any = None  # a DataPlane when config.dataplane
        self.watches = WatchStreamer(self.store, max_watches=self.config.max_watches,
                                     bookmark_interval=self.config.bookmark_interval)
        self.api = ApiServer(
            table=TABLE,
            handlers=ApiHandlers(self.store, self.admission,
                                 auto_create_namespaces=self.config.auto_create_namespaces,
                                 seed=self.config.seed),
            watches=self.watches, faults=self.faults, requests=self.requests,
            token=self.config.token, pod_logs=self._kubelet.logs,
            tokens=dict(self.config.tokens))

    # ------------------------------------------------------------------ lifecycle
    @contextmanager
    def running(self) -> Iterator[Sandbox]:
        """Start, yield, stop (even on errors)."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self) -> Sandbox:
        """Start the server thread and wait until it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this sandbox is already running")
        self._thread = threading.Thread(target=self._thread_main, name="inference-sandbox",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the sandbox did not start within {START_TIMEOUT:g}s")
        if self._error is not None:
            raise RuntimeError(f"the sandbox failed to start: {self._error}") from self._error
        path = self.config.kubeconfig_path
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="inference-sandbox-")
            path = str(Path(self._tmpdir) / "kubeconfig")
        self.kubeconfig_path = str(write_kubeconfig(path, self.url,
                                                    context=self.config.context_name,
                                                    token=self.config.token,
                                                    ca_pem=self.ca_pem))
        log.info("sandbox API server listening on %s (kubeconfig %s)", self.url,
                 self.kubeconfig_path)
        if self.config.dataplane:
            from inference_sandbox.dataplane import DataPlane

            self.dataplane = DataPlane(self.kubeconfig_path, seed=self.config.seed,
                                       time_scale=self.config.dataplane_time_scale,
                                       sd_file=self.config.dataplane_sd_file).start()
        return self

    def stop(self) -> None:
        """Stop the server and remove the temporary kubeconfig."""
        if self.dataplane is not None:
            self.dataplane.stop()
            self.dataplane = None
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                future.result(10)
            except Exception:  # pragma: no cover - best effort on teardown
                log.exception("sandbox shutdown failed")
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as e:  # reported to the starting thread
            self._error = e
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        loop = asyncio.get_running_loop()
        self.store.loop = loop
        self.store.loop_thread = threading.get_ident()
        for obj in seed.initial_objects(self.config):
            rt = TABLE.get(obj["apiVersion"], obj["kind"])
            md = obj.get("metadata") or {}
            if self.store.get(rt, md.get("namespace"), md.get("name", ""), copy=False):
                continue
            admitted, _ = self.admission.admit(rt, rt.version, obj, None, verb="create")
            self.store.create(rt, admitted)
        self._runner = web.AppRunner(self.api.app(), access_log=None, handle_signals=False,
                                     shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port,
                           ssl_context=self.certificates.server_context()
                           if self.certificates else None)
        await site.start()
        server = site._server  # aiohttp keeps the bound socket here
        port = server.sockets[0].getsockname()[1] if server and server.sockets else \
            self.config.port
        scheme = "https" if self.certificates else "http"
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        self.url = f"{scheme}://{host}:{port}"
        self.api.address = f"{self.config.host}:{port}"
        if self.config.controllers:
            self.controllers.start(loop)

    async def _shutdown(self) -> None:
        self.store.close_all_watches()
        await self.controllers.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ helpers
    @property
    def ca_pem(self) -> bytes | None:
        """PEM of the CA that signed the serving certificate (None over plain HTTP)."""
        return self.certificates.ca_pem if self.certificates else None

    def write_kubeconfig(self, path: str | Path, token: str, *, namespace: str = "default"
                         ) -> str:
        """Write a kubeconfig for this server with another bearer token (one of
        ``config.tokens``: a user RBAC authorizes); returns its path."""
        return str(write_kubeconfig(path, self.url, context=self.config.context_name,
                                    token=token, namespace=namespace, ca_pem=self.ca_pem))

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client SSL context trusting this sandbox's CA (None over plain HTTP), for raw
        ``http.client``/``urllib``/``aiohttp`` requests in tests and benchmarks."""
        return self.certificates.client_context() if self.certificates else None

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0) -> T:
        """Run ``fn(*args)`` on the server loop (for direct store writes from tests)."""
        if self._loop is None:
            return fn(*args)

        async def runner() -> T:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(runner(), self._loop).result(timeout)

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (controllers re-check deadlines at once)."""
        self.clock.advance(seconds)

    def pod_logs(self, namespace: str, pod: str, container: str | None = None) -> list[str]:
        """Simulated log lines of a pod's container."""
        return self._kubelet.logs(namespace, pod, container)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
