"""Opt-in preflight (``preflight=True``): the core's checks, and the spec they pin.

The checks run inside an ``apply`` (so a token given as a Pulumi secret, or a kubeconfig that
is another resource's output, can be used) and resolve to the *pinned* spec: the model
revision replaced by the commit sha the Hub resolved, the tensor/pipeline parallel sizes
filled in when the spec left them unset, and (with ``allow_capacity_dip``) the
LeaderWorkerSet rollout that fits the queue. The component renders every child from that spec,
so when preflight refuses, nothing at all is registered for the workload and ``pulumi
up``/``preview`` fails with the core's reason.

With ``kubeconfig`` the capacity preflight runs too (KAI queues, when the profile's scheduler
is ``kai``) and a ``tokenSecret`` is read from the cluster. A component given only a
``provider`` gets the model checks alone: a provider's credentials cannot be read back.
"""

from __future__ import annotations

from typing import Any

import pulumi
import yaml
from pydantic import SecretStr

from inference_core.profile import ClusterProfile
from inference_core.spec.loader import AnySpec
from pulumi_components.errors import InferenceComponentError, translated


def _with_token(spec: AnySpec, token: str) -> AnySpec:
    model = getattr(spec.spec, "model", None)
    if model is None:
        return spec
    model = model.model_copy(update={"token": SecretStr(token), "token_secret": None})
    return spec.model_copy(update={"spec": spec.spec.model_copy(update={"model": model})})


def _cluster_reader(kubeconfig: str, component: str) -> Any:
    from kubernetes import config

    from inference_core.preflight import KubeClusterReader

    try:
        document = yaml.safe_load(kubeconfig)
        client = config.new_client_from_config_dict(document)
    except Exception as e:  # any malformed kubeconfig gets one clear message
        raise InferenceComponentError(
            component, f"args.kubeconfig: cannot be used for preflight ({type(e).__name__}); "
            "expected kubeconfig YAML with a current context", ("args.kubeconfig",)) from None
    return KubeClusterReader(client)


def run_preflight(spec: AnySpec, profile: ClusterProfile, token: str | None,
                  kubeconfig: str | None, allow_capacity_dip: bool, component: str) -> AnySpec:
    """Run the core's preflight for ``spec`` (overrides already applied); return ``spec``
    pinned by what it resolved.

    The token only travels to the Hub: the returned spec is pinned from ``spec`` itself,
    never from the copy that carries the token. Call it inside an ``apply`` and mark the
    result not secret (``pulumi.Output.unsecret``): it is computed from the token and the
    kubeconfig but holds neither, and a secret spec would encrypt every manifest in the
    stack state.
    """
    from inference_core.preflight import preflight_spec

    checked = _with_token(spec, token) if token is not None else spec
    cluster = _cluster_reader(kubeconfig, component) if kubeconfig else None
    with translated(component):
        report = preflight_spec(checked, profile, cluster=cluster,
                                allow_capacity_dip=allow_capacity_dip)
    pulumi.log.info(f"{component}: preflight passed: {report.summary()}")
    pinned: AnySpec = report.pinned(spec)
    return pinned
