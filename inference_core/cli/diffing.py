"""``infstack diff``: server-side dry-run apply against the live objects, as unified diffs.

Server-set fields (status, managedFields, resourceVersion, generation, uid, timestamps)
are left out of both sides; Secret data is compared by digest and never printed.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from inference_core.rollout.kube import KubeClient, ObjectKey

_NOISE = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
          "selfLink")


def normalize(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The object without server-set noise; Secret values replaced by their digest."""
    if obj is None:
        return None
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in _NOISE:
        meta.pop(key, None)
    if out.get("kind") == "Secret":
        for section in ("data", "stringData"):
            values = out.get(section) or {}
            out[section] = {k: "sha256:" + hashlib.sha256(str(v).encode()).hexdigest()[:12]
                            for k, v in values.items()}
    return out


def diff_objects(client: KubeClient,
                 manifests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per object: ``object``, ``action`` (create / update / none), ``diff``."""
    out = []
    for manifest in manifests:
        key = ObjectKey.of(manifest)
        live = client.get(key.api_version, key.kind, key.name, key.namespace)
        dry = client.apply(manifest, dry_run=True)
        before, after = normalize(live), normalize(dry)
        if before == after:
            out.append({"object": str(key), "action": "none", "diff": ""})
            continue
        a = yaml.safe_dump(before, sort_keys=True).splitlines() if before else []
        b = yaml.safe_dump(after, sort_keys=True).splitlines()
        text = "\n".join(difflib.unified_diff(a, b, f"live {key}", f"applied {key}",
                                              lineterm=""))
        out.append({"object": str(key), "action": "create" if live is None else "update",
                    "diff": text})
    return out
