"""REST verbs on stored objects: get, list, create, update, patch (apply/merge/json), delete."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inference_sandbox import patching
from inference_sandbox.admission import Admission
from inference_sandbox.apierrors import (
    ApiError,
    bad_request,
    conflict,
    invalid,
    namespace_not_found,
    not_found,
)
from inference_sandbox.apply import apply_config, record_update
from inference_sandbox.clock import rfc3339
from inference_sandbox.objects import clone, dig, strip_nulls
from inference_sandbox.routing import ResourcePath
from inference_sandbox.selectors import parse_field_selector, parse_label_selector, query_bool
from inference_sandbox.store import Store

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")


@dataclass
class Call:
    """One parsed API request."""

    verb: str
    rp: ResourcePath
    query: Mapping[str, str]
    body: Any = None
    content_type: str = ""
    user_agent: str = ""
    warnings: list[str] = field(default_factory=list)
    #: The authenticated user (:class:`inference_sandbox.rbac.User`).
    user: Any = None

    @property
    def dry_run(self) -> bool:
        """``dryRun=All``."""
        return self.query.get("dryRun") == "All"

    @property
    def field_validation(self) -> str:
        """``fieldValidation``: Warn when the client sends none, as the API server does."""
        value = self.query.get("fieldValidation") or "Warn"
        if value not in FIELD_VALIDATION:
            raise bad_request(f"fieldValidation: Invalid value: {value!r}: must be one of "
                              f"{', '.join(FIELD_VALIDATION)}")
        return value

    @property
    def strict(self) -> bool:
        """Unknown fields are rejected (``fieldValidation=Strict``); server-side apply is
        always strict about them, whatever the directive."""
        return self.field_validation == "Strict"

    def visible_warnings(self) -> list[str]:
        """Warnings for the response; unknown-field ones are dropped under ``Ignore``."""
        if self.field_validation == "Ignore":
            return [w for w in self.warnings if not w.startswith("unknown field")]
        return list(self.warnings)

    def manager(self) -> str:
        """``fieldManager`` or the user agent's prefix, like the API server."""
        explicit = self.query.get("fieldManager")
        if explicit:
            return explicit
        return (self.user_agent.split("/", 1)[0] or "unknown")[:128]


class ApiHandlers:
    """The verbs, over a :class:`Store` with an :class:`Admission` chain."""

    def __init__(self, store: Store, admission: Admission, *, auto_create_namespaces: bool,
                 seed: int = 0) -> None:
        self.store = store
        self.admission = admission
        self.auto_create_namespaces = auto_create_namespaces
        self._random = random.Random(seed)

    # -------------------------------------------------------------- helpers
    @staticmethod
    def _out(call: Call, obj: dict[str, Any]) -> dict[str, Any]:
        rt = call.rp.rt
        if call.rp.version != rt.version:
            obj["apiVersion"] = rt.api_version_for(call.rp.version)
        return obj

    def _now(self) -> str:
        return rfc3339(self.store.clock.wall())

    def _check_body(self, call: Call, body: Any, *, name_required: bool) -> dict[str, Any]:
        rt, rp = call.rp.rt, call.rp
        if not isinstance(body, dict):
            raise bad_request(f"the body of the request was in an unknown format - accepted "
                              f"media types include: application/json, application/yaml "
                              f"(got {type(body).__name__})")
        body = strip_nulls(body)
        expected = rt.api_version_for(rp.version)
        if body.get("apiVersion") and body["apiVersion"] != expected:
            raise bad_request(f"the API version in the data ({body['apiVersion']}) does not match "
                              f"the expected API version ({expected})")
        if body.get("kind") and body["kind"] != rt.kind:
            raise bad_request(f"the kind in the data ({body['kind']}) does not match the "
                              f"expected kind ({rt.kind})")
        body["apiVersion"], body["kind"] = expected, rt.kind
        md = body.setdefault("metadata", {})
        if rt.namespaced:
            if md.get("namespace") and rp.namespace and md["namespace"] != rp.namespace:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            md["namespace"] = rp.namespace or md.get("namespace") or "default"
        if rp.name and md.get("name") and md["name"] != rp.name:
            raise bad_request(f"the name of the object ({md['name']}) does not match the name "
                              f"on the URL ({rp.name})")
        if rp.name:
            md["name"] = rp.name
        if not md.get("name") and md.get("generateName") and not name_required:
            suffix = "".join(self._random.choices(string.ascii_lowercase + string.digits, k=5))
            md["name"] = md["generateName"] + suffix
        if not md.get("name"):
            raise invalid(rt, "", [("metadata.name",
                                    "Required value: name or generateName is required")])
        return body

    def _ensure_namespace(self, call: Call, name: str = "") -> None:
        rt, ns = call.rp.rt, call.rp.namespace
        if rt.namespaced and ns and self.store.namespace_terminating(ns):
            subject = f'{rt.qualified} "{name}"' if name else rt.qualified
            raise ApiError(403, "Forbidden", f"{subject} is forbidden: unable to create new "
                           f"content in namespace {ns} because it is being terminated",
                           details={"name": name, "kind": rt.plural,
                                    **({"group": rt.group} if rt.group else {})})
        if not rt.namespaced or not ns or self.store.namespace_exists(ns):
            return
        if self.auto_create_namespaces:
            self.store.create(("v1", "Namespace"), {
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
            return
        raise namespace_not_found(ns)

    def _existing(self, call: Call) -> dict[str, Any]:
        rp = call.rp
        obj = self.store.get(rp.rt, rp.namespace, rp.name or "")
        if obj is None:
            raise not_found(rp.rt, rp.name or "")
        return obj

    # -------------------------------------------------------------- read
    def get(self, call: Call) -> dict[str, Any]:
        """GET one object."""
        return self._out(call, self._existing(call))

    def list_objects(self, call: Call) -> dict[str, Any]:
        """GET a collection."""
        rt, q = call.rp.rt, call.query
        limit = int(q["limit"]) if q.get("limit", "").isdigit() and int(q["limit"]) > 0 else None
        items, rv, token, remaining = self.store.page(
            rt, call.rp.namespace, labels=parse_label_selector(q.get("labelSelector")),
            fields=parse_field_selector(q.get("fieldSelector")), limit=limit,
            token=q.get("continue"))
        md: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            md["continue"] = token
            md["remainingItemCount"] = remaining
        return {"kind": rt.list_kind, "apiVersion": rt.api_version_for(call.rp.version),
                "metadata": md, "items": [self._out(call, o) for o in items]}

    # -------------------------------------------------------------- write
    def create(self, call: Call) -> dict[str, Any]:
        """POST."""
        rt = call.rp.rt
        body = self._check_body(call, call.body, name_required=False)
        self._ensure_namespace(call, body["metadata"]["name"])
        if rt.status:
            body.pop("status", None) if rt.crd or rt.kind == "Pod" else None
        for key in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp",
                    "managedFields"):
            body["metadata"].pop(key, None)
        body, call.warnings = self.admission.admit(rt, call.rp.version, body, None,
                                                   verb="create", strict=call.strict)
        record_update(None, body, manager=call.manager(), api_version=body["apiVersion"],
                      now=self._now(), keyed_lists=not rt.crd, has_status=rt.status)
        if self.store.get(rt, call.rp.namespace, body["metadata"]["name"], copy=False):
            from inference_sandbox.apierrors import already_exists

            raise already_exists(rt, body["metadata"]["name"])
        if call.dry_run:
            body["metadata"].setdefault("uid", "dry-run")
            body["metadata"]["creationTimestamp"] = self._now()
            body["metadata"]["generation"] = 1
            return body
        return self._out(call, self.store.create(rt, body))

    def update(self, call: Call) -> dict[str, Any]:
        """PUT (main resource or ``/status``)."""
        rt = call.rp.rt
        body = self._check_body(call, call.body, name_required=True)
        old = self._existing(call)
        wanted_rv = body["metadata"].get("resourceVersion")
        if not wanted_rv and rt.crd:
            raise invalid(rt, body["metadata"]["name"], [(
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update")])
        return self._write(call, old, body, wanted_rv or None)

    def patch(self, call: Call) -> tuple[int, dict[str, Any]]:
        """PATCH: apply (create if missing), merge, strategic merge or JSON patch."""
        rt, rp = call.rp.rt, call.rp
        ctype = call.content_type.split(";")[0].strip()
        sub = rp.subresource or ""
        if ctype in (patching.APPLY_PATCH, patching.APPLY_PATCH_CBOR):
            if not call.query.get("fieldManager"):
                raise invalid(rt, rp.name or "", [(
                    "fieldManager", "Required value: is required for apply patch")])
            old = self.store.get(rt, rp.namespace, rp.name or "")
            applied = self._check_body(call, call.body, name_required=True)
            merged = apply_config(old, applied, manager=call.query["fieldManager"],
                                  force=query_bool(call.query.get("force")),
                                  api_version=applied["apiVersion"], now=self._now(),
                                  keyed_lists=not rt.crd, subresource=sub, has_status=rt.status)
            merged["apiVersion"], merged["kind"] = applied["apiVersion"], rt.kind
            merged.setdefault("metadata", {}).update(
                name=applied["metadata"]["name"],
                **({"namespace": applied["metadata"]["namespace"]} if rt.namespaced else {}))
            if old is None:
                if sub:
                    raise not_found(rt, rp.name or "")
                self._ensure_namespace(call, rp.name or "")
                merged.pop("status", None) if rt.status else None
                merged, call.warnings = self.admission.admit(rt, rp.version, merged, None,
                                                             verb="apply", strict=True)
                if call.dry_run:
                    return 201, merged
                return 201, self._out(call, self.store.create(rt, merged))
            return 200, self._write(call, old, merged, applied["metadata"].get(
                "resourceVersion"), managed=True)
        old = self._existing(call)
        current = self._out(call, clone(old))
        if ctype == patching.JSON_PATCH:
            patched = patching.json_patch(current, call.body)
        elif ctype == patching.MERGE_PATCH:
            patched = patching.merge_patch(current, call.body)
        elif ctype == patching.STRATEGIC_PATCH:
            if rt.crd:
                raise ApiError(415, "UnsupportedMediaType",
                               f"the body of the request was in an unknown format - accepted "
                               f"media types include: application/json-patch+json, "
                               f"application/merge-patch+json, application/apply-patch+yaml "
                               f"(got {ctype})")
            patched = patching.strategic_merge_patch(current, call.body)
        else:
            raise ApiError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format - accepted media "
                           f"types include: application/json-patch+json, application/merge-"
                           f"patch+json, application/apply-patch+yaml (got {ctype!r})")
        if not isinstance(patched, dict):
            raise bad_request("patch result is not an object")
        wanted_rv = dig(call.body, "metadata", "resourceVersion") if isinstance(
            call.body, dict) else None
        patched.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
        body = self._check_body(call, patched, name_required=True)
        return 200, self._write(call, old, body, wanted_rv)

    def _write(self, call: Call, old: dict[str, Any], body: dict[str, Any],
               wanted_rv: str | None, *, managed: bool = False) -> dict[str, Any]:
        rt, sub = call.rp.rt, call.rp.subresource or ""
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rt, old["metadata"]["name"])
        if sub == "status":
            new = clone(old)
            new["status"] = body.get("status")
            if new["status"] is None:
                new.pop("status")
            if managed:
                new["metadata"]["managedFields"] = body["metadata"].get("managedFields", [])
        else:
            new = body
            if rt.status:
                if "status" in old:
                    new["status"] = clone(old["status"])
                else:
                    new.pop("status", None)
            for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if key in old["metadata"]:
                    new["metadata"][key] = old["metadata"][key]
        new, call.warnings = self.admission.admit(rt, call.rp.version, new, old,
                                                  verb="apply" if managed else "update",
                                                  strict=managed or call.strict,
                                                  subresource=sub)
        if not managed:
            record_update(old, new, manager=call.manager(), api_version=new["apiVersion"],
                          now=self._now(), keyed_lists=not rt.crd, subresource=sub,
                          has_status=rt.status)
        if call.dry_run:
            return self._out(call, new)
        stored = self.store.replace(rt, new)
        return self._out(call, stored)

    def delete(self, call: Call) -> dict[str, Any]:
        """DELETE one object."""
        rt, rp = call.rp.rt, call.rp
        options = call.body if isinstance(call.body, dict) else {}
        old = self._existing(call)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
            raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: "
                           f"{pre['uid']}, UID in object meta: {old['metadata'].get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != \
                old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "Precondition failed: ResourceVersion in "
                           f"precondition: {pre['resourceVersion']}, ResourceVersion in object "
                           f"meta: {old['metadata']['resourceVersion']}")
        propagation, grace = self._delete_options(call, options)
        dry = call.dry_run or "All" in (options.get("dryRun") or [])
        result = old if dry else self.store.delete(rt, rp.namespace, rp.name or "",
                                                   propagation=propagation,
                                                   grace_period=grace)
        if rt.delete_returns_status and not result["metadata"].get("deletionTimestamp"):
            details: dict[str, Any] = {"name": rp.name, "kind": rt.plural,
                                       "uid": old["metadata"].get("uid")}
            if rt.group:
                details["group"] = rt.group
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": details}
        return self._out(call, result)

    @staticmethod
    def _delete_options(call: Call, options: Mapping[str, Any]) -> tuple[str, int | None]:
        """(propagationPolicy, gracePeriodSeconds) from the query or the DeleteOptions body."""
        propagation = call.query.get("propagationPolicy") or options.get("propagationPolicy")
        if not propagation:
            orphan = call.query.get("orphanDependents") or options.get("orphanDependents")
            propagation = "Orphan" if query_bool(str(orphan).lower()) else "Background"
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise bad_request(f"propagationPolicy: Unsupported value: {propagation!r}: "
                              'supported values: "Background", "Foreground", "Orphan"')
        raw = call.query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
        if raw is None or raw == "":
            return propagation, None
        try:
            return propagation, max(int(raw), 0)
        except (TypeError, ValueError) as e:
            raise bad_request(f"gracePeriodSeconds: Invalid value: {raw!r}: must be an "
                              "integer") from e

    def delete_collection(self, call: Call) -> dict[str, Any]:
        """DELETE a collection (label/field selectors honoured)."""
        rt, q = call.rp.rt, call.query
        items = self.store.list(rt, call.rp.namespace,
                                labels=parse_label_selector(q.get("labelSelector")),
                                fields=parse_field_selector(q.get("fieldSelector")))
        options = call.body if isinstance(call.body, dict) else {}
        propagation, grace = self._delete_options(call, options)
        if not call.dry_run:
            for obj in items:
                md = obj["metadata"]
                if self.store.get(rt, md.get("namespace"), md["name"], copy=False) is not None:
                    self.store.delete(rt, md.get("namespace"), md["name"],
                                      propagation=propagation, grace_period=grace)
        return {"kind": rt.list_kind, "apiVersion": rt.api_version_for(call.rp.version),
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": [self._out(call, o) for o in items]}

    def scale(self, call: Call) -> dict[str, Any]:
        """GET/PUT/PATCH ``/scale`` (LeaderWorkerSet)."""
        obj = self._existing(call)
        if call.verb in ("update", "patch"):
            body = call.body if isinstance(call.body, dict) else {}
            if call.verb == "patch":
                body = patching.merge_patch(self._scale_doc(obj), body)
            replicas = dig(body, "spec", "replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise invalid(call.rp.rt, obj["metadata"]["name"], [(
                    "spec.replicas", f"Invalid value: {replicas}: must be greater than or "
                                     "equal to 0")])
            obj["spec"]["replicas"] = replicas
            if not call.dry_run:
                obj = self.store.replace(call.rp.rt, obj)
        return self._scale_doc(obj)

    @staticmethod
    def _scale_doc(obj: Mapping[str, Any]) -> dict[str, Any]:
        md = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": md["name"], "namespace": md.get("namespace"),
                             "uid": md.get("uid"), "resourceVersion": md["resourceVersion"],
                             "creationTimestamp": md.get("creationTimestamp")},
                "spec": {"replicas": dig(obj, "spec", "replicas", default=0)},
                "status": {"replicas": dig(obj, "status", "replicas", default=0),
                           "selector": dig(obj, "status", "hpaPodSelector", default="")}}
