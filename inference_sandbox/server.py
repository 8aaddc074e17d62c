"""The HTTP front: an aiohttp app on 127.0.0.1 that speaks the Kubernetes REST API."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import yaml
from aiohttp import web

from inference_sandbox import authz, discovery, negotiation, protobuf, rbac, routing
from inference_sandbox import openapi as openapi_docs
from inference_sandbox.apierrors import ApiError, method_not_allowed
from inference_sandbox.faults import FaultInjector
from inference_sandbox.handlers import ApiHandlers, Call
from inference_sandbox.objects import dig
from inference_sandbox.openapi import OpenApi
from inference_sandbox.requestlog import RequestLog, RequestRecord
from inference_sandbox.resources import ResourceTable
from inference_sandbox.selectors import query_bool
from inference_sandbox.tables import TablePrinter
from inference_sandbox.watchcache import WatchEvent
from inference_sandbox.watching import WatchStreamer

log = logging.getLogger(__name__)

HEALTH_PATHS = {"/healthz", "/readyz", "/livez"}
PUBLIC_PATHS = HEALTH_PATHS | {"/version"}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        content_type="application/json", headers=headers)


def _verb(method: str, rp: routing.ResourcePath, query: dict[str, str]) -> str:
    if method == "GET":
        if rp.name is None:
            return "watch" if query_bool(query.get("watch")) else "list"
        return "get"
    if method == "POST":
        if rp.name is not None:
            raise method_not_allowed("the server does not allow this method on the requested "
                                     "resource")
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "deletecollection" if rp.name is None else "delete"
    raise method_not_allowed(f"method {method} is not supported")


class ApiServer:
    """Routes requests to discovery, the verbs and the watch streamer."""

    def __init__(self, *, table: ResourceTable, handlers: ApiHandlers, watches: WatchStreamer,
                 faults: FaultInjector, requests: RequestLog, token: str | None,
                 pod_logs: Any = None, openapi: OpenApi | None = None,
                 tokens: dict[str, str] | None = None) -> None:
        self.table = table
        self.authenticator = rbac.Authenticator(token, tokens or {})
        self.authorizer = rbac.Authorizer(handlers.store)
        self.openapi = openapi or openapi_docs.shared(table, handlers.admission.schemas)
        self.handlers = handlers
        self.watches = watches
        self.faults = faults
        self.requests = requests
        self.token = token
        self.pod_logs = pod_logs
        self.address = "127.0.0.1:0"

    def app(self) -> web.Application:
        """The aiohttp application (one catch-all route)."""
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Entry point of every request."""
        path = request.path.rstrip("/") or "/"
        query = {k: v for k, v in request.query.items()}
        if path in HEALTH_PATHS:
            return web.Response(text="ok")
        user = self.authenticator.authenticate(request.headers.get("Authorization"))
        if user is None and path not in PUBLIC_PATHS:
            return _json(ApiError(401, "Unauthorized", "Unauthorized").status(), 401)
        try:
            if path == "/version":
                return _json(discovery.version())
            if path == "/openapi" or path.startswith("/openapi/"):
                return await self._openapi(request, path)
            rp = routing.parse(self.table, path)
            if rp is None:
                return self._discovery(path)
        except ApiError as e:
            return _json(e.status(), e.code, e.headers)
        assert user is not None  # only public (non-resource) paths are served without one
        return await self._resource(request, rp, path, query, user)

    async def _openapi(self, request: web.Request, path: str) -> web.Response:
        if not negotiation.accepts_json(request.headers.get("Accept", "")):
            raise ApiError(406, "NotAcceptable", "only the following media types are "
                           "accepted: application/json")
        loop = asyncio.get_running_loop()
        if path == "/openapi/v2":
            body = await loop.run_in_executor(None, self.openapi.v2)
            return web.Response(body=body, content_type="application/json")
        if path == "/openapi/v3":
            return _json(await loop.run_in_executor(None, self.openapi.v3_index))
        if path.startswith("/openapi/v3/"):
            doc = await loop.run_in_executor(None, self.openapi.v3, path[len("/openapi/v3/"):])
            if doc is not None:
                return web.Response(body=doc, content_type="application/json",
                                    headers={"Cache-Control": "public, immutable"}
                                    if "hash" in request.query else None)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _discovery(self, path: str) -> web.Response:
        parts = [p for p in path.split("/") if p]
        doc: dict[str, Any] | None = None
        if parts == ["api"]:
            doc = discovery.api_versions(self.address)
        elif parts == ["apis"]:
            doc = discovery.api_group_list(self.table)
        elif len(parts) == 2 and parts[0] == "api":
            doc = discovery.api_resource_list(self.table, "", parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            doc = discovery.api_group(self.table, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = discovery.api_resource_list(self.table, parts[1], parts[2])
        if doc is None:
            return _json(ApiError(404, "NotFound", "the server could not find the requested "
                                  "resource").status(), 404)
        return _json(doc)

    async def _resource(self, request: web.Request, rp: routing.ResourcePath, path: str,
                        query: dict[str, str], user: rbac.User) -> web.StreamResponse:
        ctype = request.headers.get("Content-Type", "")
        body: Any = None
        status = 500
        logged = False
        verb = request.method.lower()
        try:
            verb = _verb(request.method, rp, query)
            self.authorizer.check(user, rbac.Attributes(
                verb, rp.rt.group, rp.rt.plural, rp.subresource or "", rp.namespace or "",
                rp.name or ""))
            raw = await request.read() if request.can_read_body else b""
            wanted = negotiation.representation(request.headers.get("Accept", ""), verb=verb)
            if raw and ctype.split(";")[0].strip().lower() == negotiation.PROTOBUF:
                body = protobuf.decode(raw)
            else:
                negotiation.check_body_type(ctype, bool(raw))
                body = self._parse_body(raw, ctype)
            call = Call(verb, rp, query, body, ctype, request.headers.get("User-Agent", ""),
                        user=user)
            decision = self.faults.decide(verb, rp.rt.plural, rp.name, path)
            if decision.delay:
                await asyncio.sleep(decision.delay)
            if decision.error is not None:
                raise decision.error
            if verb == "watch":
                self.watches.check_capacity()
                status = 200
                self._record(verb, path, query, body, request.method, ctype, rp, 200)
                logged = True
                return await self.watches.serve(request, call, decision,
                                                encoder=self._watch_encoder(call, wanted))
            status, result = self._dispatch(call)
            result = self._represent(call, wanted, result)
            headers = {}
            warnings = call.visible_warnings()
            if warnings:
                headers["Warning"] = ", ".join(f'299 - {json.dumps(w)}' for w in warnings)
            if isinstance(result, str):
                return web.Response(text=result, status=status)
            return _json(result, status, headers)
        except ApiError as e:
            status = e.code
            return _json(e.status(), e.code, e.headers)
        except Exception:
            log.exception("sandbox: unhandled error for %s %s", request.method, path)
            status = 500
            return _json(ApiError(500, "InternalError", "internal error in the sandbox API "
                                  "server").status(), 500)
        finally:
            if not logged:
                self._record(verb, path, query, body, request.method, ctype, rp, status)

    def _printer(self, call: Call) -> TablePrinter:
        schemas = self.handlers.admission.schemas
        columns = schemas.columns.get((call.rp.rt.group, call.rp.version, call.rp.rt.kind)) \
            if schemas is not None else None
        return TablePrinter(call.rp.rt, columns, self.handlers.store.clock.wall,
                            include=call.query.get("includeObject") or "Metadata")

    def _represent(self, call: Call, wanted: negotiation.Representation, result: Any) -> Any:
        """The answer as a Table / PartialObjectMetadata when the client asked for one."""
        if wanted.form == "plain" or not isinstance(result, dict) or \
                call.verb not in ("get", "list"):
            return result
        meta_api = f"meta.k8s.io/{wanted.meta_version}"
        if wanted.form == "table":
            printer = self._printer(call)
            if call.verb == "list":
                table = printer.table(result["items"], result["metadata"])
            else:
                table = printer.table([result], {"resourceVersion": dig(
                    result, "metadata", "resourceVersion", default="")})
            table["apiVersion"] = meta_api
            return table
        if call.verb == "list":
            return {"kind": "PartialObjectMetadataList", "apiVersion": meta_api,
                    "metadata": result["metadata"],
                    "items": [{"kind": "PartialObjectMetadata", "apiVersion": meta_api,
                               "metadata": o.get("metadata", {})} for o in result["items"]]}
        return {"kind": "PartialObjectMetadata", "apiVersion": meta_api,
                "metadata": result.get("metadata", {})}

    def _watch_encoder(self, call: Call, wanted: negotiation.Representation) -> Any:
        """Per-event encoding of a watch for Table / metadata-only clients (None: plain)."""
        if wanted.form == "plain":
            return None
        printer = self._printer(call) if wanted.form == "table" else None
        meta_api = f"meta.k8s.io/{wanted.meta_version}"

        def encode(event: WatchEvent, version: str, etype: str) -> bytes:
            obj = event.obj
            if printer is not None:
                out = printer.table([obj], {"resourceVersion": dig(
                    obj, "metadata", "resourceVersion", default="")})
                out["apiVersion"] = meta_api
            else:
                out = {"kind": "PartialObjectMetadata", "apiVersion": meta_api,
                       "metadata": obj.get("metadata", {})}
            return json.dumps({"type": etype, "object": out},
                              separators=(",", ":")).encode() + b"\n"

        return encode

    def _record(self, verb: str, path: str, query: dict[str, str], body: Any, method: str,
                ctype: str, rp: routing.ResourcePath, status: int) -> None:
        self.requests.append(RequestRecord(verb, path, query, body, method, ctype,
                                           rp.rt.plural, rp.namespace, rp.name, rp.subresource,
                                           status))

    @staticmethod
    def _parse_body(raw: bytes, ctype: str) -> Any:
        if not raw:
            return None
        try:
            if "yaml" in ctype:
                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: "
                           f"{e}") from e

    def _dispatch(self, call: Call) -> tuple[int, Any]:
        h, rp = self.handlers, call.rp
        if rp.subresource == "log":
            return 200, self._pod_log(call)
        if rp.subresource == "scale":
            return 200, h.scale(call)
        if not rp.rt.stored:
            return 201, authz.review(call, self.authorizer)
        if call.verb == "get":
            return 200, h.get(call)
        if call.verb == "list":
            return 200, h.list_objects(call)
        if call.verb == "create":
            return 201, h.create(call)
        if call.verb == "update":
            return 200, h.update(call)
        if call.verb == "patch":
            return h.patch(call)
        if call.verb == "delete":
            return 200, h.delete(call)
        return 200, h.delete_collection(call)

    def _pod_log(self, call: Call) -> str:
        pod = self.handlers.get(call)
        container = call.query.get("container") or dig(pod, "spec", "containers", 0, "name")
        lines = self.pod_logs(call.rp.namespace, call.rp.name, container) if self.pod_logs \
            else []
        tail = call.query.get("tailLines", "")
        if tail.isdigit():
            lines = lines[-int(tail):] if int(tail) else []
        return "".join(line + "\n" for line in lines)
