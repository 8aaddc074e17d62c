"""A local emulator of the Hugging Face Hub HTTP API, for tests and the demo.

It serves exactly what ``huggingface_hub`` calls during model preflight (and a little more):

- ``GET /api/models/{repo_id}`` and ``GET /api/models/{repo_id}/revision/{revision}``
  (``HfApi.model_info``): JSON with ``id``, ``sha``, ``gated``, ``private``, ``config``
  (architectures, model_type), ``safetensors`` (parameters per dtype) and ``siblings``.
- ``GET /api/models/{repo_id}/auth-check`` (``HfApi.auth_check``).
- ``GET``/``HEAD /{repo_id}/resolve/{revision}/{filename}`` (``hf_hub_url`` downloads,
  ``hf_hub_download``): file bytes with ``X-Repo-Commit``, ``ETag``, ``Content-Length``;
  ``Range: bytes=a-b`` answered with 206.

Errors carry the headers huggingface_hub's ``hf_raise_for_status`` keys on:
``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``, ``GatedRepo``)
and ``X-Error-Message``, with the Hub's status codes: a missing or private repository is 401
without a token and 404 with one; a gated file is 401 without a token and 403 for an account
without access; an unknown token is 401 "Invalid credentials in Authorization header".

Faults (``emulator.faults``) inject 429 with ``RateLimit``/``Retry-After`` headers, 5xx, or any
status for the next N matching requests. Every request is logged (method, path, whether it was
authenticated, status) — never the token — so tests can assert how many calls were made.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from inference_sandbox.hub.fixtures import TOKEN_GRANTED, VALID_TOKENS, HubRepo, default_repos

_INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator answered."""

    method: str
    path: str
    query: str
    authenticated: bool
    status: int


@dataclass
class _Fault:
    status: int
    times: int
    match: str
    headers: dict[str, str]
    body: dict[str, Any]


class Faults:
    """Injected failures, consumed in order by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []

    def add(self, status: int, *, times: int = 1, match: str = "",
            headers: dict[str, str] | None = None, message: str = "injected fault") -> None:
        """Answer the next ``times`` requests whose path contains ``match`` with ``status``."""
        with self._lock:
            self._faults.append(_Fault(status, times, match, dict(headers or {}),
                                       {"error": message}))

    def rate_limit(self, *, times: int = 1, retry_after: int = 30, match: str = "") -> None:
        """429 with the Hub's ``RateLimit`` headers (0 remaining) and ``Retry-After``."""
        self.add(429, times=times, match=match, message="Too Many Requests", headers={
            "RateLimit": f'"api";r=0;t={retry_after}',
            "RateLimit-Policy": '"fixed window";"api";q=500;w=300',
            "Retry-After": str(retry_after),
        })

    def server_error(self, *, status: int = 503, times: int = 1, match: str = "") -> None:
        """A 5xx for the next ``times`` matching requests."""
        self.add(status, times=times, match=match, message="Service Unavailable")

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> _Fault | None:
        """The fault to apply to this request, if any (decrements its count)."""
        with self._lock:
            for fault in self._faults:
                if fault.match in path and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(data).encode(),
                  {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _error(status: int, code: str | None, message: str) -> _Reply:
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return _json_reply(status, {"error": message}, headers)


class HubEmulator:
    """The emulator server; use :meth:`running` (context manager) or :meth:`start`/:meth:`stop`."""

    def __init__(self, repos: list[HubRepo] | None = None, *, host: str = "127.0.0.1") -> None:
        self.repos: dict[str, HubRepo] = {r.repo_id: r for r in (repos or default_repos())}
        self.host = host
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        """Base URL (``HF_ENDPOINT``), e.g. ``http://127.0.0.1:40123``."""
        if self._server is None:
            raise RuntimeError("the Hub emulator is not running")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> HubEmulator:
        """Bind a free port on loopback and serve in a daemon thread."""
        server = ThreadingHTTPServer((self.host, 0), _make_handler(self))
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="hub-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._conns.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    @contextlib.contextmanager
    def running(self) -> Iterator[HubEmulator]:
        """``with HubEmulator().running() as hub: ...``"""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # ----------------------------------------------------------------- request log
    @property
    def request_count(self) -> int:
        """Number of requests answered so far."""
        with self._lock:
            return len(self.requests)

    def count(self, path_contains: str = "", method: str | None = None) -> int:
        """Requests whose path contains ``path_contains`` (and of ``method``, if given)."""
        with self._lock:
            return sum(1 for r in self.requests if path_contains in r.path
                       and (method is None or r.method == method))

    def reset_log(self) -> None:
        """Forget the request log."""
        with self._lock:
            self.requests.clear()

    def add_repo(self, repo: HubRepo) -> None:
        """Serve one more repository."""
        self.repos[repo.repo_id] = repo

    def _record(self, record: RequestRecord, conn: socket.socket | None = None) -> None:
        with self._lock:
            self.requests.append(record)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # ----------------------------------------------------------------- routing
    def handle(self, method: str, raw_path: str, headers: dict[str, str]) -> _Reply:
        """Answer one request (also usable without HTTP, for unit tests of the routing)."""
        path = urlsplit(raw_path).path
        fault = self.faults.take(path)
        if fault is not None:
            return _json_reply(fault.status, fault.body,
                               {"X-Error-Message": str(fault.body["error"]), **fault.headers})
        token = _bearer(headers)
        if token is not None and token not in VALID_TOKENS:
            return _error(401, None, _INVALID_CREDENTIALS)
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+)|/(auth-check))?/?", path)
        if m:
            repo_id, revision, auth_check = m.group(1), m.group(2), m.group(3)
            if auth_check:
                return self._auth_check(repo_id, token)
            return self._model_info(repo_id, unquote(revision) if revision else "main", token)
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            return self._resolve(m.group(1), unquote(m.group(2)), unquote(m.group(3)), token,
                                 headers, head=method == "HEAD")
        return _error(404, None, "Sorry, we can't find the page you are looking for.")

    def _visible_repo(self, repo_id: str, token: str | None) -> HubRepo | _Reply:
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and token != TOKEN_GRANTED):
            # The Hub answers 401 to anonymous callers so as not to reveal private repos.
            return _error(401 if token is None else 404, "RepoNotFound", "Repository not found")
        return repo

    def _gate(self, repo: HubRepo, token: str | None) -> _Reply | None:
        if not repo.gated or token == TOKEN_GRANTED:
            return None
        page = f"https://huggingface.co/{repo.repo_id}"
        if token is None:
            return _error(401, "GatedRepo", f"Access to model {repo.repo_id} is restricted. You "
                          "must have access to it and be authenticated to access it. "
                          "Please log in.")
        return _error(403, "GatedRepo", f"Access to model {repo.repo_id} is restricted and you "
                      f"are not in the authorized list. Visit {page} to ask for access.")

    def _model_info(self, repo_id: str, revision: str, token: str | None) -> _Reply:
        repo = self._visible_repo(repo_id, token)
        if isinstance(repo, _Reply):
            return repo
        sha = repo.resolve(revision)
        if sha is None:
            return _error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        total = sum(repo.parameters.values())
        data: dict[str, Any] = {
            "_id": sha[:24], "id": repo.repo_id, "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0], "sha": sha,
            "lastModified": "2024-09-25T14:32:10.000Z", "createdAt": "2024-07-18T08:56:00.000Z",
            "private": repo.private, "gated": repo.gated, "disabled": False,
            "downloads": 1000, "likes": 10, "library_name": "transformers",
            "pipeline_tag": "text-generation", "tags": ["transformers", "safetensors"],
            "config": {"architectures": repo.config.get("architectures", []),
                       "model_type": repo.config.get("model_type")},
            "siblings": [{"rfilename": name} for name in sorted(repo.files())],
        }
        if repo.parameters:
            data["safetensors"] = {"parameters": dict(repo.parameters), "total": total}
        return _json_reply(200, data)

    def _auth_check(self, repo_id: str, token: str | None) -> _Reply:
        repo = self._visible_repo(repo_id, token)
        if isinstance(repo, _Reply):
            return repo
        return self._gate(repo, token) or _json_reply(200, {"status": "ok"})

    def _resolve(self, repo_id: str, revision: str, filename: str, token: str | None,
                 headers: dict[str, str], *, head: bool) -> _Reply:
        repo = self._visible_repo(repo_id, token)
        if isinstance(repo, _Reply):
            return repo
        denied = self._gate(repo, token)
        if denied is not None:
            return denied
        sha = repo.resolve(revision)
        if sha is None:
            return _error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        content = repo.files().get(filename)
        if content is None:
            return _error(404, "EntryNotFound", "Entry not found")
        import hashlib

        meta = {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha1(content).hexdigest()}"',
                "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        status, body = 200, content
        rng = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("range", ""))
        if rng:
            start = int(rng.group(1))
            end = min(int(rng.group(2)) if rng.group(2) else len(content) - 1, len(content) - 1)
            status, body = 206, content[start:end + 1]
            meta["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        return _Reply(status, b"" if head else body, {**meta, "Content-Length": str(len(body))})


def _bearer(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None


def _make_handler(emulator: HubEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in separate writes

        def setup(self) -> None:
            super().setup()
            emulator._track(self.connection, True)

        def finish(self) -> None:
            emulator._track(self.connection, False)
            with contextlib.suppress(OSError):
                super().finish()

        def _serve(self, method: str) -> None:
            hdrs = {k.lower(): v for k, v in self.headers.items()}
            length = int(hdrs.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            reply = emulator.handle(method, self.path, hdrs)
            split = urlsplit(self.path)
            emulator._record(RequestRecord(method, split.path, split.query,
                                           _bearer(hdrs) is not None, reply.status))
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if "Content-Length" not in reply.headers:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if method != "HEAD" and reply.body:
                self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
