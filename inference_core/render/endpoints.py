"""Where a workload will answer, derived from the spec and profile (no cluster needed)."""

from __future__ import annotations

from dataclasses import dataclass

from inference_core.profile import ClusterProfile
from inference_core.render.lws import leader_service_name
from inference_core.spec.common import Exposure
from inference_core.spec.kinds import DistributedInference
from inference_core.spec.loader import AnySpec


@dataclass(frozen=True)
class Endpoints:
    """``url``: the external URL (None when cluster-local or assigned later by a load
    balancer); ``internal_url``: the in-cluster URL; ``service_name``: the Service clients use."""

    url: str | None
    internal_url: str
    service_name: str


def endpoints(spec: AnySpec, profile: ClusterProfile | None = None) -> Endpoints:
    """The URLs Knative (``<name>.<ns>.<domain>``) or the leader Service will answer on."""
    profile = profile or ClusterProfile()
    name = spec.metadata.name
    ns = profile.namespace_for(spec.metadata.project)
    local = profile.knative.cluster_domain
    if isinstance(spec, DistributedInference):
        svc = leader_service_name(name)
        return Endpoints(url=None, internal_url=f"http://{svc}.{ns}.{local}:{spec.spec.endpoint.port}",
                         service_name=svc)
    external = spec.spec.endpoint.exposure is Exposure.EXTERNAL
    return Endpoints(url=f"http://{name}.{ns}.{profile.knative.domain}" if external else None,
                     internal_url=f"http://{name}.{ns}.{local}", service_name=name)
