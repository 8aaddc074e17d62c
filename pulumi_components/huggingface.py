"""``HuggingFaceInference``: a Hugging Face Hub model served by vLLM on Knative Serving."""

from __future__ import annotations

from typing import ClassVar

from pulumi_components.base import InferenceComponent


class HuggingFaceInference(InferenceComponent):
    """vLLM on Knative (type token ``inference-stacks:index:HuggingFaceInference``).

    Children: ``<name>-hf-token`` (Secret, when a token is given as ``hf_token`` or in the
    spec; its value is a Pulumi secret), ``<name>-service`` (Knative Service, awaited with
    ``condition=Ready``), and ``<name>-jwt``/``<name>-access`` for restricted access.
    """

    TYPE_TOKEN: ClassVar[str] = "inference-stacks:index:HuggingFaceInference"
    KIND: ClassVar[str] = "HuggingFaceInference"
