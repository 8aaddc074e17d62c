"""Write a kubeconfig that points the official clients at a sandbox."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def kubeconfig_dict(server: str, *, context: str = "sandbox", token: str = "sandbox-token",
                    namespace: str = "default", user: str = "sandbox-user",
                    ca_pem: bytes | None = None) -> dict[str, Any]:
    """A one-cluster, one-user, one-context kubeconfig (``ca_pem``: the CA for an https
    server, written as ``certificate-authority-data``)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context,
                      "context": {"cluster": context, "user": user, "namespace": namespace}}],
        "current-context": context,
    }


def write_kubeconfig(path: str | os.PathLike[str], server: str, **kwargs: Any) -> Path:
    """Write the kubeconfig (mode 0600, parents created) and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig_dict(server, **kwargs), sort_keys=False)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return target
