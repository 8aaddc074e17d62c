"""A small HTTP client for a Kubernetes API (the sandbox's or a real kube-apiserver), built from
a kubeconfig, for tests that compare raw API behaviour: status codes, ``Status`` bodies,
warnings, ``managedFields``, watch streams."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

CORE_KINDS = {"Pod", "Service", "ConfigMap", "Secret", "Namespace", "ServiceAccount", "Event",
              "PersistentVolumeClaim", "Node"}
CLUSTER_SCOPED = {"Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "Queue",
                  "CustomResourceDefinition", "PriorityClass"}
PLURALS = {"Queue": "queues", "PodGroup": "podgroups", "LeaderWorkerSet": "leaderworkersets",
           "AuthorizationPolicy": "authorizationpolicies",
           "RequestAuthentication": "requestauthentications", "PriorityClass": "priorityclasses"}


def plural(kind: str) -> str:
    """The resource name of a kind (lower-case plural)."""
    if kind in PLURALS:
        return PLURALS[kind]
    lower = kind.lower()
    return lower + ("es" if lower.endswith("s") else "s")


def object_path(obj: Mapping[str, Any], *, name: bool = True) -> str:
    """URL path of an object (collection path with ``name=False``)."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    md = obj.get("metadata") or {}
    scope = "" if kind in CLUSTER_SCOPED else f"/namespaces/{md.get('namespace') or 'default'}"
    path = f"{prefix}{scope}/{plural(kind)}"
    return f"{path}/{md['name']}" if name else path


class KubeHttp:
    """httpx client bound to one kubeconfig's current context (token auth, CA verified)."""

    def __init__(self, kubeconfig: str | Path, *, timeout: float = 30.0) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text(encoding="utf-8"))
        ctx_name = config["current-context"]
        ctx = next(c["context"] for c in config["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
        self.server = cluster["server"].rstrip("/")
        verify: ssl.SSLContext | bool = True
        if "certificate-authority-data" in cluster:
            verify = ssl.create_default_context(
                cadata=base64.b64decode(cluster["certificate-authority-data"]).decode("ascii"))
        elif "certificate-authority" in cluster:
            verify = ssl.create_default_context(cafile=cluster["certificate-authority"])
        headers = {"Accept": "application/json"}
        if user.get("token"):
            headers["Authorization"] = f"Bearer {user['token']}"
        self.http = httpx.Client(base_url=self.server, verify=verify, headers=headers,
                                 timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def request(self, method: str, path: str, *, body: Any = None, content_type: str | None = None,
                params: Mapping[str, Any] | None = None) -> httpx.Response:
        """One request; ``body`` is sent as JSON (YAML for apply patches)."""
        headers = {}
        content: bytes | None = None
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
            content = (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        return self.http.request(method, path, content=content, headers=headers,
                                 params=dict(params or {}))

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET ``path``."""
        return self.request("GET", path, params=params)

    def create(self, obj: Mapping[str, Any], **params: Any) -> httpx.Response:
        """POST ``obj`` to its collection."""
        return self.request("POST", object_path(obj, name=False), body=obj, params=params)

    def apply(self, obj: Mapping[str, Any], *, manager: str = "infstack-tests",
              force: bool = False, dry_run: bool = False,
              field_validation: str | None = "Strict", subresource: str = "") -> httpx.Response:
        """Server-side apply of ``obj``."""
        params: dict[str, Any] = {"fieldManager": manager}
        if force:
            params["force"] = "true"
        if dry_run:
            params["dryRun"] = "All"
        if field_validation:
            params["fieldValidation"] = field_validation
        path = object_path(obj) + (f"/{subresource}" if subresource else "")
        return self.request("PATCH", path, body=json.dumps(obj), content_type=APPLY,
                            params=params)

    def delete(self, obj: Mapping[str, Any], **params: Any) -> httpx.Response:
        """DELETE ``obj``."""
        return self.request("DELETE", object_path(obj), params=params)

    def watch(self, path: str, *, timeout: float = 30.0, **params: Any) -> Iterator[dict[str, Any]]:
        """Stream watch events of a collection (``watch=1`` added); stops when the server ends
        the stream or the read times out."""
        query = {"watch": "1", **params}
        with self.http.stream("GET", path, params=query, timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                yield {"type": "HTTP", "code": response.status_code, "body": response.json()}
                return
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)
