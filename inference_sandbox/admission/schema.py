"""CRD schema admission: defaults, strict unknown-field rejection and OpenAPI validation.

The CRDs are loaded at run time from the shared schemas folder (never copied into the
project). Each CRD's ``openAPIV3Schema`` is turned into a JSON-schema validator
(``x-kubernetes-int-or-string`` → integer-or-string, ``nullable`` → also null), unknown
fields are found by walking the structural schema (``x-kubernetes-preserve-unknown-fields``
honoured), and ``default`` values are applied like the API server does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from inference_sandbox.apierrors import ApiError, invalid
from inference_sandbox.objects import clone
from inference_sandbox.resources import ResourceType

log = logging.getLogger(__name__)

_CACHE: dict[Path, SchemaRegistry] = {}
_CACHE_LOCK = threading.Lock()


def find_schemas_dir() -> Path | None:
    """``<shared>/schemas``: ``$INFSTACK_SHARED_DIR/schemas``, else ``../shared/schemas``
    beside the checkout; None when neither exists."""
    import os

    env = os.environ.get("INFSTACK_SHARED_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / "shared")
    for candidate in candidates:
        if (candidate / "schemas").is_dir():
            return (candidate / "schemas").resolve()
    return None


def _convert(schema: Any) -> Any:
    """OpenAPI v3 (Kubernetes flavour) → JSON schema draft 4."""
    if isinstance(schema, list):
        return [_convert(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _convert(v) for k, v in schema.items()
           if k not in ("description", "x-kubernetes-validations", "format", "example")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("anyOf", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


class CrdSchema:
    """One served version of one CRD."""

    def __init__(self, kind: str, group: str, version: str, schema: dict[str, Any]) -> None:
        self.kind = kind
        self.group = group
        self.version = version
        self.raw = schema
        json_schema = _convert(schema)
        json_schema.get("properties", {}).pop("metadata", None)
        self.validator = jsonschema.Draft4Validator(json_schema)

    # -------------------------------------------------------------- defaults
    def apply_defaults(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Fill ``default`` values of absent fields (parents must exist)."""
        out = clone(obj)
        for key in ("spec", "status"):
            sub = self.raw.get("properties", {}).get(key)
            if sub is not None and isinstance(out.get(key), dict):
                _default(sub, out[key])
        return out

    # -------------------------------------------------------------- unknown fields
    def unknown_fields(self, obj: Mapping[str, Any]) -> list[str]:
        """Dotted paths of fields the schema does not declare."""
        found: list[str] = []
        props = self.raw.get("properties", {})
        for key, value in obj.items():
            if key in ("apiVersion", "kind", "metadata"):
                continue
            if key not in props:
                found.append(key)
            else:
                _unknown(props[key], value, key, found)
        return found

    # -------------------------------------------------------------- validation
    def errors(self, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(field, message)`` pairs in the API server's wording."""
        body = {k: v for k, v in obj.items() if k != "metadata"}
        out = []
        for error in sorted(self.validator.iter_errors(body), key=lambda e: list(e.path)):
            out.append(_describe(error))
        return out


def _default(schema: Mapping[str, Any], value: Any) -> None:
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = clone(sub["default"])
            if key in value:
                _default(sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _default(schema["items"], item)


def _unknown(schema: Mapping[str, Any], value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, dict):
        props = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or \
            schema.get("x-kubernetes-embedded-resource")
        for key, sub in value.items():
            child = f"{path}.{key}"
            if props is not None and key in props:
                _unknown(props[key], sub, child, found)
            elif isinstance(additional, dict):
                _unknown(additional, sub, child, found)
            elif additional is True or preserve:
                continue
            elif schema.get("x-kubernetes-embedded-resource") is None:
                found.append(child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _unknown(schema["items"], item, f"{path}[{index}]", found)


def _field(path: Iterator[Any] | Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "object" if isinstance(value, dict) else "array"
    return str(value)


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    field = _field(error.absolute_path)
    kind = error.validator
    value = error.instance
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
        return (f"{field}.{missing}" if field else missing), "Required value"
    if kind == "enum":
        allowed = ", ".join(_go_value(v) for v in error.validator_value)
        return field, f"Unsupported value: {_go_value(value)}: supported values: {allowed}"
    if kind == "type":
        wanted = error.validator_value
        wanted = wanted[0] if isinstance(wanted, list) else wanted
        return field, (f"Invalid value: {_go_value(value)}: {field} in body must be of type "
                       f"{wanted}: {_go_value(value)}")
    if kind == "anyOf":
        return field, (f"Invalid value: {_go_value(value)}: {field} in body must be of type "
                       f"integer-or-string: {_go_value(value)}")
    bounds = {
        "minimum": "should be greater than or equal to",
        "maximum": "should be less than or equal to",
        "minLength": "should be at least",
        "maxLength": "may not be longer than",
        "minItems": "should have at least",
        "maxItems": "must have at most",
    }
    if kind in bounds:
        suffix = {"minLength": " chars long", "maxLength": "", "minItems": " items",
                  "maxItems": " items"}.get(kind, "")
        return field, (f"Invalid value: {_go_value(value)}: {field} in body {bounds[kind]} "
                       f"{error.validator_value}{suffix}")
    if kind == "pattern":
        return field, (f"Invalid value: {_go_value(value)}: {field} in body should match "
                       f"'{error.validator_value}'")
    return field, f"Invalid value: {_go_value(value)}: {error.message}"


class SchemaRegistry:
    """All CRD schemas of the shared folder, by (group, version, kind)."""

    def __init__(self, schemas: dict[tuple[str, str, str], _LazySchema],
                 columns: dict[tuple[str, str, str], list[dict[str, Any]]] | None = None,
                 ) -> None:
        self.schemas = schemas
        #: ``additionalPrinterColumns`` by (group, version, kind), for server-side tables.
        self.columns = columns or {}

    @classmethod
    def load(cls, directory: Path) -> SchemaRegistry:
        """Parse every CRD YAML under ``directory`` (cached per folder for the process)."""
        directory = directory.resolve()
        with _CACHE_LOCK:
            cached = _CACHE.get(directory)
            if cached is not None:
                return cached
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            schemas: dict[tuple[str, str, str], _LazySchema] = {}
            columns: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
            for path in sorted(directory.rglob("*.yaml")):
                with path.open(encoding="utf-8") as handle:
                    for doc in yaml.load_all(handle, Loader=loader):
                        if not isinstance(doc, dict) or doc.get("kind") != \
                                "CustomResourceDefinition":
                            continue
                        spec = doc["spec"]
                        for version in spec.get("versions", []):
                            raw = (version.get("schema") or {}).get("openAPIV3Schema")
                            if raw is None:
                                continue
                            key = (spec["group"], version["name"], spec["names"]["kind"])
                            columns[key] = list(version.get("additionalPrinterColumns") or
                                                spec.get("additionalPrinterColumns") or [])
                            schemas[key] = _LazySchema(spec["names"]["kind"], spec["group"],
                                                       version["name"], raw)
            registry = cls(schemas, columns)
            _CACHE[directory] = registry
            log.debug("loaded %d CRD schema versions from %s", len(schemas), directory)
            return registry

    def raw_schema(self, rt: ResourceType, version: str) -> dict[str, Any] | None:
        """The ``openAPIV3Schema`` of ``rt`` at ``version`` as written in the CRD."""
        lazy = self.schemas.get((rt.group, version, rt.kind))
        return lazy.raw if lazy is not None else None

    def for_type(self, rt: ResourceType, version: str) -> CrdSchema | None:
        """The schema of ``rt`` at ``version``, or None when not in the folder."""
        lazy = self.schemas.get((rt.group, version, rt.kind))
        if lazy is None:
            return None
        return lazy.get()


class _LazySchema:
    """Compile a validator on first use (most tests touch few kinds)."""

    def __init__(self, kind: str, group: str, version: str, raw: dict[str, Any]) -> None:
        self._args = (kind, group, version, raw)
        self.raw = raw
        self._compiled: CrdSchema | None = None
        self._lock = threading.Lock()

    def get(self) -> CrdSchema:
        with self._lock:
            if self._compiled is None:
                self._compiled = CrdSchema(*self._args)
            return self._compiled


def check_object(schema: CrdSchema, rt: ResourceType, obj: dict[str, Any], *, strict: bool,
                 name: str, namespace: str | None, verb: str) -> list[str]:
    """Validate; returns warnings (for non-strict unknown fields) or raises the API error."""
    unknown = schema.unknown_fields(obj)
    warnings: list[str] = []
    if unknown:
        if strict:
            if verb == "apply":
                where = f"{namespace}/{name}" if namespace else name
                raise ApiError(
                    400, "BadRequest",
                    f"failed to create typed patch object ({where}; {rt.group}/{schema.version}, "
                    f"Kind={rt.kind}): .{unknown[0]}: field not declared in schema")
            listed = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise ApiError(
                400, "BadRequest",
                f'{rt.kind} in version "{schema.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {listed}")
        warnings = [f'unknown field "{u}"' for u in unknown]
    errors = schema.errors(obj)
    if errors:
        raise invalid(rt, name, errors)
    return warnings
