"""Decode the Kubernetes protobuf request bodies kubectl sends for built-in kinds.

kubectl (client-go) encodes the *typed* requests it makes — ``create namespace/secret/
configmap/serviceaccount``, ``auth can-i`` and ``auth whoami`` — as
``application/vnd.kubernetes.protobuf`` and, unlike CBOR, never retries them as JSON after a
``415``. So the sandbox reads that envelope (``k8s\\0`` + ``runtime.Unknown``) for the few
kinds such commands send, turning them into the JSON-shaped dicts the rest of the server
handles. Field numbers are those of the published ``generated.proto`` files of
``k8s.io/api`` and ``k8s.io/apimachinery``. Any other protobuf body gets a clear 415.
"""

from __future__ import annotations

import base64
from typing import Any

from inference_sandbox.apierrors import ApiError

MAGIC = b"k8s\x00"

# A message schema maps field number → (JSON name, type). Types: "string", "bytes", "bool",
# "int64", a nested schema dict, ("map", value type), ("repeated", element type).
Schema = dict[int, tuple[str, Any]]

OWNER_REFERENCE: Schema = {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"),
                           5: ("apiVersion", "string"), 6: ("controller", "bool"),
                           7: ("blockOwnerDeletion", "bool")}
OBJECT_META: Schema = {
    1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
    5: ("uid", "string"), 6: ("resourceVersion", "string"), 7: ("generation", "int64"),
    11: ("labels", ("map", "string")), 12: ("annotations", ("map", "string")),
    13: ("ownerReferences", ("repeated", OWNER_REFERENCE)),
    14: ("finalizers", ("repeated", "string")),
}
_REF: Schema = {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string")}
_LOCAL_REF: Schema = {1: ("name", "string")}
RESOURCE_ATTRIBUTES: Schema = {1: ("namespace", "string"), 2: ("verb", "string"),
                               3: ("group", "string"), 4: ("version", "string"),
                               5: ("resource", "string"), 6: ("subresource", "string"),
                               7: ("name", "string")}
NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "string"), 2: ("verb", "string")}
PRECONDITIONS: Schema = {1: ("uid", "string"), 2: ("resourceVersion", "string")}

#: (apiVersion, kind) → schema of the object.
KINDS: dict[tuple[str, str], Schema] = {
    ("v1", "Namespace"): {1: ("metadata", OBJECT_META),
                          2: ("spec", {1: ("finalizers", ("repeated", "string"))})},
    ("v1", "Secret"): {1: ("metadata", OBJECT_META), 2: ("data", ("map", "bytes")),
                       3: ("type", "string"), 4: ("stringData", ("map", "string")),
                       5: ("immutable", "bool")},
    ("v1", "ConfigMap"): {1: ("metadata", OBJECT_META), 2: ("data", ("map", "string")),
                          3: ("binaryData", ("map", "bytes")), 4: ("immutable", "bool")},
    ("v1", "ServiceAccount"): {1: ("metadata", OBJECT_META),
                               2: ("secrets", ("repeated", _REF)),
                               3: ("imagePullSecrets", ("repeated", _LOCAL_REF)),
                               4: ("automountServiceAccountToken", "bool")},
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): {
        1: ("metadata", OBJECT_META),
        2: ("spec", {1: ("resourceAttributes", RESOURCE_ATTRIBUTES),
                     2: ("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES)})},
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): {
        1: ("metadata", OBJECT_META), 2: ("spec", {1: ("namespace", "string")})},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): {1: ("metadata", OBJECT_META)},
    ("v1", "DeleteOptions"): {1: ("gracePeriodSeconds", "int64"),
                              2: ("preconditions", PRECONDITIONS),
                              3: ("orphanDependents", "bool"),
                              4: ("propagationPolicy", "string"),
                              5: ("dryRun", ("repeated", "string"))},
}


class _Malformed(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, raw value) of every field, in order."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    value: Any
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Malformed("truncated field")
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: Any, value: Any) -> Any:
    if isinstance(kind, dict):
        return decode_message(value, kind)
    if kind == "string":
        return bytes(value).decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "bool":
        return bool(value)
    if kind == "int64":
        return value - (1 << 64) if value >= 1 << 63 else value
    raise _Malformed(f"unknown field type {kind!r}")


def decode_message(data: bytes, schema: Schema) -> dict[str, Any]:
    """One message as a dict with the JSON field names (unknown fields skipped)."""
    out: dict[str, Any] = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, tuple) and kind[0] == "map":
            entry = {n: v for n, _, v in _fields(value)}
            key = bytes(entry.get(1, b"")).decode("utf-8")
            out.setdefault(name, {})[key] = _scalar(kind[1], entry.get(2, b""))
        elif isinstance(kind, tuple) and kind[0] == "repeated":
            out.setdefault(name, []).append(_scalar(kind[1], value))
        else:
            decoded = _scalar(kind, value)
            if decoded == "" or (kind == "int64" and decoded == 0):
                continue  # Go's encoder writes empty non-pointer fields; JSON omits them
            out[name] = decoded
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as a JSON-shaped object; 415 for kinds not understood."""
    try:
        if not body.startswith(MAGIC):
            raise _Malformed("missing the k8s protobuf envelope")
        envelope = {n: v for n, _, v in _fields(body[len(MAGIC):])}
        type_meta = decode_message(envelope.get(1, b""), {1: ("apiVersion", "string"),
                                                          2: ("kind", "string")})
        key = (type_meta.get("apiVersion", ""), type_meta.get("kind", ""))
        schema = KINDS.get(key)
        if schema is None and key[1] == "DeleteOptions":  # registered in every group version
            schema = KINDS[("v1", "DeleteOptions")]
        if schema is None:
            raise ApiError(415, "UnsupportedMediaType",
                           f"the sandbox decodes protobuf only for "
                           f"{', '.join(sorted(k for _, k in KINDS))}; send "
                           f"{key[0]} {key[1]} as application/json")
        obj = decode_message(envelope.get(2, b""), schema)
    except (_Malformed, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest",
                       f"the body of the request could not be decoded as protobuf: {e}") from e
    return {"apiVersion": key[0], "kind": key[1], **obj}
