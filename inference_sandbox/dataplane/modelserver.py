"""A fake model server for one revision or group: vLLM's OpenAI API or a plain HTTP service.

vLLM engine: ``/v1/models``, ``/v1/completions``, ``/v1/chat/completions`` (deterministic
answers, no streaming), ``/health`` and ``/metrics`` (:mod:`.vllm_metrics`). Custom workloads:
``/health`` and ``/`` answer JSON, ``/metrics`` counts requests. The latencies a request
*records* are the configured ones (plus a seeded jitter), so metric gates are deterministic on
a loaded machine; the server also waits that long (times ``time_scale``) before it answers.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from inference_sandbox.dataplane.behaviour import Behaviour
from inference_sandbox.dataplane.vllm_metrics import VllmMetrics

INSTRUMENTED = ("/v1/completions", "/v1/chat/completions", "/v1/models", "/")


@dataclass(frozen=True)
class BackendId:
    """Who a server stands in for (also its Prometheus target labels)."""

    namespace: str
    service: str
    revision: str
    kind: str = "knative"  # or "lws"

    def labels(self) -> dict[str, str]:
        """``namespace``, ``service``, ``revision`` target labels."""
        return {"namespace": self.namespace, "service": self.service,
                "revision": self.revision}


def _error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"object": "error", "message": message, "type": kind,
                              "param": None, "code": status}, status=status)


class FakeModelServer:
    """One aiohttp server on loopback; ``start()`` binds a free port (``url``)."""

    def __init__(self, ident: BackendId, behaviour: Behaviour, *, seed: int = 0,
                 time_scale: float = 1.0) -> None:
        self.ident = ident
        self.behaviour = behaviour
        self.time_scale = time_scale
        self.random = random.Random(f"{seed}/{ident.namespace}/{ident.revision}")
        self.metrics = VllmMetrics(behaviour.served_model, kv_cache_usage=behaviour.kv_cache_usage)
        self.requests = 0
        self.url = ""
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.created = int(time.time())

    def app(self) -> web.Application:
        """Routes for this server's engine."""
        app = web.Application(middlewares=[self._instrument])
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        if self.behaviour.engine == "vllm":
            app.router.add_get("/v1/models", self._models)
            app.router.add_post("/v1/completions", self._completions)
            app.router.add_post("/v1/chat/completions", self._chat)
        else:
            app.router.add_route("*", "/{tail:.*}", self._plain)
        return app

    async def start(self, host: str = "127.0.0.1") -> None:
        """Bind and serve."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else 0
        self.url = f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Close the listener."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ middleware
    @web.middleware
    async def _instrument(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        path = request.path
        if path in INSTRUMENTED or (self.behaviour.engine != "vllm" and path not in
                                    ("/health", "/metrics")):
            self.requests += 1
            self.metrics.observe_http(path, request.method, response.status)
        return response

    # ------------------------------------------------------------------ handlers
    async def _health(self, request: web.Request) -> web.Response:
        status = self.behaviour.health_status
        if self.behaviour.engine == "vllm":
            return web.Response(status=status)
        return web.json_response({"status": "ok" if status < 400 else "unhealthy",
                                  "revision": self.ident.revision}, status=status)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(),
                            content_type="text/plain", charset="utf-8")

    async def _plain(self, request: web.Request) -> web.Response:
        await self._wait(self.behaviour.effective_ttft_ms / 1000)
        if self._fails():
            return web.json_response({"error": "injected failure"}, status=500)
        return web.json_response({"status": "ok", "revision": self.ident.revision,
                                  "path": request.path})

    async def _models(self, request: web.Request) -> web.Response:
        b = self.behaviour
        data = [] if b.model_missing else [{
            "id": b.served_model, "object": "model", "created": self.created,
            "owned_by": "vllm", "root": b.served_model, "parent": None,
            "max_model_len": 8192, "permission": []}]
        return web.json_response({"object": "list", "data": data})

    async def _completions(self, request: web.Request) -> web.Response:
        body, problem = await self._body(request)
        if problem is not None:
            return problem
        prompt = body.get("prompt", "")
        prompt_text = " ".join(prompt) if isinstance(prompt, list) else str(prompt)
        result = await self._generate(prompt_text, body)
        if isinstance(result, web.Response):
            return result
        text, usage, reason = result
        return web.json_response({
            "id": f"cmpl-{self.ident.revision}-{self.requests}", "object": "text_completion",
            "created": int(time.time()), "model": self.behaviour.served_model,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason,
                         "stop_reason": None}],
            "usage": usage})

    async def _chat(self, request: web.Request) -> web.Response:
        body, problem = await self._body(request)
        if problem is not None:
            return problem
        messages = body.get("messages") or []
        prompt_text = " ".join(str(m.get("content", "")) for m in messages
                               if isinstance(m, dict))
        result = await self._generate(prompt_text, body)
        if isinstance(result, web.Response):
            return result
        text, usage, reason = result
        return web.json_response({
            "id": f"chatcmpl-{self.ident.revision}-{self.requests}", "object": "chat.completion",
            "created": int(time.time()), "model": self.behaviour.served_model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": reason, "stop_reason": None}],
            "usage": usage})

    # ------------------------------------------------------------------ engine
    async def _body(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}, _error(400, "request body is not JSON", "BadRequestError")
        if not isinstance(body, dict):
            return {}, _error(400, "request body must be a JSON object", "BadRequestError")
        model = body.get("model")
        b = self.behaviour
        if b.model_missing or (model and model != b.served_model):
            return body, _error(404, f"The model `{model}` does not exist.", "NotFoundError")
        return body, None

    def _fails(self) -> bool:
        rate = self.behaviour.error_rate
        return rate > 0 and self.random.random() < rate

    async def _wait(self, seconds: float) -> None:
        if seconds > 0 and self.time_scale > 0:
            await asyncio.sleep(seconds * self.time_scale)

    async def _generate(self, prompt: str, body: dict[str, Any]
                        ) -> tuple[str, dict[str, int], str] | web.Response:
        b = self.behaviour
        words = b.answer.split(" ")
        max_tokens = body.get("max_tokens")
        reason = "stop"
        if isinstance(max_tokens, int) and 0 < max_tokens < len(words):
            words, reason = words[:max_tokens], "length"
        jitter = 1.0 + self.random.uniform(-0.1, 0.1)
        ttft = b.effective_ttft_ms / 1000 * jitter
        itl = b.effective_itl_ms / 1000 * jitter
        self.metrics.running.inc()
        try:
            await self._wait(ttft + itl * (len(words) - 1))
        finally:
            self.metrics.running.dec()
        if self._fails():
            return _error(500, "injected engine failure", "InternalServerError")
        prompt_tokens = len(prompt.split())
        self.metrics.observe_request(ttft=ttft, itl=itl, output_tokens=len(words),
                                     prompt_tokens=prompt_tokens, finished_reason=reason)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                 "total_tokens": prompt_tokens + len(words)}
        return " ".join(words), usage, reason
