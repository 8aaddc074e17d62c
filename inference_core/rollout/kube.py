"""The small Kubernetes client protocol the rollout engine talks through.

Objects are plain camelCase dicts as the API returns them. Implementations: the sync
:class:`~inference_core.rollout.client.KubernetesClient` (official ``kubernetes``
library; the CLI, preflight and Airflow workers), the Airflow hooks (sync and async), and
test doubles. Every implementation must:

- give every call a client-side timeout and retry only transient failures (429 honouring
  ``Retry-After``, 5xx, no answer) within a bounded budget, with the HTTP library's own
  retries off;
- raise only :mod:`inference_core.errors` types (``KubeApiError`` with ``status``;
  :class:`~inference_core.rollout.retry.FieldConflict` for an apply 409);
- write with server-side apply under ``field_manager``, never forcing unless asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from inference_core.errors import ObjectRef

JsonObj = dict[str, Any]


@dataclass(frozen=True)
class ObjectKey:
    """apiVersion, kind, namespace and name of one object."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @classmethod
    def of(cls, manifest: Mapping[str, Any]) -> ObjectKey:
        """The key of a manifest dict."""
        meta = manifest.get("metadata") or {}
        ns = meta.get("namespace")
        return cls(str(manifest.get("apiVersion")), str(manifest.get("kind")),
                   str(ns) if ns else None, str(meta.get("name")))

    @property
    def ref(self) -> ObjectRef:
        """For error messages."""
        return ObjectRef(kind=self.kind, namespace=self.namespace, name=self.name)

    def __str__(self) -> str:
        return str(self.ref)


@dataclass(frozen=True)
class WatchEvent:
    """One watch event: ``type`` ADDED/MODIFIED/DELETED/BOOKMARK/ERROR and the object."""

    type: str
    object: JsonObj


class KubeClient(Protocol):
    """Synchronous client (see module doc for the contract)."""

    def get(self, api_version: str, kind: str, name: str,
            namespace: str | None) -> JsonObj | None:
        """One object; ``None`` when it does not exist."""
        ...

    def list(self, api_version: str, kind: str, namespace: str | None, *,
             label_selector: str | None = None,
             field_selector: str | None = None) -> list[JsonObj]:
        """Objects of one kind in a namespace (``apiVersion``/``kind`` set on each)."""
        ...

    def apply(self, manifest: Mapping[str, Any], *, field_manager: str = ...,
              force: bool = False, dry_run: bool = False) -> JsonObj:
        """Server-side apply; returns what the server stored (or would, with ``dry_run``).
        A conflict raises ``FieldConflict`` naming managers and fields."""
        ...

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None, *,
               propagation: str = "Background", uid: str | None = None,
               resource_version: str | None = None) -> bool:
        """Delete one object (preconditions ``uid``/``resource_version``); ``False`` when
        it was already gone."""
        ...

    def watch(self, api_version: str, kind: str, namespace: str | None, *,
              label_selector: str | None = None, field_selector: str | None = None,
              resource_version: str | None = None,
              timeout_s: float = 30.0) -> Iterator[WatchEvent]:
        """Watch events until the server ends the stream (at most ``timeout_s``)."""
        ...


class AsyncKubeClient(Protocol):
    """Asynchronous twin of :class:`KubeClient` (same semantics)."""

    async def get(self, api_version: str, kind: str, name: str,
                  namespace: str | None) -> JsonObj | None:
        """One object; ``None`` when it does not exist."""
        ...

    async def list(self, api_version: str, kind: str, namespace: str | None, *,
                   label_selector: str | None = None,
                   field_selector: str | None = None) -> list[JsonObj]:
        """Objects of one kind in a namespace."""
        ...

    async def apply(self, manifest: Mapping[str, Any], *, field_manager: str = ...,
                    force: bool = False, dry_run: bool = False) -> JsonObj:
        """Server-side apply (see :meth:`KubeClient.apply`)."""
        ...

    async def delete(self, api_version: str, kind: str, name: str, namespace: str | None, *,
                     propagation: str = "Background", uid: str | None = None,
                     resource_version: str | None = None) -> bool:
        """Delete one object (see :meth:`KubeClient.delete`)."""
        ...

    def watch(self, api_version: str, kind: str, namespace: str | None, *,
              label_selector: str | None = None, field_selector: str | None = None,
              resource_version: str | None = None,
              timeout_s: float = 30.0) -> AsyncIterator[WatchEvent]:
        """Watch events (see :meth:`KubeClient.watch`)."""
        ...
