"""Run ``infstack-validate`` (Knative Serving's and LeaderWorkerSet's own admission code, built
from their Go modules) over rendered manifests, with the Knative configuration a cluster
profile describes."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inference_core.profile import KNATIVE_FEATURE_DEFAULTS, ClusterProfile

KNATIVE_REVISION_TIMEOUT_DEFAULT = 300
"""Knative's shipped ``revision-timeout-seconds``."""


def knative_config(profile: ClusterProfile) -> dict[str, dict[str, str]]:
    """The ``config-features`` and ``config-defaults`` data of the profile's cluster."""
    features = {**KNATIVE_FEATURE_DEFAULTS, **profile.knative.features}
    max_timeout = profile.knative.max_revision_timeout_seconds
    defaults = {"max-revision-timeout-seconds": str(max_timeout),
                "revision-timeout-seconds": str(min(KNATIVE_REVISION_TIMEOUT_DEFAULT,
                                                    max_timeout))}
    return {"features": features, "defaults": defaults}


def as_json_documents(manifests: Sequence[dict[str, Any]]) -> str:
    """A multi-document stream of JSON documents (JSON is YAML: no ``y``/``n``/``on``
    ambiguity between PyYAML's YAML 1.1 output and Go's parser)."""
    return "".join(f"---\n{json.dumps(m)}\n" for m in manifests)


def run_validator(binary: Path, manifests: Sequence[dict[str, Any]], profile: ClusterProfile,
                  *, defaulted: bool = False) -> dict[str, Any]:
    """The validator's JSON report on ``manifests`` (raises on bad input, exit status 2);
    ``defaulted``: each checked document carries the object as the webhooks default it."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as cfg:
        json.dump(knative_config(profile), cfg)
    try:
        flags = ["-defaulted"] if defaulted else []
        result = subprocess.run([str(binary), "-config", cfg.name, *flags, "-"],
                                input=as_json_documents(manifests),
                                text=True, capture_output=True, timeout=120, check=False)
    finally:
        Path(cfg.name).unlink(missing_ok=True)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"infstack-validate failed ({result.returncode}): {result.stderr}")
    report: dict[str, Any] = json.loads(result.stdout)
    report["exitCode"] = result.returncode
    return report


def findings(report: dict[str, Any]) -> list[str]:
    """Every error in a report as ``kind/name field: message`` lines."""
    return [f"{doc['kind']}/{doc['name']} {err['field']}: {err['message']} {err.get('details', '')}"
            for doc in report["documents"] for err in doc["errors"]]
