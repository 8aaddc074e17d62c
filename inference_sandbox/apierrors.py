"""API errors in the exact ``Status`` shape the Kubernetes API server returns."""

from __future__ import annotations

from typing import Any

from inference_sandbox.resources import ResourceType


class ApiError(Exception):
    """An error answered as a ``v1 Status`` with HTTP ``code``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        """The ``Status`` object (JSON-able)."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        body["code"] = self.code
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(rt: ResourceType, name: str | None, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.plural
    details.update(extra)
    return details


def not_found(rt: ResourceType, name: str) -> ApiError:
    """``services.serving.knative.dev "x" not found``."""
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found',
                    details=_details(rt, name))


def namespace_not_found(namespace: str) -> ApiError:
    """Creating in a namespace that does not exist."""
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                    details={"name": namespace, "kind": "namespaces"})


def already_exists(rt: ResourceType, name: str) -> ApiError:
    """``pods "x" already exists``."""
    return ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists',
                    details=_details(rt, name))


def conflict(rt: ResourceType, name: str) -> ApiError:
    """Optimistic-concurrency failure (stale ``resourceVersion``)."""
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details=_details(rt, name),
    )


def invalid(rt: ResourceType, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 ``Invalid`` with ``(field, message)`` causes, formatted like the API server."""
    parts = [f"{field}: {message}" if field else message for field, message in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qualified = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    return ApiError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {summary}',
        details=_details(
            rt, name,
            kind=rt.kind,
            causes=[{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes],
        ),
    )


def bad_request(message: str) -> ApiError:
    """400 ``BadRequest``."""
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message: str) -> ApiError:
    """405 ``MethodNotAllowed``."""
    return ApiError(405, "MethodNotAllowed", message)


def gone(message: str, *, reason: str = "Expired") -> ApiError:
    """410 for a resource version that has been compacted away."""
    return ApiError(410, reason, message)


def too_many_requests(message: str, retry_after: int) -> ApiError:
    """429 with ``Retry-After``."""
    return ApiError(429, "TooManyRequests", message,
                    details={"retryAfterSeconds": retry_after},
                    headers={"Retry-After": str(retry_after)})


def webhook_denied(webhook: str, message: str) -> ApiError:
    """An admission webhook refused the object (Knative's validation webhook)."""
    # The API server keeps the webhook's (empty) reason and forces code 400.
    return ApiError(400, "", f'admission webhook "{webhook}" denied the request: {message}')
