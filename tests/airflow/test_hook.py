"""InferenceHook: verbs, paths, bodies, timeouts, retries and error mapping (no network)."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from airflow_provider.hooks.inference import InferenceHook
from airflow_provider.hooks.retry import RetryPolicy
from inference_core.errors import DeployError, KubeApiError

KSVC = {
    "apiVersion": "serving.knative.dev/v1", "kind": "Service",
    "metadata": {"name": "iris", "namespace": "team-a"},
    "spec": {"template": {"spec": {"containers": [{"image": "x"}]}}},
}


class _Resp:
    def __init__(self, body: Any, status: int = 200) -> None:
        self.data = json.dumps(body).encode()
        self.status = status


def _api_error(status: int, reason: str = "", headers: dict[str, str] | None = None
               ) -> ApiException:
    e = ApiException(status=status, reason=reason)
    e.body = json.dumps({"kind": "Status", "reason": reason, "message": f"{reason} happened"})
    e.headers = headers or {}
    return e


def _hook(responses: list[Any], **kw: Any) -> tuple[InferenceHook, mock.Mock]:
    hook = InferenceHook("k", retry=RetryPolicy(attempts=4, budget_s=5, base_wait_s=0.001,
                                                max_wait_s=0.002), **kw)
    client = mock.Mock()
    client.call_api.side_effect = responses
    hook.__dict__["api_client"] = client  # cached_property slot: no connection lookup
    return hook, client


def test_apply_is_server_side_apply_with_field_manager_and_timeout() -> None:
    hook, client = _hook([_Resp({**KSVC, "metadata": {**KSVC["metadata"], "generation": 3}})],
                         request_timeout=7.5)
    stored = hook.apply(KSVC, force=True)
    assert stored["metadata"]["generation"] == 3
    (path, verb), kwargs = client.call_api.call_args
    assert verb == "PATCH"
    assert path == "/apis/serving.knative.dev/v1/namespaces/team-a/services/iris"
    assert kwargs["query_params"] == [("fieldManager", "inference-stacks"), ("force", "true")]
    assert kwargs["header_params"]["Content-Type"] == "application/apply-patch+yaml"
    assert kwargs["body"] == KSVC
    assert kwargs["_request_timeout"] == 7.5
    assert kwargs["auth_settings"] == ["BearerToken"]


def test_core_group_paths_and_verbs() -> None:
    hook, client = _hook([_Resp({"items": [{"metadata": {"name": "p"}}]}), _Resp({})])
    assert hook.list("v1", "Pod", "team-a", label_selector="a=b") == [{"metadata": {"name": "p"}}]
    assert hook.delete("v1", "Secret", "tok", "team-a") is True
    calls = client.call_api.call_args_list
    assert calls[0].args == ("/api/v1/namespaces/team-a/pods", "GET")
    assert calls[0].kwargs["query_params"] == [("labelSelector", "a=b")]
    assert calls[1].args == ("/api/v1/namespaces/team-a/secrets/tok", "DELETE")
    assert calls[1].kwargs["body"]["propagationPolicy"] == "Background"
    assert len(calls) == 2  # no merge patches: every write is a server-side apply
    assert all(c.kwargs["_request_timeout"] == 30.0 for c in calls)


def test_5xx_and_connection_resets_are_retried_then_succeed() -> None:
    hook, client = _hook([_api_error(503, "ServiceUnavailable"),
                          urllib3.exceptions.ProtocolError("Connection reset by peer"),
                          _Resp({"metadata": {"name": "iris"}})])
    assert hook.get("serving.knative.dev/v1", "Service", "iris", "team-a") is not None
    assert client.call_api.call_count == 3


def test_429_waits_what_retry_after_asks() -> None:
    hook, client = _hook([_api_error(429, "TooManyRequests", {"Retry-After": "0.05"}),
                          _Resp({})])
    with mock.patch("tenacity.nap.time.sleep") as sleep:
        hook.apply(KSVC)
    assert client.call_api.call_count == 2
    assert sleep.call_args.args[0] == pytest.approx(0.05)


def test_retry_budget_is_bounded_and_error_is_ours() -> None:
    hook, client = _hook([_api_error(500, "InternalError")] * 10)
    with pytest.raises(KubeApiError) as info:
        hook.apply(KSVC)
    assert client.call_api.call_count == 4
    assert info.value.status == 500 and info.value.transient
    assert "PATCH /apis/serving.knative.dev/v1/namespaces/team-a/services/iris" in str(info.value)
    assert not isinstance(info.value, ApiException)


def test_client_errors_are_not_retried() -> None:
    hook, client = _hook([_api_error(409, "Conflict"), _Resp({})])
    with pytest.raises(KubeApiError) as info:
        hook.apply(KSVC)
    assert client.call_api.call_count == 1
    assert info.value.status == 409 and not info.value.transient


def test_get_and_delete_treat_404_as_absent() -> None:
    hook, _ = _hook([_api_error(404, "NotFound"), _api_error(404, "NotFound")])
    assert hook.get("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "x", "ns") is None
    assert hook.delete("v1", "Service", "x-leader", "ns") is False


def test_secret_errors_do_not_echo_server_message() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "tok", "namespace": "ns"}, "stringData": {"HF_TOKEN": "hf_x"}}
    err = _api_error(422, "Invalid")
    err.body = json.dumps({"reason": "Invalid", "message": "bad value hf_x"})
    hook, _ = _hook([err])
    with pytest.raises(KubeApiError) as info:
        hook.apply(secret)
    assert "hf_x" not in str(info.value)


def test_unknown_kind_is_refused_before_any_call() -> None:
    hook, client = _hook([])
    with pytest.raises(DeployError, match="not in the resource table"):
        hook.apply({"apiVersion": "example.com/v1", "kind": "Widget",
                    "metadata": {"name": "w", "namespace": "n"}})
    client.call_api.assert_not_called()


def test_bad_connection_config_becomes_deploy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": "/nonexistent/kubeconfig"}}))
    hook = InferenceHook("broken")
    with pytest.raises(DeployError, match="cannot load the Kubernetes configuration"):
        hook.get("v1", "Pod", "p", "ns")
