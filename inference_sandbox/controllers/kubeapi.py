"""The controllers' :class:`~inference_sandbox.controllers.api.ObjectAPI` over a real
kube-apiserver: an informer per resource type (list, then watch with bookmarks; a ``410 Gone``
relists) keeps a local cache the controllers read, and writes go over HTTP as a controller's
would (status through the ``/status`` subresource, node assignment through ``pods/binding``).

The sandbox store writes without concurrency checks; here spec/metadata updates carry the
object's ``resourceVersion`` (a conflict fails the reconcile, which the manager retries) and
status updates, owned by the controller alone, are retried with a fresh ``resourceVersion``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import yaml

from inference_sandbox.apierrors import ApiError
from inference_sandbox.controllers.api import Kind
from inference_sandbox.objects import clone, meta
from inference_sandbox.resources import TABLE, ResourceTable, ResourceType
from inference_sandbox.selectors import Predicate
from inference_sandbox.watchcache import WatchEvent

log = logging.getLogger(__name__)

WATCH_SECONDS = 20
"""Server-side timeout of one watch request (the informer then resumes from its last
resourceVersion); also bounds how long :meth:`KubeObjectAPI.stop` waits for a watch thread."""
READ_RETRY_SECONDS = 60.0
RETRIABLE = {429, 500, 503, 504}
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields",
                 "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")

#: What the simulated controllers read and write.
CONTROLLER_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "Namespace"), ("v1", "Node"), ("v1", "Pod"), ("v1", "Service"), ("v1", "Secret"),
    ("v1", "ConfigMap"), ("v1", "PersistentVolumeClaim"), ("v1", "ServiceAccount"),
    ("v1", "Event"), ("scheduling.k8s.io/v1", "PriorityClass"),
    ("serving.knative.dev/v1", "Service"), ("serving.knative.dev/v1", "Configuration"),
    ("serving.knative.dev/v1", "Route"), ("serving.knative.dev/v1", "Revision"),
    ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"), ("scheduling.run.ai/v2", "Queue"),
    ("scheduling.run.ai/v2alpha2", "PodGroup"),
)


def _rv(obj: dict[str, Any] | None) -> int:
    try:
        return int(meta(obj or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _without_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "status"}
    out["metadata"] = {k: v for k, v in meta(obj).items() if k not in SERVER_FIELDS}
    return out


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    return ApiError(response.status_code, str(body.get("reason") or "Unknown"),
                    str(body.get("message") or response.text[:300]), details=body.get("details"))


class KubeObjectAPI:
    """Cached reads, HTTP writes and watch-driven change notifications for one kubeconfig."""

    def __init__(self, kubeconfig: str | Path, *, kinds: Iterable[tuple[str, str]] =
                 CONTROLLER_KINDS, table: ResourceTable = TABLE, timeout: float = 30.0) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text(encoding="utf-8"))
        ctx = next(c["context"] for c in config["contexts"]
                   if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
        self._server = cluster["server"].rstrip("/")
        self._verify: ssl.SSLContext | bool = True
        if "certificate-authority-data" in cluster:
            self._verify = ssl.create_default_context(cadata=base64.b64decode(
                cluster["certificate-authority-data"]).decode("ascii"))
        self._headers = {"Accept": "application/json"}
        if user.get("token"):
            self._headers["Authorization"] = f"Bearer {user['token']}"
        self._timeout = timeout
        self.table = table
        self.types = [table.get(*kind) for kind in kinds]
        self._http = self._client()
        self._lock = threading.RLock()
        self._cache: dict[ResourceType, dict[tuple[str, str], dict[str, Any]]] = {
            rt: {} for rt in self.types}
        self._status_subresource: set[ResourceType] = set()
        self._listeners: list[Callable[[WatchEvent], None]] = []
        self._loop: Any = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.relists = 0
        """How many times an informer relisted after ``410 Gone``."""

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self._server, verify=self._verify, headers=self._headers,
                            timeout=self._timeout)

    # ------------------------------------------------------------------ lifecycle
    def start(self, loop: Any = None) -> None:
        """Discover status subresources, fill every cache (initial list) and start the
        watches; listeners are then called on ``loop`` (thread-safe hand-off)."""
        self._loop = loop
        for rt in self.types:
            listing = self._read(self._http, self._group_path(rt))
            if listing.status_code != 200:
                raise _error(listing)
            names = {r["name"] for r in listing.json().get("resources", [])}
            if f"{rt.plural}/status" in names:
                self._status_subresource.add(rt)
        for rt in self.types:
            rv = self._relist(rt, self._http)
            thread = threading.Thread(target=self._watch_loop, args=(rt, rv), daemon=True,
                                      name=f"informer-{rt.plural}")
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the watches (each ends within ``WATCH_SECONDS``) and close the client."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=WATCH_SECONDS + 10)
        self._http.close()

    # ------------------------------------------------------------------ paths
    def _resolve(self, rt: Kind) -> ResourceType:
        return rt if isinstance(rt, ResourceType) else self.table.get(*rt)

    @staticmethod
    def _group_path(rt: ResourceType) -> str:
        return f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"

    def _path(self, rt: ResourceType, namespace: str | None, name: str | None = None) -> str:
        path = self._group_path(rt)
        if rt.namespaced and namespace:
            path += f"/namespaces/{namespace}"
        path += f"/{rt.plural}"
        return f"{path}/{name}" if name else path

    # ------------------------------------------------------------------ informers
    def _read(self, http: httpx.Client, path: str) -> httpx.Response:
        """GET, retried while the server answers 429/5xx (a watch cache still initialising
        answers "storage is (re)initializing"), for at most ``READ_RETRY_SECONDS``."""
        deadline = time.monotonic() + READ_RETRY_SECONDS
        while True:
            response = http.get(path)
            if response.status_code == 200 or response.status_code not in RETRIABLE or \
                    time.monotonic() >= deadline or self._stopping.wait(0.2):
                return response

    def _relist(self, rt: ResourceType, http: httpx.Client) -> str:
        response = self._read(http, self._path(rt, None))
        if response.status_code != 200:
            raise _error(response)
        body = response.json()
        fresh = {}
        for item in body.get("items", []):
            item.setdefault("apiVersion", rt.api_version)
            item.setdefault("kind", rt.kind)
            fresh[(meta(item).get("namespace", ""), meta(item)["name"])] = item
        with self._lock:
            old = self._cache[rt]
            self._cache[rt] = fresh
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None or _rv(before) != _rv(obj):
                self._dispatch(WatchEvent(_rv(obj), "ADDED" if before is None else "MODIFIED",
                                          rt, obj, before))
        for key, obj in old.items():
            if key not in fresh:
                self._dispatch(WatchEvent(_rv(obj), "DELETED", rt, obj))
        return str(body["metadata"]["resourceVersion"])

    def _watch_loop(self, rt: ResourceType, rv: str) -> None:
        http = self._client()
        try:
            while not self._stopping.is_set():
                try:
                    rv = self._watch_once(rt, rv, http)
                except httpx.HTTPError:
                    if self._stopping.wait(0.5):
                        return
                except ApiError as err:
                    log.warning("informer %s: %s", rt.plural, err.message)
                    if self._stopping.wait(1.0):
                        return
        finally:
            http.close()

    def _watch_once(self, rt: ResourceType, rv: str, http: httpx.Client) -> str:
        params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(WATCH_SECONDS)}
        timeout = httpx.Timeout(self._timeout, read=WATCH_SECONDS + 30)
        with http.stream("GET", self._path(rt, None), params=params, timeout=timeout) as resp:
            if resp.status_code == 410:
                self.relists += 1
                return self._relist(rt, http)
            if resp.status_code != 200:
                resp.read()
                raise _error(resp)
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event["type"] == "ERROR":
                    if obj.get("code") == 410:
                        self.relists += 1
                        return self._relist(rt, http)
                    raise ApiError(int(obj.get("code") or 500), str(obj.get("reason")),
                                   str(obj.get("message")))
                rv = str(meta(obj).get("resourceVersion") or rv)
                if event["type"] != "BOOKMARK":
                    self._observe(rt, event["type"], obj)
                if self._stopping.is_set():
                    break
        return rv

    def _observe(self, rt: ResourceType, etype: str, obj: dict[str, Any]) -> None:
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        key = (meta(obj).get("namespace", ""), meta(obj)["name"])
        with self._lock:
            old = self._cache[rt].get(key)
            if etype == "DELETED":
                self._cache[rt].pop(key, None)
            elif old is not None and _rv(old) > _rv(obj):
                return  # our own write already put a newer version in the cache
            else:
                self._cache[rt][key] = obj
        self._dispatch(WatchEvent(_rv(obj), etype, rt, obj, old))

    def _remember(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        key = (meta(obj).get("namespace", ""), meta(obj)["name"])
        with self._lock:
            if _rv(self._cache[rt].get(key)) <= _rv(obj):
                self._cache[rt][key] = obj
        return dict(clone(obj))

    def add_listener(self, callback: Callable[[WatchEvent], None]) -> None:
        """Call ``callback`` with every observed change (on the loop given to :meth:`start`)."""
        self._listeners.append(callback)

    def _dispatch(self, event: WatchEvent) -> None:
        for listener in list(self._listeners):
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):  # loop already closed on shutdown
                    self._loop.call_soon_threadsafe(listener, event)
            else:
                listener(event)

    # ------------------------------------------------------------------ reads
    def get(self, rt: Kind, namespace: str | None, name: str, *,
            copy: bool = True) -> dict[str, Any] | None:
        """One cached object, or None."""
        rt = self._resolve(rt)
        with self._lock:
            obj = self._cache[rt].get(((namespace or "") if rt.namespaced else "", name))
        return None if obj is None else (clone(obj) if copy else obj)

    def list(self, rt: Kind, namespace: str | None = None, *, labels: Predicate | None = None,
             fields: Predicate | None = None, copy: bool = True) -> list[dict[str, Any]]:
        """Cached objects sorted by namespace/name, filtered."""
        rt = self._resolve(rt)
        with self._lock:
            items = sorted(self._cache[rt].items())
        return [clone(o) if copy else o for (ns, _), o in items
                if (not namespace or ns == namespace)
                and (labels is None or labels(meta(o).get("labels") or {}))
                and (fields is None or fields(o))]

    def namespace_exists(self, namespace: str) -> bool:
        """Whether the Namespace is in the cache."""
        return self.get(("v1", "Namespace"), None, namespace, copy=False) is not None

    # ------------------------------------------------------------------ writes
    def _send(self, method: str, path: str, body: Any = None,
              params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self._http.request(method, path, json=body, params=params)
        if response.status_code >= 300:
            raise _error(response)
        return dict(response.json())

    def create(self, rt: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """POST the object (server-set metadata dropped); its status (but a pod's) follows
        through ``/status`` when the type has that subresource."""
        rt = self._resolve(rt)
        body = _without_server_fields({**obj, "apiVersion": rt.api_version, "kind": rt.kind})
        if not rt.namespaced:
            body["metadata"].pop("namespace", None)
        if rt not in self._status_subresource and obj.get("status"):
            body["status"] = obj["status"]
        namespace = meta(obj).get("namespace")
        stored = self._send("POST", self._path(rt, namespace), body)
        # A new pod's status (phase, QoS class) is the API server's and then the kubelet's.
        if rt in self._status_subresource and obj.get("status") and rt.kind != "Pod":
            stored = self._put_status(rt, {**stored, "status": obj["status"]})
        return self._remember(rt, stored)

    def replace(self, rt: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """Write what changed: ``pods/binding`` for a newly set ``spec.nodeName``, a PUT for
        spec/metadata (with the object's resourceVersion), a PUT of ``/status``."""
        rt = self._resolve(rt)
        md = meta(obj)
        namespace, name = md.get("namespace"), md["name"]
        current = self.get(rt, namespace, name) or self._send("GET", self._path(rt, namespace,
                                                                                name))
        obj = clone(obj)
        node = (obj.get("spec") or {}).get("nodeName")
        if rt.kind == "Pod" and not rt.group and node and \
                not (current.get("spec") or {}).get("nodeName"):
            try:
                self._send("POST", self._path(rt, namespace, name) + "/binding",
                           {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                            "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
            except ApiError as err:
                if err.code != 404:  # a server without pods/binding takes the update below
                    raise
            else:
                current = self._remember(rt, self._send("GET", self._path(rt, namespace,
                                                                          name)))
                obj["metadata"]["resourceVersion"] = meta(current)["resourceVersion"]
        stored = current
        if _without_server_fields(obj) != _without_server_fields(current):
            body = {k: v for k, v in obj.items() if k != "status"}
            body["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
            stored = self._remember(rt, self._send("PUT", self._path(rt, namespace, name), body))
        if obj.get("status") != current.get("status"):
            if rt in self._status_subresource:
                stored = self._put_status(rt, {**stored, "status": obj.get("status")})
            elif stored is current:
                body = {**current, "status": obj.get("status")}
                stored = self._remember(rt, self._send("PUT", self._path(rt, namespace, name),
                                                       body))
        return dict(clone(stored))

    def _put_status(self, rt: ResourceType, obj: dict[str, Any], attempts: int = 3
                    ) -> dict[str, Any]:
        md = meta(obj)
        path = self._path(rt, md.get("namespace"), md["name"]) + "/status"
        body = {k: v for k, v in obj.items()}
        for attempt in range(attempts):
            try:
                return self._remember(rt, self._send("PUT", path, body))
            except ApiError as err:
                if err.code != 409 or attempt == attempts - 1:
                    raise
                latest = self._send("GET", path)
                body = {**latest, "status": obj.get("status")}
        raise AssertionError("unreachable")

    def delete(self, rt: Kind, namespace: str | None, name: str, *,
               propagation: str = "Background") -> dict[str, Any]:
        """DELETE the object. A Pod already terminating is removed at once (grace period 0),
        as the kubelet does once its containers have stopped."""
        rt = self._resolve(rt)
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions",
                                "propagationPolicy": propagation}
        current = self.get(rt, namespace, name, copy=False)
        if rt.kind == "Pod" and not rt.group and meta(current or {}).get("deletionTimestamp"):
            body["gracePeriodSeconds"] = 0
        response = self._http.request("DELETE", self._path(rt, namespace, name), json=body)
        if response.status_code >= 300:
            raise _error(response)
        return dict(response.json())
