"""JSON Schema export of the spec, for editor completion (``infstack schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from inference_core.spec.kinds import InferenceSpec


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one inference document, camelCase field names."""
    schema = TypeAdapter(InferenceSpec).json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "inference-stacks workload (inference-stacks/v1alpha1)"
    return schema
