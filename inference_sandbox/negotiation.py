"""Content negotiation: which representation a request asks for and which bodies it sends.

The sandbox speaks JSON (and YAML request bodies). Like the API server it answers
``as=Table`` and ``as=PartialObjectMetadata[List]`` requests in ``meta.k8s.io`` v1/v1beta1,
refuses protobuf *bodies* with ``415 Unsupported Media Type`` (client-go then falls back to
JSON) and answers ``406 Not Acceptable`` when a client accepts nothing it can produce.
"""

from __future__ import annotations

from dataclasses import dataclass

from inference_sandbox.apierrors import ApiError

PROTOBUF = "application/vnd.kubernetes.protobuf"
CBOR = "application/cbor"
SERVED_BODIES = ("application/json", "application/yaml", "application/apply-patch+yaml",
                 "application/json-patch+json", "application/merge-patch+json",
                 "application/strategic-merge-patch+json")
PRODUCED = "application/json, application/yaml, application/json;stream=watch"


@dataclass(frozen=True)
class Representation:
    """What to answer: ``plain`` JSON objects, a ``Table`` or ``PartialObjectMetadata``
    (``meta_version`` v1 or v1beta1)."""

    form: str = "plain"
    meta_version: str = "v1"


def _media(entry: str) -> tuple[str, dict[str, str]]:
    parts = [p.strip() for p in entry.split(";")]
    params = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip()
    return parts[0].lower(), params


def representation(accept: str, *, verb: str) -> Representation:
    """The first entry of ``Accept`` (client order) the sandbox can produce for ``verb``."""
    if not accept.strip():
        return Representation()
    for entry in accept.split(","):
        media, params = _media(entry)
        if media not in ("application/json", "application/yaml", "application/*", "*/*"):
            continue
        wanted = params.get("as")
        if wanted is None:
            return Representation()
        if params.get("g") != "meta.k8s.io" or params.get("v") not in ("v1", "v1beta1"):
            continue
        if wanted == "Table" and verb in ("get", "list", "watch"):
            return Representation("table", params["v"])
        if wanted in ("PartialObjectMetadata", "PartialObjectMetadataList") and \
                verb in ("get", "list", "watch"):
            return Representation("metadata", params["v"])
    raise ApiError(406, "NotAcceptable",
                   f"only the following media types are accepted: {PRODUCED}")


def check_body_type(content_type: str, has_body: bool) -> None:
    """415 for request bodies the sandbox cannot decode (protobuf, CBOR, anything unknown)."""
    if not has_body:
        return
    media = _media(content_type)[0] if content_type else "application/json"
    if media in SERVED_BODIES or (media.endswith("+json") and media.startswith("application/")):
        return
    raise ApiError(415, "UnsupportedMediaType",
                   f"the body of the request was in an unknown format - accepted media types "
                   f"include: {', '.join(SERVED_BODIES)}")


def accepts_json(accept: str) -> bool:
    """Whether a non-resource document (OpenAPI, discovery) may be answered as JSON."""
    if not accept.strip():
        return True
    return any(_media(e)[0] in ("application/json", "*/*", "application/*")
               for e in accept.split(","))
