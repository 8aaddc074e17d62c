"""``DistributedInference``: a LeaderWorkerSet (leader + workers per replica)."""

from __future__ import annotations

from typing import ClassVar

from pulumi_components.base import InferenceComponent


class DistributedInference(InferenceComponent):
    """Multi-node serving (type token ``inference-stacks:index:DistributedInference``).

    Children: ``<name>-hf-token`` (when a token is given), ``<name>-lws`` (LeaderWorkerSet,
    awaited with ``condition=Available``), ``<name>-leader`` (the client-facing Service) and
    ``<name>-jwt``/``<name>-access`` for restricted access. With ``exposure: external`` the
    ``url`` output is the leader Service's load-balancer address once the cluster assigns it.
    """

    TYPE_TOKEN: ClassVar[str] = "inference-stacks:index:DistributedInference"
    KIND: ClassVar[str] = "DistributedInference"
