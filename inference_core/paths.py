"""Where the project finds things that live outside the package (the shared design folder)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """The shared folder with the CRD schemas, or None when it is not there.

    Looked up in ``$INFSTACK_SHARED_DIR`` first, then beside the checkout (``<repo>/../shared``).
    """
    env = os.environ.get("INFSTACK_SHARED_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared")
    for candidate in candidates:
        if (candidate / "schemas").is_dir():
            return candidate.resolve()
    return None


def schemas_dir() -> Path | None:
    """``<shared>/schemas`` (real CRD schemas of Knative, LWS, KAI and Istio), or None."""
    shared = shared_dir()
    return shared / "schemas" if shared else None
