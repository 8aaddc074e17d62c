"""Policies and assets: platform-team defaults and limits, and reusable spec fragments.

A platform team writes ``InferencePolicy`` documents (defaults and rules per field, scoped to
clusters, departments, projects and kinds) and assets (``Environment``, ``ComputeResource``,
``DataSource``, ``Credential``) once; every front door applies them the same way through
``effective_spec`` (one document) or ``load_effective_specs`` (files):

>>> from inference_core.policy import load_effective_specs
>>> specs = load_effective_specs("examples/policies/chat.yaml", "kai",
...                              policy_paths=["examples/policies/policies"],
...                              asset_paths=["examples/policies/assets"])
"""

from __future__ import annotations

from inference_core.policy.documents import (
    ComputeResource,
    Credential,
    DataSourceAsset,
    Environment,
    FieldRule,
    InferencePolicy,
    Scope,
)
from inference_core.policy.effective import (
    Effective,
    effective_spec,
    effective_specs,
    library_for,
    load_effective_located,
    load_effective_specs,
    resolve,
    resolve_files,
)
from inference_core.policy.library import Library, load_library

__all__ = [
    "ComputeResource",
    "Credential",
    "DataSourceAsset",
    "Effective",
    "Environment",
    "FieldRule",
    "InferencePolicy",
    "Library",
    "Scope",
    "effective_spec",
    "effective_specs",
    "library_for",
    "load_effective_located",
    "load_effective_specs",
    "load_library",
    "resolve",
    "resolve_files",
]
