"""Where the Go-built real engines live: ``${INFSTACK_TOOLS_CACHE}/<tool>-<version>``, the version
read from ``tools/kube/go.mod`` (kube-apiserver, kube-controller-manager and kubectl:
``k8s.io/kubernetes``; etcd: ``go.etcd.io/etcd/server/v3``) — the same names
``scripts/setup.d/10-kube-tools.sh`` builds."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from tests.helpers import REPO

KUBE_MODULE = REPO / "tools" / "kube"
VALIDATE_MODULE = REPO / "tools" / "validate"
MODULE_OF = {"kube-apiserver": "k8s.io/kubernetes", "kubectl": "k8s.io/kubernetes",
             "kube-controller-manager": "k8s.io/kubernetes",
             "etcd": "go.etcd.io/etcd/server/v3"}


def cache_dir() -> Path:
    """The tools cache (``INFSTACK_TOOLS_CACHE`` or ``~/.cache/inference-stacks/tools``)."""
    env = os.environ.get("INFSTACK_TOOLS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "inference-stacks" / "tools"


def module_version(module: str, gomod: Path = KUBE_MODULE / "go.mod") -> str:
    """The version ``gomod`` requires of ``module``."""
    text = gomod.read_text(encoding="utf-8")
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.M)
    if not found:
        raise LookupError(f"{gomod} does not require {module}")
    return found.group(1)


def source_digest(module_dir: Path) -> str:
    """A short digest of a module's go.mod, go.sum and Go sources (the validator's cache key)."""
    digest = hashlib.sha256()
    files = [p for p in module_dir.rglob("*")
             if p.is_file() and (p.suffix == ".go" or p.name in ("go.mod", "go.sum"))]
    for path in sorted(files, key=lambda p: str(p.relative_to(module_dir))):
        digest.update(str(path.relative_to(module_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def tool_path(tool: str) -> Path:
    """The cached binary of ``tool`` (may not exist)."""
    if tool == "infstack-validate":
        return cache_dir() / f"{tool}-{source_digest(VALIDATE_MODULE)}"
    return cache_dir() / f"{tool}-{module_version(MODULE_OF[tool])}"


def find_tool(tool: str) -> Path | None:
    """The cached binary of ``tool`` when it has been built."""
    path = tool_path(tool)
    return path if path.is_file() and os.access(path, os.X_OK) else None
