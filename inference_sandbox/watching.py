"""Watch streams: backlog replay, live events, bookmarks, 410 Expired, timeouts and drops."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from inference_sandbox.apierrors import ApiError, gone
from inference_sandbox.faults import FaultDecision
from inference_sandbox.handlers import Call
from inference_sandbox.selectors import parse_field_selector, parse_label_selector, query_bool
from inference_sandbox.store import Store
from inference_sandbox.watchcache import WatchEvent

#: Encodes one event for a served version and event type (Table watches use their own).
Encoder = Callable[[WatchEvent, str, str], bytes]

log = logging.getLogger(__name__)

MAX_WATCH_SECONDS = 1800.0
_DEADLINE = "deadline"
_BOOKMARK = "bookmark"


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


class WatchStreamer:
    """Serves ``?watch=true`` requests."""

    def __init__(self, store: Store, *, max_watches: int, bookmark_interval: float) -> None:
        self.store = store
        self.max_watches = max_watches
        self.bookmark_interval = bookmark_interval
        self.active = 0

    def _bookmark(self, call: Call, *, initial_end: bool = False) -> bytes:
        rt = call.rp.rt
        md: dict[str, Any] = {"resourceVersion": str(self.store.resource_version)}
        if initial_end:
            md["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _line({"type": "BOOKMARK", "object": {
            "kind": rt.kind, "apiVersion": rt.api_version_for(call.rp.version), "metadata": md}})

    def check_capacity(self) -> None:
        """429 with ``Retry-After`` when the watch limit is reached."""
        if self.active >= self.max_watches:
            raise ApiError(429, "TooManyRequests",
                           f"too many watch connections (limit {self.max_watches})",
                           details={"retryAfterSeconds": 1}, headers={"Retry-After": "1"})

    async def serve(self, request: web.Request, call: Call, decision: FaultDecision,
                    encoder: Encoder | None = None) -> web.StreamResponse:
        """Stream events until timeout, client disconnect, server stop or an injected drop."""
        self.check_capacity()
        q = call.query
        rt = call.rp.rt
        raw_rv = q.get("resourceVersion", "")
        initial = query_bool(q.get("sendInitialEvents"))
        since = int(raw_rv) if raw_rv.isdigit() and raw_rv != "0" and not initial else None
        bookmarks = query_bool(q.get("allowWatchBookmarks"))
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds", "").isdigit() \
            else MAX_WATCH_SECONDS
        response = web.StreamResponse(status=200, headers={
            "Content-Type": "application/json", "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        try:
            watcher, backlog = self.store.open_watch(
                rt, call.rp.namespace, parse_label_selector(q.get("labelSelector")),
                parse_field_selector(q.get("fieldSelector")), since)
            if decision.expire_watch:
                self.store.close_watch(watcher)
                raise gone(f"too old resource version: {raw_rv or 0} "
                           f"({self.store.resource_version})")
        except ApiError as e:
            if e.code != 410:
                raise
            await response.prepare(request)
            await response.write(_line({"type": "ERROR", "object": e.status()}))
            await response.write_eof()
            return response
        self.active += 1
        try:
            await response.prepare(request)
            await self._pump(request, response, call, watcher, backlog, decision, timeout,
                             bookmarks, initial, encoder)
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.active -= 1
            self.store.close_watch(watcher)
        return response

    async def _pump(self, request: web.Request, response: web.StreamResponse, call: Call,
                    watcher: Any, backlog: list[Any], decision: FaultDecision, timeout: float,
                    bookmarks: bool, initial: bool, encoder: Encoder | None = None) -> None:
        version = call.rp.version

        def encode(event: WatchEvent, etype: str | None = None) -> bytes:
            if encoder is None:
                return event.encode(version, etype)
            return encoder(event, version, etype or event.type)

        drop_after = decision.drop_after_events
        sent = 0

        async def dropped() -> bool:
            if drop_after is None or sent < drop_after:
                return False
            if decision.drop_mode == "reset" and request.transport is not None:
                request.transport.abort()
            else:
                await response.write_eof()
            return True

        if await dropped():
            return
        if backlog:
            chunk = b"".join(encode(event) for event in backlog)
            if drop_after is not None and len(backlog) > drop_after - sent:
                chunk = b"".join(encode(e) for e in backlog[: drop_after - sent])
                sent = drop_after
            else:
                sent += len(backlog)
            await response.write(chunk)
            if await dropped():
                return
        if initial:
            await response.write(self._bookmark(call, initial_end=True))
        loop = asyncio.get_running_loop()
        queue = watcher.queue
        # Timers feed sentinels into the queue, so the hot path is a bare ``queue.get()``.
        timers = {"deadline": loop.call_later(timeout, queue.put_nowait, _DEADLINE)}

        def tick() -> None:
            queue.put_nowait(_BOOKMARK)
            timers["bookmark"] = loop.call_later(self.bookmark_interval, tick)

        if bookmarks:
            timers["bookmark"] = loop.call_later(self.bookmark_interval, tick)
        try:
            stop = False
            while not stop:
                item = await queue.get()
                if item is None or item is _DEADLINE:
                    break
                if item is _BOOKMARK:
                    await response.write(self._bookmark(call))
                    continue
                events = [item]
                while not queue.empty() and (drop_after is None or
                                             sent + len(events) < drop_after):
                    nxt = queue.get_nowait()
                    if nxt is None or nxt is _DEADLINE:
                        stop = True
                        break
                    if nxt is not _BOOKMARK:
                        events.append(nxt)
                await response.write(b"".join(encode(e, e.type) for e in events))
                sent += len(events)
                if await dropped() or watcher.closed:
                    return
        finally:
            for handle in timers.values():
                handle.cancel()
        if not request.transport or request.transport.is_closing():
            return
        await response.write_eof()
