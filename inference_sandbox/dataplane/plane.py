"""``DataPlane``: a loopback ingress plus one fake model server per revision/group.

It is an API client of the cluster (any kubeconfig: the sandbox's, in tests and the demo):
it watches Knative Services/Revisions, core Services and LWS leader pods, keeps one
:class:`FakeModelServer` per routed revision (Knative) or LWS template revision, and routes
each request by its ``Host`` header (:mod:`.routes`), weighted and seeded. Clients connect to
``connect_to`` (``127.0.0.1:PORT``) and send the service's host, like ``curl --connect-to``.

``sd_file`` (optional) is kept as a Prometheus file-based service-discovery file listing every
server's ``/metrics`` with ``namespace``, ``service``, ``revision`` labels.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from inference_sandbox.dataplane.behaviour import behaviour_of
from inference_sandbox.dataplane.grpc_server import GrpcHealthServer
from inference_sandbox.dataplane.modelserver import BackendId, FakeModelServer
from inference_sandbox.dataplane.routes import RoutingTable, routing_table
from inference_sandbox.dataplane.watcher import ClusterWatcher

log = logging.getLogger(__name__)
HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length",
               "upgrade", "proxy-connection", "te", "trailer"}
BACKEND_HEADER = "x-sandbox-revision"


class DataPlane:
    """Start with ``running()`` (or ``start``/``stop``); see the module docstring."""

    def __init__(self, kubeconfig: str, *, seed: int = 0, time_scale: float = 1.0,
                 sd_file: str | Path | None = None, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.seed = seed
        self.time_scale = time_scale
        self.sd_file = Path(sd_file) if sd_file else None
        self.random = random.Random(seed)
        self.table = RoutingTable()
        self.servers: dict[BackendId, FakeModelServer] = {}
        self.grpc: dict[BackendId, GrpcHealthServer] = {}
        self.ingress_url = ""
        self.connect_to = ""
        self.watcher = ClusterWatcher(kubeconfig, self._changed, context=context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._changed_evt = threading.Condition()
        self._generation = 0
        self._pending = False
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._error: BaseException | None = None
        self._reconciling: asyncio.Lock | None = None

    # ------------------------------------------------------------------ lifecycle
    @contextmanager
    def running(self) -> Iterator[DataPlane]:
        """Start, yield, stop."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def start(self, timeout: float = 20.0) -> DataPlane:
        """Start the loop thread, the ingress and the watches."""
        self._thread = threading.Thread(target=self._main, name="dataplane", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the data plane did not start: {self._error}")
        self.watcher.start()
        deadline = time.monotonic() + timeout
        for resource, event in self.watcher.synced.items():
            if not event.wait(max(deadline - time.monotonic(), 0)):
                self.stop()
                raise RuntimeError(f"the data plane could not list {resource} through "
                                   f"{self.kubeconfig} within {timeout:g}s")
        return self

    def stop(self) -> None:
        """Stop the watches, the servers and the loop."""
        self.watcher.stop()
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                fut.result(10)
            except Exception:  # pragma: no cover - best effort on teardown
                log.exception("data plane shutdown failed")
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as err:
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        self._reconciling = asyncio.Lock()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._proxy)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else 0
        self.connect_to = f"127.0.0.1:{port}"
        self.ingress_url = f"http://{self.connect_to}"

    async def _shutdown(self) -> None:
        for srv in list(self.servers.values()):
            await srv.stop()
        for g in list(self.grpc.values()):
            await g.stop()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ reconcile
    def _changed(self) -> None:
        """From a watch thread: reconcile on the loop (coalesced)."""
        if self._loop is None or self._pending:
            return
        self._pending = True
        asyncio.run_coroutine_threadsafe(self._reconcile(), self._loop)

    async def _reconcile(self) -> None:
        assert self._reconciling is not None
        async with self._reconciling:
            await self._reconcile_once()

    async def _reconcile_once(self) -> None:
        self._pending = False
        snap = self.watcher.snapshot()
        revisions = {((r.get("metadata") or {}).get("namespace", ""),
                      (r.get("metadata") or {}).get("name", "")): r for r in snap["revision"]}
        table = routing_table(snap["ksvc"], revisions, snap["service"], snap["pod"])
        for ident, container in table.containers.items():
            if ident not in self.servers:
                behaviour = behaviour_of(container)
                srv = FakeModelServer(ident, behaviour, seed=self.seed,
                                      time_scale=self.time_scale)
                await srv.start()
                self.servers[ident] = srv
                if behaviour.engine == "grpc":
                    g = GrpcHealthServer(serving=behaviour.health_status < 400)
                    await g.start()
                    self.grpc[ident] = g
        for ident in [i for i in self.servers if i not in table.containers]:
            await self.servers.pop(ident).stop()
            if ident in self.grpc:
                await self.grpc.pop(ident).stop()
        self.table = table
        self._write_sd()
        with self._changed_evt:
            self._generation += 1
            self._changed_evt.notify_all()

    def _write_sd(self) -> None:
        if self.sd_file is None:
            return
        groups = [{"targets": [srv.url.removeprefix("http://")],
                   "labels": {**ident.labels(), "kind": ident.kind}}
                  for ident, srv in sorted(self.servers.items(), key=lambda kv: kv[1].url)]
        tmp = self.sd_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups, indent=1), encoding="utf-8")
        os.replace(tmp, self.sd_file)

    # ------------------------------------------------------------------ queries
    def wait_until(self, predicate: Callable[[DataPlane], bool], timeout: float = 30.0) -> bool:
        """Wait (on reconcile events) until ``predicate(self)`` holds; False on timeout."""
        with self._changed_evt:
            return self._changed_evt.wait_for(lambda: predicate(self), timeout)

    def routes(self, host: str) -> dict[str, int]:
        """``{revision: weight}`` the ingress uses for ``host`` now."""
        return {ident.revision: w for ident, w in self.table.hosts.get(host.lower(), [])}

    def server(self, namespace: str, revision: str) -> FakeModelServer | None:
        """The fake server of a revision (Knative) or template revision hash (LWS)."""
        return next((s for i, s in self.servers.items()
                     if i.namespace == namespace and i.revision == revision), None)

    def grpc_address(self, namespace: str, revision: str) -> str | None:
        """``host:port`` of a gRPC workload's health server."""
        return next((g.address for i, g in self.grpc.items()
                     if i.namespace == namespace and i.revision == revision), None)

    def targets(self) -> list[dict[str, Any]]:
        """What ``sd_file`` holds (file_sd target groups)."""
        return [{"targets": [s.url.removeprefix("http://")], "labels": i.labels()}
                for i, s in self.servers.items()]

    # ------------------------------------------------------------------ ingress
    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").split(":")[0].lower()
        pool = self.table.hosts.get(host)
        if not pool:
            return web.Response(status=404, text=f"no route for host {host!r}\n")
        idents = [i for i, _ in pool]
        ident = self.random.choices(idents, weights=[w for _, w in pool])[0]
        srv = self.servers.get(ident)
        if srv is None or not srv.url:
            return web.Response(status=503, text=f"backend {ident.revision} is not up\n")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        body = await request.read()
        assert self._session is not None
        try:
            async with self._session.request(request.method, srv.url + request.path_qs,
                                             headers=headers, data=body) as resp:
                payload = await resp.read()
                out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_HEADERS}
                out[BACKEND_HEADER] = ident.revision
                return web.Response(status=resp.status, body=payload, headers=out)
        except aiohttp.ClientError as err:
            return web.Response(status=502, text=f"backend {ident.revision}: {err}\n")
