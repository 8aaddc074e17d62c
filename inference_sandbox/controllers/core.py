"""Small built-in controllers: PVC binding and each namespace's ``default`` ServiceAccount."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, cast

from inference_sandbox.controllers.api import ObjectAPI
from inference_sandbox.objects import dig, meta
from inference_sandbox.watchcache import WatchEvent

PVC = ("v1", "PersistentVolumeClaim")
SA = ("v1", "ServiceAccount")


class CoreController:
    """Binds PVCs at once and creates ``default`` ServiceAccounts."""

    name = "core"

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api

    def keys_for(self, event: WatchEvent) -> Iterable[Hashable]:
        """New namespaces and pending claims."""
        if event.rt.group or event.type == "DELETED":
            return ()
        md = event.obj["metadata"]
        if event.rt.kind == "Namespace":
            return (("ns", md["name"]),)
        if event.rt.kind == "PersistentVolumeClaim":
            return (("pvc", md["namespace"], md["name"]),)
        return ()

    def resync_keys(self) -> Iterable[Hashable]:
        """Nothing time-based."""
        return ()

    def reconcile(self, key: Hashable) -> float | None:
        """Create the SA or bind the claim."""
        kind, *rest = cast("tuple[str, ...]", key)
        if kind == "ns":
            name = rest[0]
            if self.api.namespace_exists(name) and \
                    self.api.get(SA, name, "default", copy=False) is None:
                self.api.create(SA, {"metadata": {"name": "default", "namespace": name}})
            return None
        pvc = self.api.get(PVC, rest[0], rest[1])
        if pvc is None or dig(pvc, "status", "phase") == "Bound":
            return None
        storage = dig(pvc, "spec", "resources", "requests", "storage", default="1Gi")
        pvc["spec"]["volumeName"] = f"pvc-{meta(pvc)['uid']}"
        status: dict[str, Any] = {"phase": "Bound",
                                  "accessModes": dig(pvc, "spec", "accessModes",
                                                     default=["ReadWriteOnce"]),
                                  "capacity": {"storage": storage}}
        pvc["status"] = status
        self.api.replace(PVC, pvc)
        return None
