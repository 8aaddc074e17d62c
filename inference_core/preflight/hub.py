"""Reading a model's metadata from the Hugging Face Hub (or any ``HF_ENDPOINT``).

Per (model, revision, token) the client makes two HTTP requests, both through
``huggingface_hub``'s own session (so ``HF_HUB_OFFLINE``, user agent and error parsing behave as
in vLLM's download):

1. ``HfApi.model_info`` → ``GET {endpoint}/api/models/{id}`` (or ``.../revision/{rev}``): the
   commit sha the revision resolves to, gated/private flags and the safetensors parameter counts.
2. ``GET {endpoint}/{id}/resolve/{sha}/config.json`` (the URL ``hf_hub_url`` builds): the
   architecture. This is a file download like the one the serving pod makes, so it is where the
   Hub enforces gated access (401/403 ``X-Error-Code: GatedRepo``) — the token check.

``HfApi.auth_check`` is not used: in huggingface_hub 2.4 it takes no timeout, and step 2 checks
the same access. A missing token means *anonymous* (``token=False``), not the token stored on
this machine, because the pod only gets the token the spec gives it.

Results (and permanent errors) are cached per (endpoint, model, revision, token fingerprint) in
an in-process TTL LRU (:data:`DEFAULT_CACHE`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from huggingface_hub import HfApi, get_session, hf_hub_url, hf_raise_for_status
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils._headers import build_hf_headers

from inference_core.errors import (
    HubUnavailable,
    ModelAccessDenied,
    ModelNotFound,
    PreflightError,
)
from inference_core.preflight.cache import TtlLruCache, cache_key

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
TOKEN_HINT = "set spec.model.token or spec.model.tokenSecret"


@dataclass(frozen=True)
class HubModel:
    """What preflight learned about one model revision from the Hub."""

    model_id: str
    revision: str
    commit_sha: str
    gated: bool
    private: bool
    config: Mapping[str, Any] = field(repr=False)
    parameters: Mapping[str, int]


DEFAULT_CACHE: TtlLruCache[HubModel] = TtlLruCache()


def clear_hub_cache() -> None:
    """Empty the process-wide Hub cache (tests, long-running schedulers after a token change)."""
    DEFAULT_CACHE.clear()


def offline_mode() -> bool:
    """True when ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set now, or was at import."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return True
    return bool(hf_constants.is_offline_mode())


def default_endpoint() -> str:
    """``HF_ENDPOINT`` as set now (huggingface_hub reads it only at import), else the Hub."""
    return (os.environ.get("HF_ENDPOINT") or hf_constants.ENDPOINT).rstrip("/")


class HubClient:
    """Fetches :class:`HubModel` records, caching them; maps client errors to preflight errors."""

    def __init__(
        self, endpoint: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
        cache: TtlLruCache[HubModel] | None = None,
    ) -> None:
        self.endpoint = (endpoint or default_endpoint()).rstrip("/")
        self.timeout = timeout
        self.cache = DEFAULT_CACHE if cache is None else cache
        self._api = HfApi(endpoint=self.endpoint)
        self._lock = threading.Lock()
        self.requests_made = 0

    def fetch(
        self, model_id: str, revision: str | None = None, token: str | None = None
    ) -> HubModel:
        """Resolve ``revision`` to a commit and read config + parameter counts (cached)."""
        key = cache_key(self.endpoint, model_id, revision, token)
        cached = self.cache.get(key)  # re-raises a cached permanent error
        if cached is not None:
            return cached
        try:
            model = self._fetch_uncached(model_id, revision, token)
        except PreflightError as e:
            if not e.transient:
                self.cache.put_error(key, e)
            raise
        self.cache.put(key, model)
        return model

    def _count(self) -> None:
        with self._lock:
            self.requests_made += 1

    def _fetch_uncached(self, model_id: str, revision: str | None, token: str | None) -> HubModel:
        where = _where(model_id, revision)
        if offline_mode():
            raise HubUnavailable(
                f"{where}: offline mode is on (HF_HUB_OFFLINE), so the Hub cannot be asked whether "
                "the model exists, which commit the revision is and how big it is; unset "
                "HF_HUB_OFFLINE to run the model preflight, or skip it for this deploy"
            )
        auth: bool | str = token or False
        try:
            self._count()
            info = self._api.model_info(
                model_id, revision=revision, token=auth, timeout=self.timeout
            )
            sha = str(info.sha or "")
            if not sha:
                raise HubUnavailable(f"{where}: the Hub answered without a commit sha")
            self._count()
            url = hf_hub_url(model_id, "config.json", revision=sha, endpoint=self.endpoint)
            response = get_session().get(
                url, headers=build_hf_headers(token=auth), timeout=self.timeout
            )
            hf_raise_for_status(response)
            config = response.json()
        except PreflightError:
            raise
        except Exception as e:
            raise translate_hub_error(e, model_id, revision, token_given=bool(token),
                                      endpoint=self.endpoint) from e
        if not isinstance(config, dict):
            raise ModelNotFound(f"{where}: config.json at commit {sha} is not a JSON object")
        params: dict[str, int] = {}
        if info.safetensors is not None:
            params = {str(k): int(v) for k, v in (info.safetensors.parameters or {}).items()}
        log.debug("hub: %s resolved to %s", where, sha)
        return HubModel(
            model_id=model_id,
            revision=revision or "main",
            commit_sha=sha,
            gated=bool(info.gated),
            private=bool(info.private),
            config=MappingProxyType(config),
            parameters=MappingProxyType(params),
        )


def _where(model_id: str, revision: str | None) -> str:
    return f"model {model_id!r} (revision {revision or 'main'!r})"


def translate_hub_error(
    e: BaseException, model_id: str, revision: str | None, *, token_given: bool, endpoint: str,
) -> PreflightError:
    """Map a huggingface_hub / HTTP exception to a preflight error with a clear message."""
    where = _where(model_id, revision)
    page = f"https://huggingface.co/{model_id}"
    status = _status(e)
    if isinstance(e, OfflineModeIsEnabled):
        return HubUnavailable(f"{where}: offline mode is on (HF_HUB_OFFLINE); unset it to run "
                              "the model preflight")
    if isinstance(e, RevisionNotFoundError):
        return ModelNotFound(
            f"{where}: revision {revision or 'main'!r} does not exist (HTTP {status} "
            f"RevisionNotFound); use an existing branch, tag or commit sha (see {page}/tree/main)"
        )
    if isinstance(e, GatedRepoError):
        if status == 403:
            return ModelAccessDenied(
                f"{where}: the model is gated and the token's account has no access yet (HTTP 403 "
                f"GatedRepo); request access at {page} and wait for approval, or use a token of "
                "an account that has access"
            )
        return ModelAccessDenied(
            f"{where}: the model is gated and no valid token was given (HTTP {status} GatedRepo); "
            f"request access at {page}, then {TOKEN_HINT} to a token of an account with access"
        )
    if isinstance(e, RemoteEntryNotFoundError):
        return ModelNotFound(
            f"{where}: the repository has no config.json (HTTP {status} EntryNotFound); vLLM needs "
            "a transformers-style model repository"
        )
    if isinstance(e, RepositoryNotFoundError):
        why = ("the token has no access to it" if token_given
               else f"no token was given; if it is private, {TOKEN_HINT}")
        return ModelNotFound(
            f"{where}: not found on the Hub (HTTP {status} RepoNotFound); check the id "
            f"(owner/name, case-sensitive) — or the repository is private and {why}"
        )
    if isinstance(e, HfHubHTTPError):
        return _http_status_error(e, where, status, endpoint, token_given)
    if isinstance(e, OSError) or _is_transport_error(e):
        return HubUnavailable(
            f"{where}: cannot reach the Hub at {endpoint} ({type(e).__name__}); check the network, "
            "proxy and HF_ENDPOINT, then retry"
        )
    if isinstance(e, ValueError):  # invalid JSON, invalid repo id
        return ModelNotFound(f"{where}: {e}")
    return HubUnavailable(f"{where}: unexpected error talking to the Hub ({type(e).__name__})")


def _http_status_error(
    e: HfHubHTTPError, where: str, status: int | None, endpoint: str, token_given: bool,
) -> PreflightError:
    if status == 401:
        if not token_given:
            return ModelAccessDenied(f"{where}: the Hub requires authentication (HTTP 401); "
                                     f"{TOKEN_HINT}")
        return ModelAccessDenied(
            f"{where}: the Hugging Face token was rejected (HTTP 401, invalid credentials): it is "
            "wrong, expired or revoked; create a read token at https://huggingface.co/settings/"
            f"tokens and {TOKEN_HINT}"
        )
    if status == 403:
        return ModelAccessDenied(
            f"{where}: access forbidden (HTTP 403); the token lacks read permission on this "
            "repository (a fine-grained token needs read access to it, or to public gated repos)"
        )
    if status == 429:
        retry = _retry_after(e)
        when = f" after {retry} s" if retry is not None else " later"
        tip = "" if token_given else "; authenticated requests get a higher limit"
        return HubUnavailable(f"{where}: rate-limited by the Hub at {endpoint} (HTTP 429); "
                              f"retry{when}{tip}")
    if status is not None and status >= 500:
        return HubUnavailable(f"{where}: the Hub at {endpoint} failed (HTTP {status}); retry later")
    return HubUnavailable(f"{where}: the Hub at {endpoint} answered HTTP {status}")


def _is_transport_error(e: BaseException) -> bool:
    """Connection/timeout errors of the HTTP library huggingface_hub uses (httpx2 in 2.x,
    requests in older releases), recognised without importing it."""
    top = type(e).__module__.split(".", 1)[0]
    return top in {"httpx", "httpx2", "httpcore", "requests", "urllib3"}


def _status(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def _retry_after(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    headers: Any = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After")
    if raw is None:
        rl = headers.get("RateLimit") or ""
        for part in str(rl).split(";"):
            if part.strip().startswith("t="):
                raw = part.strip()[2:]
    try:
        return int(str(raw)) if raw is not None else None
    except ValueError:
        return None
