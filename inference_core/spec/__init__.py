"""The inference spec: one YAML document (or Python object) per workload.

>>> from inference_core.spec import load_specs, parse_spec
>>> specs = load_specs("examples/custom-http.yaml")
"""

from __future__ import annotations

from inference_core.spec.kinds import (
    API_VERSION,
    CustomInference,
    CustomSpec,
    DistributedInference,
    DistributedSpec,
    HuggingFaceInference,
    HuggingFaceSpec,
    InferenceSpec,
)
from inference_core.spec.loader import (
    AnySpec,
    load_specs,
    load_specs_text,
    parse_documents,
    parse_spec,
)
from inference_core.spec.schema import json_schema

__all__ = [
    "API_VERSION",
    "AnySpec",
    "CustomInference",
    "CustomSpec",
    "DistributedInference",
    "DistributedSpec",
    "HuggingFaceInference",
    "HuggingFaceSpec",
    "InferenceSpec",
    "json_schema",
    "load_specs",
    "load_specs_text",
    "parse_documents",
    "parse_spec",
]
