"""``AsyncInferenceHook``: the asyncio twin of ``InferenceHook`` used by triggers.

Config and auth come from the cncf-kubernetes ``AsyncKubernetesHook`` (same connection
extras). Requests go through a ``kubernetes_asyncio`` ``ApiClient`` with a client-side
timeout, the shared retry policy and the shared error mapping. ``watch`` streams one
watch request and turns a 410 (``Expired``/``Gone``) into :class:`WatchExpired` so the
caller relists; resuming after a drop is the caller's job (see ``informer.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable, Mapping
from typing import Any, TypeVar

import tenacity

from airflow_provider.defaults import DEFAULT_FIELD_MANAGER, DEFAULT_REQUEST_TIMEOUT_S
from airflow_provider.hooks.resources import Resource, describe, resource_for, resource_of
from airflow_provider.hooks.retry import RetryPolicy
from inference_core.errors import DeployError, KubeApiError
from inference_core.rollout.kube import WatchEvent
from inference_core.rollout.retry import connection_error, status_error

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"

log = logging.getLogger(__name__)

T = TypeVar("T")


async def finish_shielded(aw: Awaitable[T]) -> T:
    """Run ``aw`` to completion even when the calling task is cancelled meanwhile.

    Clean-up (closing sessions, stopping watches) must not be cut short by the
    cancellation that caused it; the caller's cancellation is re-raised afterwards.
    """
    task = asyncio.ensure_future(aw)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller sees
        raise asyncio.CancelledError
    return task.result()


class WatchExpired(KubeApiError):
    """The watch's resourceVersion is too old (HTTP 410): relist, then watch again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=410, reason="Expired")


class AsyncInferenceHook:
    """Read, list and watch objects asynchronously (see ``InferenceHook`` for parameters).

    ``__init__`` only stores; the client is made on first use inside the running loop.
    Call :meth:`close` when done (the shared informers do).
    """

    def __init__(
        self,
        kubernetes_conn_id: str = "kubernetes_default",
        *,
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self._client: Any = None
        self._lock: asyncio.Lock | None = None
        self.clients_made = 0

    async def __aenter__(self) -> AsyncInferenceHook:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def is_open(self) -> bool:
        """True while the hook holds an ``ApiClient`` (an open HTTP session)."""
        return self._client is not None

    async def api_client(self) -> Any:
        """The ``kubernetes_asyncio`` ``ApiClient`` (made once per hook).

        Concurrent first callers (several informers starting together) share one
        client: loading the configuration awaits, so without the lock each of them
        would make its own HTTP session and all but one would never be closed.
        """
        if self._client is not None:
            return self._client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is None:
                from kubernetes_asyncio import client as aclient

                cfg = await self._load_configuration()
                self._client = aclient.ApiClient(configuration=cfg)
                self.clients_made += 1
            return self._client

    async def _load_configuration(self) -> Any:
        from kubernetes_asyncio import client as aclient
        from kubernetes_asyncio import config as aconfig

        cfg = aclient.Configuration()
        try:
            if self.config_file:
                await aconfig.load_kube_config(
                    config_file=self.config_file, context=self.cluster_context,
                    client_configuration=cfg,
                )
            else:
                # Imported here: the cncf hook module is heavy (about 40 MB) and only the
                # connection path needs it.
                from airflow.providers.cncf.kubernetes.hooks.kubernetes import (
                    AsyncKubernetesHook,
                )

                hook = AsyncKubernetesHook(
                    conn_id=self.kubernetes_conn_id, cluster_context=self.cluster_context,
                    in_cluster=self.in_cluster, client_configuration=cfg,
                )
                await hook._load_config()  # type: ignore[no-untyped-call]
        except Exception as e:  # config errors come in many library types
            raise DeployError(
                f"connection {self.kubernetes_conn_id!r}: cannot load the Kubernetes "
                f"configuration ({type(e).__name__}: {str(e)[:200]})"
            ) from e
        return cfg

    async def close(self) -> None:
        """Close the HTTP session (idempotent; completes even if the caller is cancelled)."""
        if self._client is not None:
            client, self._client = self._client, None
            await finish_shielded(client.close())

    async def request(
        self, verb: str, path: str, *, query: Iterable[tuple[str, str]] = (),
        body: Any = None, content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One API call with timeout and retries; returns decoded JSON."""
        retrying = tenacity.AsyncRetrying(**self.retry.tenacity_kwargs())
        async for attempt in retrying:
            with attempt:
                return await self._send(verb, path, list(query), body, content_type)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self, verb: str, path: str, query: list[tuple[str, str]], body: Any, content_type: str
    ) -> dict[str, Any]:

        import aiohttp

        client = await self.api_client()
        try:
            resp = await client.call_api(
                path, verb, query_params=query,
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body, auth_settings=["BearerToken"], _preload_content=False,
                _request_timeout=self.request_timeout,
            )
            async with resp:
                data = await resp.read()
                if not 200 <= resp.status <= 299:
                    raise status_error(
                        status=resp.status, verb=verb, path=path, body=data,
                        headers=dict(resp.headers), redact="/secrets" in path,
                    )
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise connection_error(verb=verb, path=path, exc=e) from None
        if not data:
            return {}
        decoded: dict[str, Any] = json.loads(data)
        return decoded

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> dict[str, Any] | None:
        """Read one object; ``None`` when absent."""
        res = resource_for(api_version, kind)
        try:
            return await self.request("GET", res.object_path(namespace, name))
        except KubeApiError as e:
            if e.status == 404:
                return None
            raise

    async def list_objects(
        self, res: Resource, namespace: str | None, *, page_size: int = 500,
    ) -> tuple[list[dict[str, Any]], str]:
        """List a collection in pages of ``page_size`` (one consistent snapshot: the
        server's continue token); returns the items and the list's resourceVersion.

        Pages keep each answer small: decoding JSON holds the interpreter lock, so one
        answer of thousands of objects would stall the event loop for its whole decode.
        """
        items: list[dict[str, Any]] = []
        rv = ""
        token = ""
        while True:
            query = [("limit", str(page_size))] + ([("continue", token)] if token else [])
            answer = await self.request("GET", res.collection_path(namespace), query=query)
            page = list(answer.get("items") or [])
            for item in page:  # list items lack apiVersion/kind; the evaluators need them
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
            items += page
            meta = answer.get("metadata") or {}
            rv = rv or str(meta.get("resourceVersion") or "")
            token = str(meta.get("continue") or "")
            if not token:
                return items, str(meta.get("resourceVersion") or rv)
            await asyncio.sleep(0)  # let the loop run between pages

    async def watch_stream(
        self, res: Resource, namespace: str | None, resource_version: str, *,
        timeout_seconds: int = 300, label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yield watch events (``{"type", "object"}``, bookmarks included) from one request.

        Ends when the server closes the stream (a normal drop: resume from the last
        resourceVersion). Raises :class:`WatchExpired` on 410, ``KubeApiError`` otherwise.
        """

        import aiohttp

        client = await self.api_client()
        path = res.collection_path(namespace)
        query = [
            ("watch", "true"), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.request_timeout, sock_connect=self.request_timeout,
            sock_read=timeout_seconds + self.request_timeout,
        )
        try:
            resp = await client.call_api(
                path, "GET", query_params=query, header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"], _preload_content=False, _request_timeout=timeout,
            )
            async with resp:
                if resp.status == 410:
                    raise WatchExpired(f"watch {path}: resourceVersion {resource_version} expired")
                if not 200 <= resp.status <= 299:
                    raise status_error(
                        status=resp.status, verb="WATCH", path=path, body=await resp.read(),
                        headers=dict(resp.headers), redact="/secrets" in path,
                    )
                async for line in resp.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object") or {}
                    if event.get("type") == "ERROR":
                        code = obj.get("code")
                        if code == 410:
                            raise WatchExpired(f"watch {path}: {obj.get('message', 'expired')}")
                        raise KubeApiError(
                            f"watch {path}: {obj.get('reason')}: {obj.get('message')}",
                            status=int(code) if code else None, reason=obj.get("reason"),
                        )
                    obj.setdefault("apiVersion", res.api_version)
                    obj.setdefault("kind", res.kind)
                    yield event
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            raise connection_error(verb="WATCH", path=path, exc=e) from None

    # -- the core's AsyncKubeClient protocol (inference_core.rollout.kube) ------------------

    async def list(
        self, api_version: str, kind: str, namespace: str | None, *,
        label_selector: str | None = None, field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of one kind (``apiVersion``/``kind`` set on each)."""
        res = resource_for(api_version, kind)
        query = [(k, v) for k, v in (("labelSelector", label_selector),
                                     ("fieldSelector", field_selector)) if v]
        answer = await self.request("GET", res.collection_path(namespace), query=query)
        items = [dict(i) for i in answer.get("items") or []]
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    async def apply(
        self, manifest: Mapping[str, Any], *, field_manager: str = DEFAULT_FIELD_MANAGER,
        force: bool = False, dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply as ``field_manager``; a conflict is the core's
        ``FieldConflict`` naming the other managers and fields."""
        from inference_core.rollout.retry import conflict_error, decode_status, is_field_conflict

        res = resource_of(manifest)
        meta = manifest.get("metadata") or {}
        query = [("fieldManager", field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        path = res.object_path(meta.get("namespace"), str(meta.get("name")))
        try:
            return await self.request("PATCH", path, query=query, body=dict(manifest),
                                      content_type=APPLY_CONTENT_TYPE)
        except KubeApiError as e:
            status = getattr(e, "body", None) or decode_status(None)
            if e.status == 409 and not force and is_field_conflict(status):
                raise conflict_error(status, what=describe(manifest),
                                     manager=field_manager) from None
            raise

    async def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None, *,
        propagation: str = "Background", uid: str | None = None,
        resource_version: str | None = None,
    ) -> bool:
        """Delete one object (optional preconditions); ``False`` when already gone."""
        res = resource_for(api_version, kind)
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1",
                                "propagationPolicy": propagation}
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if pre:
            body["preconditions"] = pre
        try:
            await self.request("DELETE", res.object_path(namespace, name), body=body)
        except KubeApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    async def watch(
        self, api_version: str, kind: str, namespace: str | None, *,
        label_selector: str | None = None, field_selector: str | None = None,
        resource_version: str | None = None, timeout_s: float = 30.0,
    ) -> AsyncIterator[WatchEvent]:
        """Watch events of one request (the protocol's form of :meth:`watch_stream`)."""
        stream = self.watch_stream(resource_for(api_version, kind), namespace,
                                   resource_version or "", timeout_seconds=max(1, int(timeout_s)),
                                   label_selector=label_selector, field_selector=field_selector)
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                yield WatchEvent(str(event.get("type")), dict(event.get("object") or {}))
