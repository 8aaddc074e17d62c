"""Opt-in preflight (``preflight=True``): the core's checks before the serving object is created.

Runs inside an ``apply`` so a token given as a Pulumi secret can be used, and gates the
serving object's body on it: if preflight fails, nothing is applied for the workload's
serving object and ``pulumi up``/``preview`` fails with the core's reason.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pydantic import SecretStr

from inference_core.profile import ClusterProfile
from inference_core.spec.loader import AnySpec
from pulumi_components.errors import translated


def run_preflight(spec: AnySpec, profile: ClusterProfile, token: str | None,
                  component: str) -> bool:
    """Call the core's spec-level preflight; True when it ran and passed."""
    from inference_core.preflight import preflight_spec

    model = getattr(spec.spec, "model", None)
    if token is not None and model is not None:
        model = model.model_copy(update={"token": SecretStr(token), "token_secret": None})
        spec = spec.model_copy(update={"spec": spec.spec.model_copy(update={"model": model})})
    with translated(component):
        preflight_spec(spec, profile)
    return True


def gate(spec: AnySpec, profile: ClusterProfile, token: pulumi.Input[str] | None,
         component: str) -> pulumi.Output[Any]:
    """An output that resolves once preflight passed (raises through Pulumi otherwise)."""
    return pulumi.Output.from_input(token).apply(
        lambda value: run_preflight(spec, profile, value, component))
