"""``CustomInference``: any container image served by Knative Serving."""

from __future__ import annotations

from typing import ClassVar

from pulumi_components.base import InferenceComponent


class CustomInference(InferenceComponent):
    """A custom container on Knative (type token ``inference-stacks:index:CustomInference``).

    Children: ``<name>-service`` (Knative Service, awaited with ``condition=Ready``), plus
    ``<name>-pvc-<volume>``, ``<name>-tool-<tool>``, ``<name>-jwt`` and ``<name>-access`` when
    the spec asks for them. ``args``: :class:`pulumi_components.InferenceArgs` (or a spec).
    """

    TYPE_TOKEN: ClassVar[str] = "inference-stacks:index:CustomInference"
    KIND: ClassVar[str] = "CustomInference"
