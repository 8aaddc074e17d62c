"""OpenAPI documents: ``/openapi/v2`` and ``/openapi/v3`` (index + one document per group).

Built from the same sources the sandbox validates with: the CRD ``openAPIV3Schema``s of the
shared schemas folder, and the core/v1, apps/v1, rbac and scheduling types as the official
``kubernetes`` Python client models describe them (field names, types, descriptions and
required fields). Every served resource gets its paths with the
``x-kubernetes-group-version-kind``/``x-kubernetes-action`` extensions and the query
parameters the server honours (``dryRun``, ``fieldManager``, ``fieldValidation``, ``force``),
which is what kubectl's ``apply``/``explain``/``diff`` and its field-validation probe read.
Documents are JSON only; a client that accepts nothing but protobuf gets 406.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from collections.abc import Iterable
from typing import Any

from inference_sandbox.resources import ResourceTable, ResourceType

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_MODEL_PREFIX = re.compile(r"^(?:Core)?(V\d+(?:alpha\d+|beta\d+)?)")
#: Python client model names that do not follow ``<Version><Kind>``.
_MODEL_NAMES = {("", "Event"): "CoreV1Event"}
_META_TYPES = {"ObjectMeta", "ListMeta", "OwnerReference", "ManagedFieldsEntry",
               "LabelSelector", "LabelSelectorRequirement", "Status", "StatusDetails",
               "StatusCause", "DeleteOptions", "Preconditions", "Condition"}
#: Built-in kinds whose schema comes from the Python client's models, by group.
_PACKAGES = {"": "io.k8s.api.core", "apps": "io.k8s.api.apps",
             "rbac.authorization.k8s.io": "io.k8s.api.rbac",
             "scheduling.k8s.io": "io.k8s.api.scheduling",
             "authorization.k8s.io": "io.k8s.api.authorization",
             "authentication.k8s.io": "io.k8s.api.authentication"}
#: Strategic-merge keys kubectl's client-side apply reads from the schema.
_MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
               "env": "name", "volumes": "name", "volumeMounts": "mountPath",
               "ports": "containerPort", "imagePullSecrets": "name",
               "tolerations": "key", "ownerReferences": "uid", "finalizers": "",
               "conditions": "type"}
_QUERY = {
    "dryRun": "When present, indicates that modifications should not be persisted. "
              "Valid value: All.",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is "
                    "making these changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the "
                       "request containing unknown or duplicate fields. Valid values: Ignore, "
                       "Warn (default), Strict.",
    "force": "Force is going to \"force\" Apply requests (re-acquire conflicting fields).",
    "pretty": "If 'true', then the output is pretty printed.",
}
_WRITE_PARAMS = {"post": ("dryRun", "fieldManager", "fieldValidation", "pretty"),
                 "put": ("dryRun", "fieldManager", "fieldValidation", "pretty"),
                 "patch": ("dryRun", "fieldManager", "fieldValidation", "force", "pretty"),
                 "delete": ("dryRun", "pretty"), "get": ("pretty",)}


def _definition_name(group: str, version: str, kind: str) -> str:
    if group in _PACKAGES or kind in _META_TYPES:
        base = META if kind in _META_TYPES else f"{_PACKAGES[group]}.{version}"
        return f"{base}.{kind}"
    reversed_group = ".".join(reversed(group.split(".")))
    return f"{reversed_group}.{version}.{kind}"


def _gvk(rt: ResourceType, version: str, kind: str | None = None) -> dict[str, str]:
    return {"group": rt.group, "version": version, "kind": kind or rt.kind}


# ---------------------------------------------------------------------------- models
class _ModelSchemas:
    """Schemas of the official Python client's model classes (``V1Pod`` ...)."""

    def __init__(self) -> None:
        from kubernetes.client import models

        self.models = models
        self.schemas: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}

    def name_of(self, model: str, group: str) -> str:
        """Definition name of a model class, assigned on first sight."""
        if model not in self.names:
            match = _MODEL_PREFIX.match(model)
            kind = model[match.end():] if match else model
            version = match[1].lower() if match else "v1"
            self.names[model] = _definition_name(group, version, kind)
        return self.names[model]

    def add(self, model: str, group: str) -> str:
        """Add ``model`` and everything it references; returns its definition name."""
        name = self.name_of(model, group)
        if name in self.schemas:
            return name
        cls = getattr(self.models, model)
        props: dict[str, Any] = {}
        required: list[str] = []
        self.schemas[name] = {"type": "object", "properties": props}
        for attr, type_text in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            prop = self._type(type_text, group)
            accessor = getattr(cls, attr, None)
            description = _doc(accessor)
            if description:
                prop["description"] = description
            strategy = _MERGE_KEYS.get(json_name)
            if strategy is not None and prop.get("type") == "array":
                prop["x-kubernetes-patch-strategy"] = "merge"
                if strategy:
                    prop["x-kubernetes-patch-merge-key"] = strategy
            props[json_name] = prop
            setter = getattr(accessor, "fset", None)
            consts = setter.__code__.co_consts if setter is not None else ()
            if any(isinstance(c, str) and c.endswith("must not be `None`") for c in consts):
                required.append(json_name)
        if required:
            self.schemas[name]["required"] = required
        return name

    def _type(self, text: str, group: str) -> dict[str, Any]:
        if text.startswith("list["):
            return {"type": "array", "items": self._type(text[5:-1], group)}
        if text.startswith(("dict(", "dict[")):
            value = text[5:-1].split(",", 1)[1].strip()
            return {"type": "object", "additionalProperties": self._type(value, group)}
        simple: dict[str, dict[str, Any]] = {
            "str": {"type": "string"}, "int": {"type": "integer", "format": "int64"},
            "float": {"type": "number", "format": "double"}, "bool": {"type": "boolean"},
            "datetime": {"type": "string", "format": "date-time"},
            "date": {"type": "string", "format": "date"},
            "object": {"x-kubernetes-int-or-string": True}}
        if text in simple:
            return {**simple[text]}
        return {"$ref": f"#/definitions/{self.add(text, group)}"}


def _doc(accessor: Any) -> str:
    text = getattr(accessor, "__doc__", None) or ""
    lines = [line.strip().replace("  # noqa: E501", "") for line in text.splitlines()]
    body = []
    for line in lines[1:]:
        if line.startswith(":"):
            break
        body.append(line)
    return " ".join(b for b in body if b).strip()


# ---------------------------------------------------------------------------- CRDs
def _crd_v3(schema: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    out.setdefault("properties", {})["metadata"] = {
        "$ref": f"#/definitions/{META}.ObjectMeta",
        "description": "Standard object's metadata."}
    return out


def _to_v2(schema: Any) -> Any:
    """OpenAPI v3 schema → what v2 can say (no nullable/anyOf/oneOf/allOf/not)."""
    if isinstance(schema, list):
        return [_to_v2(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _to_v2(v) for k, v in schema.items()
           if k not in ("nullable", "anyOf", "oneOf", "allOf", "not",
                        "x-kubernetes-validations")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


# ---------------------------------------------------------------------------- paths
def _param(name: str, v3: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "in": "query", "description": _QUERY[name],
                             "uniqueItems": True}
    kind = "boolean" if name == "force" else "string"
    if v3:
        entry["schema"] = {"type": kind}
    else:
        entry["type"] = kind
    return entry


def _operation(rt: ResourceType, version: str, method: str, action: str, ref: str,
               v3: bool, op_id: str) -> dict[str, Any]:
    params = [_param(p, v3) for p in _WRITE_PARAMS.get(method, ("pretty",))]
    if v3:
        body_types = ["application/json", "application/yaml"]
        if method == "patch":
            body_types = ["application/apply-patch+yaml", "application/json-patch+json",
                          "application/merge-patch+json"]
            if not rt.crd:
                body_types.append("application/strategic-merge-patch+json")
        response = {"description": "OK", "content": {
            t: {"schema": {"$ref": ref}} for t in ("application/json", "application/yaml")}}
    else:
        response = {"description": "OK", "schema": {"$ref": ref}}
    op: dict[str, Any] = {
        "description": f"{action} {rt.kind}", "operationId": op_id,
        "tags": [rt.group or "core_v1"], "parameters": params,
        "responses": {"200": response, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt, version),
    }
    if method in ("post", "put", "patch"):
        if v3:
            op["requestBody"] = {"required": True, "content": {
                t: {"schema": {"$ref": ref} if method != "patch" else {"type": "object"}}
                for t in body_types}}
        else:
            op["parameters"].insert(0, {"name": "body", "in": "body", "required": True,
                                        "schema": {"$ref": ref} if method != "patch"
                                        else {"type": "object"}})
    return op


def _paths(rt: ResourceType, version: str, ref: str, v3: bool) -> dict[str, Any]:
    prefix = f"/apis/{rt.group}/{version}" if rt.group else f"/api/{version}"
    scope = f"{prefix}/namespaces/{{namespace}}" if rt.namespaced else prefix
    name_param = {"name": "name", "in": "path", "required": True, "uniqueItems": True,
                  "description": f"name of the {rt.kind}"}
    ns_param = {"name": "namespace", "in": "path", "required": True, "uniqueItems": True,
                "description": "object name and auth scope, such as for teams and projects"}
    for p in (name_param, ns_param):
        if v3:
            p["schema"] = {"type": "string"}
        else:
            p["type"] = "string"
    title = f"{rt.kind}{version.capitalize()}"
    collection: dict[str, Any] = {}
    verbs = set(rt.verbs)
    if "list" in verbs:
        collection["get"] = _operation(rt, version, "get", "list", ref, v3, f"list{title}")
    if "create" in verbs:
        collection["post"] = _operation(rt, version, "post", "post", ref, v3,
                                        f"create{title}")
    if "deletecollection" in verbs:
        collection["delete"] = _operation(rt, version, "delete", "deletecollection", ref, v3,
                                          f"deleteCollection{title}")
    scoped = [ns_param] if rt.namespaced else []
    paths = {}
    if collection:
        paths[f"{scope}/{rt.plural}"] = {**collection, "parameters": scoped}
    if not rt.stored:
        return paths
    item: dict[str, Any] = {"parameters": [name_param, *scoped]}
    for method, verb, action in (("get", "get", "get"), ("put", "update", "put"),
                                 ("patch", "patch", "patch"), ("delete", "delete", "delete")):
        if verb in verbs:
            item[method] = _operation(rt, version, method, action, ref, v3,
                                      f"{method}{title}")
    paths[f"{scope}/{rt.plural}/{{name}}"] = item
    if rt.status:
        paths[f"{scope}/{rt.plural}/{{name}}/status"] = {
            "parameters": [name_param, *scoped],
            **{m: _operation(rt, version, m, a, ref, v3, f"{m}{title}Status")
               for m, a in (("get", "get"), ("put", "put"), ("patch", "patch"))}}
    return paths


# ---------------------------------------------------------------------------- documents
class OpenApi:
    """Builds (once, lazily) and serves the v2 document and the v3 group documents."""

    def __init__(self, table: ResourceTable, schemas: Any = None) -> None:
        self.table = table
        self.schemas = schemas
        self._lock = threading.Lock()
        self._v2: bytes | None = None
        self._v3: dict[str, bytes] | None = None

    def _kind_schema(self, models: _ModelSchemas, rt: ResourceType, version: str
                     ) -> tuple[str, dict[str, Any]] | None:
        """(definition name, schema) of a served kind at a version."""
        if rt.crd:
            raw = self.schemas.raw_schema(rt, version) if self.schemas is not None else None
            schema = _crd_v3(raw) if raw is not None else {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}
            return _definition_name(rt.group, version, rt.kind), schema
        model = _MODEL_NAMES.get((rt.group, rt.kind), f"{version.capitalize()}{rt.kind}")
        if not hasattr(models.models, model):
            return None
        name = models.add(model, rt.group)
        return name, models.schemas[name]

    def _build(self) -> None:
        models = _ModelSchemas()
        for meta_type in ("V1Status", "V1DeleteOptions", "V1ObjectMeta", "V1ListMeta"):
            models.add(meta_type, "")
        groups: dict[str, dict[str, Any]] = {}
        all_definitions: dict[str, Any] = {}
        v2_paths: dict[str, Any] = {}
        ordered = sorted(self.table.resources, key=lambda r: (r.group != "", r.group))
        for rt in ordered:
            for version in rt.versions:
                found = self._kind_schema(models, rt, version)
                if found is None:
                    continue
                name, schema = found
                schema = {**schema, "x-kubernetes-group-version-kind": [_gvk(rt, version)]}
                all_definitions[name] = schema
                key = f"apis/{rt.group}/{version}" if rt.group else f"api/{version}"
                doc = groups.setdefault(key, {"paths": {}, "kinds": {}})
                doc["kinds"][name] = schema
                doc["paths"].update(_paths(rt, version, f"#/components/schemas/{name}", True))
                v2_paths.update(_paths(rt, version, f"#/definitions/{name}", False))
        for name, schema in models.schemas.items():
            all_definitions.setdefault(name, schema)
        v2 = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.33.0-sandbox"},
              "paths": v2_paths,
              "definitions": {n: _to_v2(s) for n, s in sorted(all_definitions.items())},
              "securityDefinitions": {"BearerToken": {
                  "type": "apiKey", "name": "authorization", "in": "header"}},
              "security": [{"BearerToken": []}]}
        self._v2 = json.dumps(v2, separators=(",", ":")).encode()
        v3: dict[str, bytes] = {}
        for key, doc in groups.items():
            components = _closure(doc["kinds"], all_definitions)
            body = {"openapi": "3.0.0",
                    "info": {"title": "Kubernetes", "version": "v1.33.0-sandbox"},
                    "paths": doc["paths"],
                    "components": {"schemas": components, "securitySchemes": {
                        "BearerToken": {"type": "apiKey", "name": "authorization",
                                        "in": "header"}}}}
            text = json.dumps(body, separators=(",", ":"))
            v3[key] = text.replace('"#/definitions/', '"#/components/schemas/').encode()
        self._v3 = v3

    def _ensure(self) -> None:
        with self._lock:
            if self._v2 is None:
                self._build()

    def v2(self) -> bytes:
        """The whole ``/openapi/v2`` document (JSON)."""
        self._ensure()
        assert self._v2 is not None
        return self._v2

    def v3_index(self) -> dict[str, Any]:
        """``/openapi/v3``: group paths with hashed URLs (clients cache by hash)."""
        self._ensure()
        assert self._v3 is not None
        return {"paths": {
            key: {"serverRelativeURL": f"/openapi/v3/{key}?hash="
                                       f"{hashlib.sha512(body).hexdigest().upper()}"}
            for key, body in sorted(self._v3.items())}}

    def v3(self, key: str) -> bytes | None:
        """The document of one group version (``api/v1``, ``apis/<group>/<version>``)."""
        self._ensure()
        assert self._v3 is not None
        return self._v3.get(key)


_SHARED: dict[tuple[int, int], OpenApi] = {}
_SHARED_LOCK = threading.Lock()


def shared(table: ResourceTable, schemas: Any = None) -> OpenApi:
    """One :class:`OpenApi` per (resource table, schema registry) in the process: the
    documents depend on nothing else, so sandboxes started one after another build them once."""
    key = (id(table), id(schemas))
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None or found.table is not table or found.schemas is not schemas:
            found = _SHARED[key] = OpenApi(table, schemas)
        return found


def _refs(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _closure(roots: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    out = dict(roots)
    pending = list(roots.values())
    while pending:
        for name in _refs(pending.pop()):
            if name not in out and name in definitions:
                out[name] = definitions[name]
                pending.append(definitions[name])
    return dict(sorted(out.items()))
