"""Revision history: the tuples we applied, recorded where retries and restarts find them.

The history of workload ``<name>`` lives in the ConfigMap ``<name>-history`` in its
namespace (docs/adr/0003-rollout-history.md), written by server-side apply under our field
manager, with ``metadata.resourceVersion`` as a precondition so two writers never lose an
entry silently. Each :class:`Entry` holds the applied tuple (spec digest, image, model
commit, vLLM args, profile, time, who, rollout id), the serving object exactly as we applied
it (our fields only: re-applying it never takes server-set fields), a status
(``applied`` → ``good`` | ``failed``) and, once good, the Knative revision that served it.

Pure: reading and writing the ConfigMap is the caller's (planners return the object).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from inference_core.errors import DeployError, ObjectRef
from inference_core.rollout.constants import (
    CONFIG_MAP,
    FIELD_MANAGER,
    KIND_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    ROLE_LABEL,
    SERVER_SET_ANNOTATIONS,
    WORKLOAD_LABEL,
    history_name,
)

#: Entries kept (the newest good entry is always kept too).
MAX_ENTRIES = 20
DATA_KEY = "history.json"


class Status(StrEnum):
    """Where an applied tuple stands."""

    APPLIED = "applied"
    GOOD = "good"
    FAILED = "failed"


@dataclass(frozen=True)
class Entry:
    """One applied tuple (see module doc). ``revision`` numbers entries 1, 2, ... per workload;
    ``action`` is ``deploy``, ``update`` or ``rollback`` (``rollback_of`` then names the
    entry whose tuple was re-applied); ``objects`` are ``apiVersion/kind/name`` of every
    object applied with it (delete uses them instead of listing Secrets)."""

    revision: int
    rollout_id: str
    action: str
    status: Status
    spec_digest: str
    workload_kind: str
    manifest: dict[str, Any]
    applied_at: str
    image: str | None = None
    model_commit: str | None = None
    vllm_args: tuple[str, ...] = ()
    profile: str | None = None
    by: str | None = None
    reason: str | None = None
    knative_revision: str | None = None
    stable_revision: str | None = None
    rollback_of: int | None = None
    objects: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        data = asdict(self)
        data["status"] = self.status.value
        data["vllm_args"] = list(self.vllm_args)
        data["objects"] = list(self.objects)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in data.items() if k in known}
        kw["status"] = Status(str(kw.get("status", "applied")))
        kw["vllm_args"] = tuple(kw.get("vllm_args") or ())
        kw["objects"] = tuple(kw.get("objects") or ())
        kw["manifest"] = dict(kw.get("manifest") or {})
        return cls(**kw)

    def summary(self) -> dict[str, Any]:
        """The entry without its manifest (for listings and ``-o json``)."""
        data = self.to_dict()
        data.pop("manifest")
        return data


@dataclass(frozen=True)
class History:
    """The recorded entries of one workload, oldest first, plus the ConfigMap's
    ``resourceVersion`` (None when it does not exist yet)."""

    name: str
    namespace: str
    entries: tuple[Entry, ...] = ()
    resource_version: str | None = None
    serving_kind: str | None = None
    serving_api_version: str | None = None

    # -- lookups ---------------------------------------------------------------------
    @property
    def latest(self) -> Entry | None:
        """The newest entry (what we last applied)."""
        return self.entries[-1] if self.entries else None

    def good(self) -> list[Entry]:
        """Entries that became ready, oldest first."""
        return [e for e in self.entries if e.status is Status.GOOD]

    def last_good(self, *, before: int | None = None) -> Entry | None:
        """The newest good entry (older than revision ``before`` when given)."""
        for entry in reversed(self.entries):
            if entry.status is Status.GOOD and (before is None or entry.revision < before):
                return entry
        return None

    def by_revision(self, revision: int) -> Entry | None:
        """The entry numbered ``revision``."""
        return next((e for e in self.entries if e.revision == revision), None)

    def for_rollout(self, rollout_id: str, action: str | None = None) -> Entry | None:
        """The newest entry written by ``rollout_id`` (and ``action``), if any."""
        for entry in reversed(self.entries):
            if entry.rollout_id == rollout_id and (action is None or entry.action == action):
                return entry
        return None

    # -- changes (return new histories) --------------------------------------------------
    def appended(self, entry: Entry) -> History:
        """With ``entry`` added (its revision renumbered to follow the newest), trimmed."""
        nxt = (self.entries[-1].revision + 1) if self.entries else 1
        entries = [*self.entries, replace(entry, revision=nxt)]
        return replace(self, entries=_trim(entries))

    def with_status(self, revision: int, status: Status, *, reason: str | None = None,
                    knative_revision: str | None = None) -> History:
        """With entry ``revision`` marked ``status`` (and the revision that served it)."""
        out = []
        for e in self.entries:
            if e.revision == revision:
                e = replace(e, status=status, reason=reason,
                            knative_revision=knative_revision or e.knative_revision)
            out.append(e)
        return replace(self, entries=tuple(out))

    def with_manifest(self, revision: int, manifest: Mapping[str, Any]) -> History:
        """With entry ``revision``'s applied manifest replaced (after a traffic step)."""
        out = [replace(e, manifest=copy.deepcopy(dict(manifest))) if e.revision == revision
               else e for e in self.entries]
        return replace(self, entries=tuple(out))

    # -- the ConfigMap -------------------------------------------------------------------
    def to_configmap(self) -> dict[str, Any]:
        """The ConfigMap to server-side apply (``resourceVersion`` as a precondition)."""
        meta: dict[str, Any] = {
            "name": history_name(self.name), "namespace": self.namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, WORKLOAD_LABEL: self.name,
                       ROLE_LABEL: "history"},
            "annotations": {"inference-stacks.io/serving": f"{self.serving_api_version}/"
                            f"{self.serving_kind}"} if self.serving_kind else {},
        }
        if not meta["annotations"]:
            del meta["annotations"]
        if self.resource_version:
            meta["resourceVersion"] = self.resource_version
        body = json.dumps([e.to_dict() for e in self.entries], sort_keys=True,
                          separators=(",", ":"))
        return {"apiVersion": CONFIG_MAP.api_version, "kind": CONFIG_MAP.kind,
                "metadata": meta, "data": {DATA_KEY: body}}

    @classmethod
    def from_configmap(cls, obj: Mapping[str, Any] | None, *, name: str,
                       namespace: str) -> History:
        """Parse a history ConfigMap (``None``: no history yet). A corrupt body is an error
        naming the ConfigMap (never silently an empty history)."""
        if obj is None:
            return cls(name, namespace)
        meta = obj.get("metadata") or {}
        raw = (obj.get("data") or {}).get(DATA_KEY) or "[]"
        try:
            entries = tuple(Entry.from_dict(e) for e in json.loads(raw))
        except (ValueError, TypeError, KeyError) as e:
            raise DeployError(f"the rollout history cannot be read ({type(e).__name__}: {e}); "
                              "fix or delete it (a new history then starts)",
                              ref=ObjectRef("ConfigMap", namespace, history_name(name))) from e
        serving = str((meta.get("annotations") or {}).get("inference-stacks.io/serving") or "")
        api_version, _, kind = serving.rpartition("/")
        return cls(name, namespace, entries, meta.get("resourceVersion"),
                   kind or None, api_version or None)


def _trim(entries: list[Entry]) -> tuple[Entry, ...]:
    if len(entries) <= MAX_ENTRIES:
        return tuple(entries)
    keep = entries[-MAX_ENTRIES:]
    good = [e for e in entries if e.status is Status.GOOD]
    if good and good[-1] not in keep:
        keep = [good[-1], *keep[1:]]
    return tuple(keep)


# -- the tuple of a spec ---------------------------------------------------------------------

def spec_digest(spec: Any) -> str:
    """``sha256:<hex>`` of the spec's canonical JSON (secret values excluded)."""
    data = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def main_container(serving: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first container of a Knative Service or the LWS leader (else worker) template."""
    spec = serving.get("spec") or {}
    if serving.get("kind") == "LeaderWorkerSet":
        lwt = spec.get("leaderWorkerTemplate") or {}
        template = lwt.get("leaderTemplate") or lwt.get("workerTemplate") or {}
    else:
        template = spec.get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or [{}]
    return containers[0] if isinstance(containers[0], Mapping) else {}


def owned_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest without server-set fields (status, uid, managedFields, Knative's
    creator/lastModifier ...): what we may re-apply as ours."""
    meta = manifest.get("metadata") or {}
    keep = {k: copy.deepcopy(v) for k, v in meta.items()
            if k in ("name", "namespace", "labels", "annotations")}
    if "annotations" in keep:
        keep["annotations"] = {k: v for k, v in keep["annotations"].items()
                               if k not in SERVER_SET_ANNOTATIONS}
        if not keep["annotations"]:
            del keep["annotations"]
    out = {"apiVersion": manifest.get("apiVersion"), "kind": manifest.get("kind"),
           "metadata": keep}
    for key, value in manifest.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            out[key] = copy.deepcopy(value)
    return out


def new_entry(spec: Any, manifests: Sequence[Mapping[str, Any]], serving: Mapping[str, Any],
              *, rollout_id: str, action: str, profile: str | None, by: str | None,
              now: str, stable_revision: str | None = None,
              rollback_of: int | None = None) -> Entry:
    """The entry recording ``spec`` rendered as ``manifests`` (revision set on append)."""
    container = main_container(serving)
    model = getattr(getattr(spec, "spec", None), "model", None)
    vllm_args = tuple(str(a) for a in container.get("args") or ()) \
        if spec.kind != "CustomInference" else ()
    labels = (serving.get("metadata") or {}).get("labels") or {}
    return Entry(
        revision=0, rollout_id=rollout_id, action=action, status=Status.APPLIED,
        spec_digest=spec_digest(spec), workload_kind=str(labels.get(KIND_LABEL, spec.kind)),
        manifest=owned_manifest(serving), applied_at=now,
        image=str(container["image"]) if container.get("image") else None,
        model_commit=getattr(model, "revision", None), vllm_args=vllm_args,
        profile=profile, by=by, stable_revision=stable_revision, rollback_of=rollback_of,
        objects=tuple(f"{m.get('apiVersion')}/{m.get('kind')}/"
                      f"{(m.get('metadata') or {}).get('name')}" for m in manifests),
    )


__all__ = ["DATA_KEY", "FIELD_MANAGER", "MAX_ENTRIES", "Entry", "History", "Status",
           "main_container", "new_entry", "owned_manifest", "spec_digest"]
