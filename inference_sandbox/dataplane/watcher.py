"""The data plane's view of the cluster: list + watch through the kubeconfig, like any client.

One thread per resource (Knative Services and Revisions, core Services, LWS leader Pods)
keeps a cache of raw objects and calls ``on_change`` after every event. A dropped or expired
watch (410) lists again; errors back off up to a second.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import config as kube_config

log = logging.getLogger(__name__)

RESOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "ksvc": ("/apis/serving.knative.dev/v1/services", {}),
    "revision": ("/apis/serving.knative.dev/v1/revisions", {}),
    "service": ("/api/v1/services", {}),
    "pod": ("/api/v1/pods", {"labelSelector": "leaderworkerset.sigs.k8s.io/worker-index=0"}),
}
WATCH_SECONDS = 30


class Expired(Exception):
    """The watch's resourceVersion is too old: list again."""


class ClusterWatcher:
    """Caches ``objects[resource][(namespace, name)]`` from list+watch."""

    def __init__(self, kubeconfig: str, on_change: Callable[[], None],
                 context: str | None = None) -> None:
        self.api = kube_config.new_client_from_config(config_file=kubeconfig, context=context)
        self.on_change = on_change
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {
            r: {} for r in RESOURCES}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.synced = {r: threading.Event() for r in RESOURCES}

    def start(self) -> None:
        """One daemon thread per resource."""
        for resource in RESOURCES:
            t = threading.Thread(target=self._run, args=(resource,), daemon=True,
                                 name=f"dataplane-watch-{resource}")
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        """Ask the threads to end (they finish their current read)."""
        self._stop.set()

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """A consistent copy of every cache."""
        with self.lock:
            return {r: list(objs.values()) for r, objs in self.objects.items()}

    # ------------------------------------------------------------------ internals
    def _get(self, path: str, query: dict[str, str], *, stream: bool) -> Any:
        resp = self.api.call_api(
            path, "GET", query_params=list(query.items()), auth_settings=["BearerToken"],
            _preload_content=False, _return_http_data_only=True,
            _request_timeout=(5, WATCH_SECONDS + 10 if stream else 10))
        if resp.status >= 400:
            raise RuntimeError(f"GET {path}: {resp.status}")
        return resp

    def _run(self, resource: str) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                version = self._list(resource)
                self.synced[resource].set()
                while not self._stop.is_set():
                    version = self._watch(resource, version)
                delay = 0.05
            except Expired:
                continue
            except Exception as err:  # the API server restarting, a 5xx, a reset
                if self._stop.is_set():
                    return
                log.debug("data plane watch of %s failed (%s); retrying", resource, err)
                self._stop.wait(delay)
                delay = min(delay * 2, 1.0)

    def _list(self, resource: str) -> str:
        path, query = RESOURCES[resource]
        resp = self._get(path, query, stream=False)
        body = json.loads(resp.data)
        items = {self._key(o): o for o in body.get("items") or []}
        with self.lock:
            self.objects[resource] = items
        self.on_change()
        return str((body.get("metadata") or {}).get("resourceVersion", ""))

    def _watch(self, resource: str, version: str) -> str:
        path, query = RESOURCES[resource]
        resp = self._get(path, {**query, "watch": "true", "resourceVersion": version,
                                "allowWatchBookmarks": "true",
                                "timeoutSeconds": str(WATCH_SECONDS)}, stream=True)
        buffer = b""
        try:
            for chunk in resp.stream(4096, decode_content=True):
                if self._stop.is_set():
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        version = self._event(resource, json.loads(line)) or version
        finally:
            resp.release_conn()
        return version

    def _event(self, resource: str, event: dict[str, Any]) -> str | None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Expired()
            raise RuntimeError(obj.get("message", "watch error"))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            return str(version) if version else None
        with self.lock:
            if kind == "DELETED":
                self.objects[resource].pop(self._key(obj), None)
            else:
                self.objects[resource][self._key(obj)] = obj
        self.on_change()
        return str(version) if version else None

    @staticmethod
    def _key(obj: dict[str, Any]) -> tuple[str, str]:
        md = obj.get("metadata") or {}
        return (str(md.get("namespace", "")), str(md.get("name", "")))
