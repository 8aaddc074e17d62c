"""The API the simulated controllers are written against.

The sandbox's own :class:`~inference_sandbox.store.Store` implements it directly; a real
kube-apiserver is reached through :class:`~inference_sandbox.controllers.kubeapi.KubeObjectAPI`
(informer caches fed by watches, writes over HTTP). Each controller has one implementation and
runs unchanged against either server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

from inference_sandbox.resources import ResourceType
from inference_sandbox.selectors import Predicate
from inference_sandbox.watchcache import WatchEvent

Kind: TypeAlias = ResourceType | tuple[str, str]
"""A resource type, or ``(apiVersion, kind)``."""


class ObjectAPI(Protocol):
    """Reads (from a cache), writes and change notifications of Kubernetes objects."""

    def get(self, rt: Kind, namespace: str | None, name: str, *,
            copy: bool = True) -> dict[str, Any] | None:
        """One object, or None (``copy=False``: a shared snapshot, do not mutate)."""

    def list(self, rt: Kind, namespace: str | None = None, *, labels: Predicate | None = None,
             fields: Predicate | None = None, copy: bool = True) -> list[dict[str, Any]]:
        """Objects sorted by namespace/name, filtered by namespace and selectors."""

    def namespace_exists(self, namespace: str) -> bool:
        """Whether the Namespace exists."""

    def create(self, rt: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj``; returns the stored object."""

    def replace(self, rt: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        """Write a new version of an existing object (spec, metadata and status)."""

    def delete(self, rt: Kind, namespace: str | None, name: str, *,
               propagation: str = "Background") -> dict[str, Any]:
        """Delete an object."""

    def add_listener(self, callback: Callable[[WatchEvent], None]) -> None:
        """Call ``callback`` with every change (on the controllers' event loop)."""
