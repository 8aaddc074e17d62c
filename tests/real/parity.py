"""The two API servers the parity suite runs against, behind one small interface."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.kubehttp import KubeHttp


@dataclass
class ApiServerUnderTest:
    """A running server: its admin kubeconfig and the two operations the tests need beyond
    the API (a fresh namespace; a storage compaction that expires old resourceVersions)."""

    name: str
    kubeconfig: Path
    compact: Callable[[], object]

    def client(self) -> KubeHttp:
        """An admin HTTP client (close it)."""
        return KubeHttp(self.kubeconfig)

    def namespace(self, http: KubeHttp, prefix: str = "parity") -> str:
        """Create and return a new namespace, with the ``default`` ServiceAccount a cluster's
        controller manager adds (the real server's admission needs it for pods)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        response = http.create({"apiVersion": "v1", "kind": "Namespace",
                                 "metadata": {"name": name}})
        assert response.status_code == 201, response.text
        account = http.apply({"apiVersion": "v1", "kind": "ServiceAccount",
                              "metadata": {"name": "default", "namespace": name}})
        assert account.status_code in (200, 201), account.text
        return name
