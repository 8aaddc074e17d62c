"""A tiny list/watch API server for trigger tests and benchmarks (loopback, background thread).

Only what the readiness trigger reads: collection GET (list) and ``?watch=true`` streams
with resourceVersion, bookmarks, 410 for too-old versions, plus knobs to drop watches and
to count requests. Objects are put in with :meth:`FakeApi.put` from the test thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web


class FakeApi:
    """Objects by collection path; every change bumps a global resourceVersion."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.history: list[tuple[int, str, str, dict[str, Any]]] = []
        self.rv = 1
        self.requests: Counter[str] = Counter()
        self.open_watches = 0
        self.expire_below = 0  # watches from an older resourceVersion get 410
        self.loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._drop = 0
        self.url = ""

    # -- called from tests (any thread) ---------------------------------------------------
    def put(self, collection: str, obj: dict[str, Any], kind: str = "MODIFIED") -> None:
        """Store (or delete with kind="DELETED") an object and notify watchers."""
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self._put(collection, obj, kind), self.loop).result(5)

    def drop_watches(self) -> None:
        """Close every open watch stream (a normal server-side end)."""
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self._drop_all(), self.loop).result(5)

    def expire_history(self) -> None:
        """Make every resourceVersion seen so far too old (next watch → 410)."""
        self.rv += 1
        self.expire_below = self.rv
        self.drop_watches()

    # -- server side ----------------------------------------------------------------------
    async def _put(self, collection: str, obj: dict[str, Any], kind: str) -> None:
        assert self._changed is not None
        self.rv += 1
        obj = json.loads(json.dumps(obj))
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        name = obj["metadata"]["name"]
        coll = self.objects.setdefault(collection, {})
        if kind == "DELETED":
            coll.pop(name, None)
        else:
            kind = "MODIFIED" if name in coll else "ADDED"
            coll[name] = obj
        self.history.append((self.rv, collection, kind, obj))
        async with self._changed:
            self._changed.notify_all()

    async def _drop_all(self) -> None:
        assert self._changed is not None
        self._drop += 1
        async with self._changed:
            self._changed.notify_all()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if request.query.get("watch") == "true":
            self.requests["watch"] += 1
            return await self._watch(request, path)
        parent, _, name = path.rpartition("/")
        if parent in self.objects:
            self.requests["get"] += 1
            obj = self.objects[parent].get(name)
            if obj is None:
                return web.json_response({"kind": "Status", "code": 404,
                                          "reason": "NotFound"}, status=404)
            return web.json_response(obj)
        self.requests["list"] += 1
        items = list(self.objects.get(path, {}).values())
        return web.json_response({"kind": "List", "metadata": {"resourceVersion": str(self.rv)},
                                  "items": items})

    async def _watch(self, request: web.Request, path: str) -> web.StreamResponse:
        assert self._changed is not None
        since = int(request.query.get("resourceVersion") or 0)
        if since and since < self.expire_below:
            return web.json_response({"kind": "Status", "code": 410, "reason": "Expired",
                                      "message": "too old resource version"}, status=410)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        self.open_watches += 1
        drop_at = self._drop
        idx = next((i for i, h in enumerate(self.history) if h[0] > since), len(self.history))
        try:
            while True:
                for _rv, coll, kind, obj in self.history[idx:]:
                    if coll == path:
                        line = json.dumps({"type": kind, "object": obj}) + "\n"
                        await resp.write(line.encode())
                idx = len(self.history)
                async with self._changed:
                    if idx == len(self.history) and self._drop == drop_at:
                        await self._changed.wait()
                if self._drop != drop_at:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.open_watches -= 1
        return resp


@contextmanager
def running(tmp: Path) -> Iterator[tuple[FakeApi, str]]:
    """Start the server; yields it and a kubeconfig path."""
    api = FakeApi()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        api.loop = loop
        api._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", api.handle)
        runner = web.AppRunner(app, handle_signals=False)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        api.url = f"http://127.0.0.1:{port}"
        holder["runner"] = runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": api.url}}],
        "users": [{"name": "fake", "user": {"token": "fake-token"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
    }))
    try:
        yield api, str(kubeconfig)
    finally:
        assert api.loop is not None
        api.drop_watches()
        api.loop.call_soon_threadsafe(api.loop.stop)
        thread.join(10)
