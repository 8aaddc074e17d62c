"""The generation rule shared by every kind: judge only status the controller computed for
the spec we wrote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference_core.readiness.accessors import as_int, metadata, path

GENERATION_BEHIND = "ObservedGenerationBehind"


def generation_lag(obj: Mapping[str, Any], expected_generation: int | None) -> str | None:
    """Why the status cannot be trusted yet, or None when it describes the current spec.

    The status is current when ``status.observedGeneration == metadata.generation`` (and
    ``metadata.generation >= expected_generation``, the generation the caller's own write
    produced, so a stale read of an older object never passes).
    """
    gen = as_int(metadata(obj).get("generation"))
    observed = as_int(path(obj, "status", "observedGeneration"))
    if expected_generation is not None and (gen is None or gen < expected_generation):
        return (
            f"metadata.generation is {gen}, older than generation {expected_generation} "
            "written by this rollout (stale read)"
        )
    if gen is None:
        return "metadata.generation is missing (not an object read from the API server?)"
    if observed is None:
        return f"the controller has not reported status for generation {gen} yet"
    if observed != gen:
        return (
            f"status.observedGeneration {observed} does not match metadata.generation {gen}; "
            "the controller has not processed the latest change yet"
        )
    return None


def observed_generation(obj: Mapping[str, Any]) -> int | None:
    """``status.observedGeneration`` as an int, if present."""
    return as_int(path(obj, "status", "observedGeneration"))
