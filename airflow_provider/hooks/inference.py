"""``InferenceHook``: the synchronous door to the Kubernetes API for operators.

It reuses the cncf-kubernetes connection (``kubernetes_default``: in-cluster, a kubeconfig
path, inline kubeconfig, context) and that provider's auth code to build an ``ApiClient``,
then talks to the API itself so that every call has a client-side timeout, transient
failures are retried in one place (:mod:`airflow_provider.hooks.retry`), objects are
written with server-side apply under a named field manager, and no client-library
exception leaks out: callers only see :mod:`inference_core.errors` types.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import tenacity
from airflow.sdk import BaseHook

from airflow_provider.defaults import DEFAULT_FIELD_MANAGER, DEFAULT_REQUEST_TIMEOUT_S
from airflow_provider.hooks.resources import Resource, describe, resource_for, resource_of
from airflow_provider.hooks.retry import RetryPolicy, connection_error, status_error
from inference_core.errors import DeployError, KubeApiError

if TYPE_CHECKING:
    from inference_core.rollout.client import KubernetesClient

log = logging.getLogger(__name__)


APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


class InferenceHook(BaseHook):
    """Apply, read, patch and delete inference workloads' objects.

    :param kubernetes_conn_id: an Airflow connection of type ``kubernetes`` (the
        cncf-kubernetes provider's; extras ``in_cluster``, ``kube_config_path``,
        ``kube_config``, ``cluster_context``, ``namespace``, ``disable_verify_ssl``).
    :param cluster_context: kubeconfig context; overrides the connection's.
    :param config_file: kubeconfig path; overrides the connection's.
    :param in_cluster: use the pod's service account; overrides the connection's.
    :param field_manager: server-side apply field manager (default ``inference-stacks``).
    :param request_timeout: client-side timeout of every call, seconds.
    :param retry: retry policy for transient failures.
    """

    conn_name_attr = "kubernetes_conn_id"
    default_conn_name = "kubernetes_default"
    #: The cncf-kubernetes connection type: this provider registers no type of its own.
    conn_type = "kubernetes"

    def __init__(
        self,
        kubernetes_conn_id: str = default_conn_name,
        *,
        cluster_context: str | None = None,
        config_file: str | None = None,
        in_cluster: bool | None = None,
        field_manager: str = DEFAULT_FIELD_MANAGER,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.kubernetes_conn_id = kubernetes_conn_id
        self.cluster_context = cluster_context
        self.config_file = config_file
        self.in_cluster = in_cluster
        self.field_manager = field_manager
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()

    # -- connection ---------------------------------------------------------------------

    @cached_property
    def kube_hook(self) -> Any:
        """The cncf-kubernetes ``KubernetesHook`` that owns connection parsing and auth."""
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        return KubernetesHook(
            conn_id=self.kubernetes_conn_id,
            cluster_context=self.cluster_context,
            config_file=self.config_file,
            in_cluster=self.in_cluster,
        )

    @cached_property
    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` built from the connection (created once)."""
        try:
            return self.kube_hook.get_conn()
        except Exception as e:  # config errors come in many library types
            raise DeployError(
                f"connection {self.kubernetes_conn_id!r}: cannot load the Kubernetes "
                f"configuration ({type(e).__name__}: {str(e)[:200]})"
            ) from e

    @cached_property
    def client(self) -> KubernetesClient:
        """The core's sync Kubernetes client (``inference_core.rollout.kube.KubeClient``) on
        this connection: what the rollout engine plans, writes and waits through."""
        from inference_core.rollout.client import KubernetesClient

        return KubernetesClient(self.api_client, request_timeout=self.request_timeout,
                                retry=None, field_manager=self.field_manager)

    def default_namespace(self) -> str | None:
        """The connection's ``namespace`` extra, if set."""
        try:
            ns = self.kube_hook.get_namespace()
        except Exception:  # a missing connection falls back to the spec's namespace
            return None
        return str(ns) if ns else None

    # -- raw request ----------------------------------------------------------------------

    def request(
        self,
        verb: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        redact: bool = False,
    ) -> dict[str, Any]:
        """One API call with timeout and retries; returns the decoded JSON answer.

        Raises ``KubeApiError`` (status, reason) after the retry budget, or at once for a
        non-transient answer. ``redact`` keeps the server's message out of the error.
        """
        retrying = tenacity.Retrying(**self.retry.tenacity_kwargs())
        for attempt in retrying:
            with attempt:
                return self._send(verb, path, list(query), body, content_type, redact)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, verb: str, path: str, query: list[tuple[str, str]], body: Any,
        content_type: str, redact: bool,
    ) -> dict[str, Any]:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            resp = self.api_client.call_api(
                path, verb,
                query_params=query,
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=self.request_timeout,
            )
            data = resp.data
        except ApiException as e:
            raise status_error(
                status=int(e.status or 0), verb=verb, path=path, body=e.body,
                headers=dict(e.headers or {}), redact=redact,
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise connection_error(verb=verb, path=path, exc=e) from None
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError as e:
            raise KubeApiError(
                f"{verb} {path}: the answer is not JSON", status=resp.status
            ) from e
        return decoded if isinstance(decoded, dict) else {"items": decoded}

    # -- object verbs ---------------------------------------------------------------------

    def apply(
        self, manifest: Mapping[str, Any], *, force: bool = False,
        field_manager: str | None = None, dry_run: bool = False,
    ) -> dict[str, Any]:
        """Server-side apply one object (creates it or updates the fields we manage).

        ``force`` takes over fields another manager owns. Without it the server answers
        409 Conflict naming the manager and the fields; the ``KubeApiError`` (status 409)
        then also says how to resolve it (``force=True``, or leave the fields to that
        manager).
        """
        res = resource_of(manifest)
        meta = manifest.get("metadata") or {}
        query = [("fieldManager", field_manager or self.field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        path = res.object_path(meta.get("namespace"), str(meta.get("name")))
        log.info("Applying %s %s (field manager %s)", res.kind, path, query[0][1])
        try:
            return self.request(
                "PATCH", path, query=query, body=dict(manifest),
                content_type=APPLY_CONTENT_TYPE, redact=res.kind == "Secret",
            )
        except KubeApiError as e:
            if e.status != 409 or force:
                raise
            raise KubeApiError(
                f"{e}; another field manager owns these fields of {describe(manifest)}: "
                "apply with force=True to take them over, or leave them to that manager",
                status=409, reason=e.reason,
            ) from e

    def apply_all(
        self, manifests: Iterable[Mapping[str, Any]], *, force: bool = False,
        field_manager: str | None = None,
    ) -> list[dict[str, Any]]:
        """Apply objects in order; returns what the server stored for each."""
        return [self.apply(m, force=force, field_manager=field_manager) for m in manifests]

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None
    ) -> dict[str, Any] | None:
        """Read one object; ``None`` when it does not exist."""
        res = resource_for(api_version, kind)
        try:
            return self.request(
                "GET", res.object_path(namespace, name), redact=res.kind == "Secret"
            )
        except KubeApiError as e:
            if e.status == 404:
                return None
            raise

    def list(
        self, api_version: str, kind: str, namespace: str | None, *,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """List objects of one kind (optionally by label selector)."""
        res = resource_for(api_version, kind)
        query = [("labelSelector", label_selector)] if label_selector else []
        answer = self.request("GET", res.collection_path(namespace), query=query)
        return list(answer.get("items") or [])

    def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None, *,
        propagation: str = "Background",
    ) -> bool:
        """Delete one object; ``False`` when it was already gone."""
        res: Resource = resource_for(api_version, kind)
        try:
            self.request(
                "DELETE", res.object_path(namespace, name),
                body={"kind": "DeleteOptions", "apiVersion": "v1",
                      "propagationPolicy": propagation},
            )
        except KubeApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def test_connection(self) -> tuple[bool, str]:
        """Airflow UI "Test" button: list namespaces' API root."""
        try:
            self.request("GET", "/version")
        except DeployError as e:
            return False, str(e)
        return True, "Connection successfully tested"
