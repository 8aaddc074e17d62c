"""Shared test helpers."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """The shared folder with the CRD schemas, or None when it is not there.

    Looked up in ``$INFSTACK_SHARED_DIR`` first, then beside the checkout (``<repo>/../shared``).
    """
    env = os.environ.get("INFSTACK_SHARED_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared")
    for candidate in candidates:
        if (candidate / "schemas").is_dir():
            return candidate.resolve()
    return None


def schemas_dir() -> Path | None:
    """``<shared>/schemas`` (real CRD schemas of Knative, LWS, KAI and Istio), or None."""
    shared = shared_dir()
    return shared / "schemas" if shared else None
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def require_shared() -> Path:
    """The shared folder; skip when absent locally, fail when CI demands it."""
    found = shared_dir()
    if found is None:
        if os.environ.get("INFSTACK_REQUIRE_SHARED") == "1":
            pytest.fail("../shared is required (INFSTACK_REQUIRE_SHARED=1) but was not found")
        pytest.skip("../shared (CRD schemas) is not beside the checkout")
    return found


def require_real(tool: str, found: object) -> None:
    """Skip when an optional real-engine tool is absent, unless ``INFSTACK_REQUIRE_REAL=1``
    (set by ``.ci/run``), in which case its absence fails the test."""
    if found:
        return
    if os.environ.get("INFSTACK_REQUIRE_REAL") == "1":
        pytest.fail(f"{tool} is required (INFSTACK_REQUIRE_REAL=1) but is not available")
    pytest.skip(f"{tool} is not available (scripts/setup.d builds or installs it)")


def example_profile(path: Path) -> str:
    """The profile an example names on its first line (``# profile: kai``)."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    return first.split(":", 1)[1].strip() if first.startswith("# profile:") else "default"


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in; a ``None`` value deletes the key."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
