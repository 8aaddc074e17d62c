"""Admission chain: strict decoding, CRD schema defaults and validation, webhooks.

Order follows the API server: unknown-field check (decode) → structural defaults → mutating
webhooks (Knative defaulting, built-in defaulting) → schema validation → validating webhooks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inference_sandbox.admission import knative, lws
from inference_sandbox.admission.core import default_core, validate_name
from inference_sandbox.admission.schema import SchemaRegistry, check_object, find_schemas_dir
from inference_sandbox.config import (
    DEFAULT_FEATURES,
    DEFAULT_KNATIVE_DEFAULTS,
    KNATIVE_NAMESPACE,
)
from inference_sandbox.resources import ResourceType
from inference_sandbox.store import Store

log = logging.getLogger(__name__)

KNATIVE_CONFIGMAPS = ("config-defaults", "config-autoscaler", "config-deployment")


class Admission:
    """What the sandbox checks and fills in before storing an object."""

    def __init__(self, store: Store, *, schema_admission: bool = True,
                 schemas_dir: Path | None = None, username: str = "sandbox-user") -> None:
        self.store = store
        self.username = username
        self.schemas: SchemaRegistry | None = None
        if schema_admission:
            directory = schemas_dir or find_schemas_dir()
            if directory is None:
                log.warning("CRD schemas not found (set INFSTACK_SHARED_DIR); schema admission "
                            "is off, Knative webhook rules still apply")
            else:
                self.schemas = SchemaRegistry.load(directory)

    # ------------------------------------------------------------ live config
    def features(self) -> dict[str, str]:
        """Knative feature flags from ``knative-serving/config-features``."""
        cm = self.store.get(("v1", "ConfigMap"), KNATIVE_NAMESPACE, "config-features",
                            copy=False)
        return {**DEFAULT_FEATURES, **((cm or {}).get("data") or {})}

    def knative_defaults(self) -> dict[str, str]:
        """Merged ``config-defaults``/``config-autoscaler``/``config-deployment`` data."""
        merged = dict(DEFAULT_KNATIVE_DEFAULTS)
        for name in KNATIVE_CONFIGMAPS:
            cm = self.store.get(("v1", "ConfigMap"), KNATIVE_NAMESPACE, name, copy=False)
            merged.update((cm or {}).get("data") or {})
        return merged

    # ------------------------------------------------------------ the chain
    def admit(self, rt: ResourceType, version: str, obj: dict[str, Any],
              old: Mapping[str, Any] | None, *, verb: str, strict: bool = True,
              subresource: str = "") -> tuple[dict[str, Any], list[str]]:
        """Return the object to store and any warnings, or raise the API error."""
        md = obj.setdefault("metadata", {})
        name = md.get("name", "")
        warnings: list[str] = []
        if old is None:
            validate_name(rt, name)
        schema = self.schemas.for_type(rt, version) if self.schemas and rt.crd else None
        if schema is not None and subresource != "status":
            unknown = check_unknown(schema, rt, obj, strict=strict, verb=verb)
            warnings = [f'unknown field "{u}"' for u in unknown]
            obj = schema.apply_defaults(prune(obj, unknown))
        if not rt.crd:
            obj = default_core(rt, obj, old)
        if rt.group == "serving.knative.dev" and rt.kind == "Service" and subresource != "status":
            obj = knative.default_service(obj, old, self.knative_defaults(), self.username)
        if rt.group == "leaderworkerset.x-k8s.io" and subresource != "status":
            obj = lws.default_lws(obj)
        if schema is not None:
            check_object(schema, rt, obj, strict=False, name=name,
                         namespace=md.get("namespace"), verb=verb)
        if subresource == "status":
            return obj, warnings
        if rt.group == "serving.knative.dev" and rt.kind == "Service":
            knative.validate_service(obj, old, self.features(), self.knative_defaults())
        elif rt.group == "serving.knative.dev" and rt.kind == "Revision" and old is not None:
            knative.check_immutable_revision(obj, old)
        elif rt.group == "leaderworkerset.x-k8s.io":
            lws.validate_lws(obj, old)
        return obj, warnings


def check_unknown(schema: Any, rt: ResourceType, obj: Mapping[str, Any], *, strict: bool,
                  verb: str) -> list[str]:
    """Strict decoding: unknown fields are a 400; otherwise their paths are returned (the
    caller warns and prunes them, like the API server)."""
    unknown: list[str] = schema.unknown_fields(obj)
    if not unknown:
        return []
    md = obj.get("metadata") or {}
    if strict:
        # Reuse the schema module's exact error wording.
        check_object(schema, rt, dict(obj), strict=True, name=md.get("name", ""),
                     namespace=md.get("namespace"), verb=verb)
    return unknown


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def prune(obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Drop the fields at ``paths`` (``spec.template.spec.containers[0].bogus``), as CRD
    structural pruning does for fields the schema does not declare."""
    for path in paths:
        tokens: list[str | int] = [int(i) if i else k for k, i in _PATH_TOKEN.findall(path)]
        parent: Any = obj
        for token in tokens[:-1]:
            try:
                parent = parent[token]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if isinstance(parent, dict):
            parent.pop(tokens[-1], None)
    return obj
