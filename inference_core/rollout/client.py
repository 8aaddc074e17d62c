"""``KubernetesClient``: the sync :class:`~inference_core.rollout.kube.KubeClient` over the
official ``kubernetes`` library.

Every call has a client-side timeout; urllib3's own retries are off (one attempt = one
request); transient failures are retried by :class:`~inference_core.rollout.retry.RetryPolicy`
(429 with ``Retry-After``, 5xx, no answer); library exceptions never leave this module.

>>> client = KubernetesClient.from_kubeconfig("~/.kube/config", context="prod")
>>> client.apply(manifest)  # server-side apply as "inference-stacks", force=False
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import tenacity

from inference_core.errors import DeployError, KubeApiError
from inference_core.rollout.constants import FIELD_MANAGER, resource_for, resource_of
from inference_core.rollout.kube import JsonObj, ObjectKey, WatchEvent
from inference_core.rollout.retry import (
    RetryPolicy,
    conflict_error,
    connection_error,
    decode_status,
    is_field_conflict,
    status_error,
)

log = logging.getLogger(__name__)

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
#: Default client-side timeout of one call (seconds): (connect, read).
DEFAULT_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0


def disable_library_retries(api_client: Any) -> None:
    """Turn urllib3's own retries off on an existing ``ApiClient`` (new pools use it too)."""
    rest = getattr(api_client, "rest_client", None)
    pool = getattr(rest, "pool_manager", None)
    if pool is None:
        return
    pool.connection_pool_kw["retries"] = False
    pool.clear()  # pools created earlier kept the default (3 retries)


class KubernetesClient:
    """Sync client: ``get``, ``list``, ``apply``, ``delete``, ``watch`` (see the protocol).

    :param api_client: a ``kubernetes.client.ApiClient`` (its urllib3 retries are turned off).
    :param request_timeout: client-side read timeout of one call, seconds.
    :param retry: budget for transient failures.
    :param field_manager: default server-side apply field manager.
    :param namespace: the kubeconfig context's namespace, when known (for front doors).
    """

    def __init__(self, api_client: Any, *, request_timeout: float = DEFAULT_TIMEOUT_S,
                 retry: RetryPolicy | None = None, field_manager: str = FIELD_MANAGER,
                 namespace: str | None = None) -> None:
        disable_library_retries(api_client)
        self.api_client = api_client
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self.field_manager = field_manager
        self.namespace = namespace

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, *, context: str | None = None,
                        **kwargs: Any) -> KubernetesClient:
        """A client for a kubeconfig file (default ``$KUBECONFIG`` / ``~/.kube/config``) and
        context, or the pod's service account when no kubeconfig exists in-cluster."""
        import os

        from kubernetes import client, config

        cfg = client.Configuration()
        namespace: str | None = None
        try:
            default_path = os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]
            in_cluster = (path is None and not os.path.exists(os.path.expanduser(default_path))
                          and "KUBERNETES_SERVICE_HOST" in os.environ)
            if in_cluster:
                config.load_incluster_config(client_configuration=cfg)
                ns_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
                if os.path.exists(ns_file):
                    with open(ns_file, encoding="utf-8") as f:
                        namespace = f.read().strip() or None
            else:
                config.load_kube_config(config_file=path, context=context,
                                        client_configuration=cfg, persist_config=False)
                namespace = _context_namespace(path, context)
        except Exception as e:  # the loader raises many types (ConfigException, OSError...)
            where = path or os.environ.get("KUBECONFIG") or "~/.kube/config"
            raise DeployError(f"cannot load the Kubernetes configuration from {where}"
                              f"{f' (context {context!r})' if context else ''}: "
                              f"{type(e).__name__}: {str(e)[:300]}") from None
        cfg.retries = False
        return cls(client.ApiClient(cfg), namespace=namespace, **kwargs)

    def close(self) -> None:
        """Release the connection pool."""
        try:
            self.api_client.close()
        except Exception:  # closing is best effort
            log.debug("closing the API client failed", exc_info=True)

    # -- raw request -------------------------------------------------------------------
    def request(self, verb: str, path: str, *, query: Iterable[tuple[str, str]] = (),
                body: Any = None, content_type: str = "application/json",
                redact: bool = False) -> JsonObj:
        """One API call with timeout and bounded retries; the decoded JSON answer."""
        for attempt in tenacity.Retrying(**self.retry.tenacity_kwargs()):
            with attempt:
                return self._send(verb, path, list(query), body, content_type, redact)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, verb: str, path: str, query: list[tuple[str, str]], body: Any,
              content_type: str, redact: bool, timeout: Any) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api_client.call_api(
                path, verb, query_params=query,
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body, auth_settings=["BearerToken"], _preload_content=False,
                _request_timeout=timeout)
        except ApiException as e:
            raise status_error(status=int(e.status or 0), verb=verb, path=path, body=e.body,
                               headers=dict(e.headers or {}), redact=redact) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise connection_error(verb=verb, path=path, exc=e) from None

    def _send(self, verb: str, path: str, query: list[tuple[str, str]], body: Any,
              content_type: str, redact: bool) -> JsonObj:
        import urllib3

        resp = self._call(verb, path, query, body, content_type, redact,
                          (CONNECT_TIMEOUT_S, self.request_timeout))
        try:
            data = resp[0].data if isinstance(resp, tuple) else resp.data
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise connection_error(verb=verb, path=path, exc=e) from None
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError as e:
            raise KubeApiError(f"{verb} {path}: the answer is not JSON", status=None) from e
        return decoded if isinstance(decoded, dict) else {"items": decoded}

    # -- verbs -------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str,
            namespace: str | None) -> JsonObj | None:
        """One object; ``None`` on 404."""
        res = resource_for(api_version, kind)
        try:
            obj = self.request("GET", res.object_path(namespace, name),
                               redact=kind == "Secret")
        except KubeApiError as e:
            if e.status == 404:
                return None
            raise
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        return obj

    def list(self, api_version: str, kind: str, namespace: str | None, *,
             label_selector: str | None = None,
             field_selector: str | None = None) -> list[JsonObj]:
        """Objects of one kind (``apiVersion``/``kind`` filled in on each item)."""
        res = resource_for(api_version, kind)
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        answer = self.request("GET", res.collection_path(namespace), query=query)
        items = [dict(i) for i in answer.get("items") or []]
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def apply(self, manifest: Mapping[str, Any], *, field_manager: str | None = None,
              force: bool = False, dry_run: bool = False) -> JsonObj:
        """Server-side apply; a 409 becomes ``FieldConflict`` (managers, fields, way out)."""
        res = resource_of(manifest)
        key = ObjectKey.of(manifest)
        manager = field_manager or self.field_manager
        query = [("fieldManager", manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        path = res.object_path(key.namespace, key.name)
        log.info("Applying %s%s (field manager %s%s)", key, " [dry run]" if dry_run else "",
                 manager, ", force" if force else "")
        try:
            return self.request("PATCH", path, query=query, body=dict(manifest),
                                content_type=APPLY_CONTENT_TYPE, redact=res.kind == "Secret")
        except KubeApiError as e:
            status = getattr(e, "body", None) or decode_status(None)
            if e.status == 409 and not force and is_field_conflict(status):
                raise conflict_error(status, what=str(key), manager=manager) from None
            raise

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None, *,
               propagation: str = "Background", uid: str | None = None,
               resource_version: str | None = None) -> bool:
        """Delete one object; ``False`` when already gone."""
        res = resource_for(api_version, kind)
        body: JsonObj = {"kind": "DeleteOptions", "apiVersion": "v1",
                         "propagationPolicy": propagation}
        pre = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if pre:
            body["preconditions"] = pre
        try:
            self.request("DELETE", res.object_path(namespace, name), body=body)
        except KubeApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def watch(self, api_version: str, kind: str, namespace: str | None, *,
              label_selector: str | None = None, field_selector: str | None = None,
              resource_version: str | None = None,
              timeout_s: float = 30.0) -> Iterator[WatchEvent]:
        """Watch events (one connection, no retries: the caller re-lists and re-watches).
        The stream ends after ``timeout_s`` (server side) or a read timeout (client side)."""
        res = resource_for(api_version, kind)
        path = res.collection_path(namespace)
        seconds = max(1, int(timeout_s))
        query = [("watch", "true"), ("timeoutSeconds", str(seconds)),
                 ("allowWatchBookmarks", "true")]
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if resource_version:
            query.append(("resourceVersion", resource_version))
        resp = self._call("GET", path, query, None, "application/json", False,
                          (CONNECT_TIMEOUT_S, seconds + 5.0))
        return WatchStream(resp, self._events(resp, path, api_version, kind))

    @staticmethod
    def _events(resp: Any, path: str, api_version: str, kind: str) -> Iterator[WatchEvent]:
        import urllib3

        buffer = b""
        try:
            for chunk in resp.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    obj = dict(event.get("object") or {})
                    if event.get("type") != "ERROR":
                        obj.setdefault("apiVersion", api_version)
                        obj.setdefault("kind", kind)
                    yield WatchEvent(str(event.get("type")), obj)
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise connection_error(verb="WATCH", path=path, exc=e) from None
        finally:
            resp.release_conn()


class WatchStream:
    """An iterator of watch events whose :meth:`close` may be called from another thread
    (it shuts the connection down, so a reader blocked on it returns at once)."""

    def __init__(self, resp: Any, events: Iterator[WatchEvent]) -> None:
        self._resp = resp
        self._events = events

    def __iter__(self) -> WatchStream:
        return self

    def __next__(self) -> WatchEvent:
        return next(self._events)

    def close(self) -> None:
        """Stop the stream (safe from any thread)."""
        shutdown = getattr(self._resp, "shutdown", None)
        try:
            if shutdown is not None:
                shutdown()
            else:  # older urllib3: closing is the best we can do
                self._resp.close()
        except Exception:  # already closed
            log.debug("closing a watch stream failed", exc_info=True)


def _context_namespace(path: str | None, context: str | None) -> str | None:
    """The namespace set on the kubeconfig context (None when unset)."""
    from kubernetes import config

    try:
        contexts, active = config.list_kube_config_contexts(config_file=path)
    except Exception:  # an odd kubeconfig: the caller falls back to "default"
        return None
    chosen = next((c for c in contexts if c.get("name") == context), None) if context \
        else active
    ns = ((chosen or {}).get("context") or {}).get("namespace")
    return str(ns) if ns else None
