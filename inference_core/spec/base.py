"""Base model configuration shared by every spec model: camelCase YAML, strict fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

#: A DNS-1123 label (names of Kubernetes objects the spec refers to).
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class SpecModel(BaseModel):
    """Base of all spec models.

    Fields are snake_case in Python and camelCase in YAML/JSON (``gpuDevices``); both are
    accepted on input. Unknown fields are errors, so typos never pass silently.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        str_strip_whitespace=True,
    )
