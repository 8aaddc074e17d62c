"""Model preflight against the local Hub emulator: resolution, access, refusals, caching."""

from __future__ import annotations

import socket

import pytest

from inference_core.errors import (
    HubUnavailable,
    ModelAccessDenied,
    ModelDoesNotFit,
    ModelNotFound,
    UnsupportedModel,
)
from inference_core.preflight import (
    GIB,
    GpuBudget,
    HubClient,
    ModelRequest,
    TtlLruCache,
    VllmSettings,
    check_model,
)
from inference_sandbox.hub import (
    GATED_8B,
    LARGE_70B,
    MISSING,
    PRIVATE_7B,
    PUBLIC_SMALL,
    TOKEN_GRANTED,
    TOKEN_INVALID,
    TOKEN_NO_ACCESS,
    UNSUPPORTED,
    HubEmulator,
    fake_sha,
)

IMAGE = "vllm/vllm-openai:v0.11.0"
H100 = GpuBudget(gpus_per_pod=1, memory_per_device_bytes=80 * GIB)
VLLM = VllmSettings(vllm_image=IMAGE)


def test_public_model_resolves_and_pins_commit(hub: HubEmulator) -> None:
    report = check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM)
    sha = hub.repos[PUBLIC_SMALL].refs["main"]
    assert report.commit_sha == sha
    assert report.vllm_args()[:2] == ["--revision", sha]
    assert report.architecture == "Qwen2ForCausalLM"
    assert report.parameter_count == 494032768
    assert report.weight_dtype == "bfloat16"
    assert report.max_model_len == 32768
    assert (report.tensor_parallel_size, report.pipeline_parallel_size) == (1, 1)
    assert any("tensor_parallel_size filled in: 1" in n for n in report.notes)
    assert report.architectures_list == IMAGE
    assert report.required_bytes_per_gpu <= report.available_bytes_per_gpu == int(72 * GIB)


@pytest.mark.parametrize("revision", ["v1.0", fake_sha(PUBLIC_SMALL, "v1.0")])
def test_tag_and_sha_resolve_to_the_tag_commit(hub: HubEmulator, revision: str) -> None:
    report = check_model(ModelRequest(PUBLIC_SMALL, revision=revision), H100, VLLM)
    assert report.commit_sha == fake_sha(PUBLIC_SMALL, "v1.0")
    assert report.revision == revision
    assert hub.count("/revision/") == 1


def test_unknown_revision_refused(hub: HubEmulator) -> None:
    with pytest.raises(ModelNotFound) as err:
        check_model(ModelRequest(PUBLIC_SMALL, revision="v9.9"), H100, VLLM)
    msg = str(err.value)
    assert "revision 'v9.9' does not exist (HTTP 404 RevisionNotFound)" in msg
    assert f"https://huggingface.co/{PUBLIC_SMALL}/tree/main" in msg


def test_gated_model_without_token(hub: HubEmulator) -> None:
    with pytest.raises(ModelAccessDenied) as err:
        check_model(ModelRequest(GATED_8B), H100, VLLM)
    msg = str(err.value)
    assert f"model {GATED_8B!r} (revision 'main')" in msg
    assert "gated and no valid token was given (HTTP 401 GatedRepo)" in msg
    assert f"request access at https://huggingface.co/{GATED_8B}" in msg
    assert "set spec.model.token or spec.model.tokenSecret" in msg


def test_gated_model_token_without_access(hub: HubEmulator) -> None:
    with pytest.raises(ModelAccessDenied) as err:
        check_model(ModelRequest(GATED_8B, token=TOKEN_NO_ACCESS), H100, VLLM)
    msg = str(err.value)
    assert "has no access yet (HTTP 403 GatedRepo)" in msg
    assert f"request access at https://huggingface.co/{GATED_8B}" in msg
    assert TOKEN_NO_ACCESS not in msg


def test_invalid_token(hub: HubEmulator) -> None:
    with pytest.raises(ModelAccessDenied) as err:
        check_model(ModelRequest(GATED_8B, token=TOKEN_INVALID), H100, VLLM)
    msg = str(err.value)
    assert "token was rejected (HTTP 401, invalid credentials)" in msg
    assert "https://huggingface.co/settings/tokens" in msg
    assert TOKEN_INVALID not in msg and TOKEN_INVALID not in repr(err.value.__cause__)


def test_gated_model_with_granted_token(hub: HubEmulator) -> None:
    report = check_model(ModelRequest(GATED_8B, token=TOKEN_GRANTED), H100, VLLM)
    assert report.gated is True
    assert report.kv_bytes_per_token == 131072  # 2 x 32 layers x 8 KV heads x 128 x 2 bytes
    assert report.max_model_len == 131072
    assert report.kv_cache_bytes == 16 * GIB
    assert f"{report.weight_bytes / GIB:.1f}" == "15.0"
    assert all(r.authenticated for r in hub.requests)


@pytest.mark.parametrize(
    ("token", "status", "why"),
    [
        (None, 401, "no token was given; if it is private, set spec.model.token"),
        (TOKEN_NO_ACCESS, 404, "the token has no access to it"),
    ],
)
def test_missing_model(hub: HubEmulator, token: str | None, status: int, why: str) -> None:
    with pytest.raises(ModelNotFound) as err:
        check_model(ModelRequest(MISSING, token=token), H100, VLLM)
    msg = str(err.value)
    assert f"model {MISSING!r} (revision 'main'): not found on the Hub (HTTP {status} " in msg
    assert "check the id (owner/name, case-sensitive)" in msg
    assert why in msg


def test_private_model_needs_a_token_with_access(hub: HubEmulator) -> None:
    with pytest.raises(ModelNotFound, match="repository is private and no token was given"):
        check_model(ModelRequest(PRIVATE_7B), H100, VLLM)
    report = check_model(ModelRequest(PRIVATE_7B, token=TOKEN_GRANTED), H100, VLLM)
    assert report.architecture == "MistralForCausalLM"


def test_unsupported_architecture_refused(hub: HubEmulator) -> None:
    with pytest.raises(UnsupportedModel) as err:
        check_model(ModelRequest(UNSUPPORTED), H100, VLLM)
    msg = str(err.value)
    assert "architecture RetNetForCausalLM is not supported by vllm/vllm-openai:v0.11.0" in msg
    assert "vllm_architectures.yaml" in msg


def test_unknown_image_is_a_note_not_a_refusal(hub: HubEmulator) -> None:
    vllm = VllmSettings(vllm_image="registry.example.com/custom/vllm:dev")
    report = check_model(ModelRequest(UNSUPPORTED), H100, vllm)
    assert report.architectures_list is None
    assert any("no supported-architecture list for image" in n and "RetNetForCausalLM" in n
               for n in report.notes)
    assert report.weight_dtype == "float16 (auto from float32)"


def test_70b_on_one_gpu_refused_with_tp_suggestion(hub: HubEmulator) -> None:
    with pytest.raises(ModelDoesNotFit) as err:
        check_model(ModelRequest(LARGE_70B), H100, VLLM)
    msg = str(err.value)
    assert "needs 173.4 GiB per GPU with TP=1 PP=1" in msg
    assert "weights 131.4 GiB + KV cache 40.0 GiB for 131072 tokens + overhead 2.0 GiB" in msg
    assert "each GPU offers 72.0 GiB (80.0 GiB x gpu_memory_utilization 0.9)" in msg
    assert "use tensor parallel size 4 (4 GPUs per pod)" in msg


def test_70b_fits_with_tp4_and_with_tp2_at_short_context(hub: HubEmulator) -> None:
    four = GpuBudget(gpus_per_pod=4, memory_per_device_bytes=80 * GIB)
    report = check_model(ModelRequest(LARGE_70B), four, VLLM)
    assert report.tensor_parallel_size == 4
    assert f"{report.required_bytes_per_gpu / GIB:.1f}" == "44.9"
    two = GpuBudget(gpus_per_pod=2, memory_per_device_bytes=80 * GIB)
    with pytest.raises(ModelDoesNotFit, match="use tensor parallel size 4"):
        check_model(ModelRequest(LARGE_70B), two, VLLM)
    short = VllmSettings(vllm_image=IMAGE, max_model_len=8192)
    assert check_model(ModelRequest(LARGE_70B), two, short).tensor_parallel_size == 2


def test_70b_on_small_gpus_suggests_group_size(hub: HubEmulator) -> None:
    l4 = GpuBudget(gpus_per_pod=8, memory_per_device_bytes=24 * GIB)
    with pytest.raises(ModelDoesNotFit) as err:
        check_model(ModelRequest(LARGE_70B), l4, VLLM)
    msg = str(err.value)
    assert ("distributed inference with 2 pods x 8 GPUs (pipeline parallel size 2, LWS size 2)"
            in msg)
    assert "lower max_model_len to at most" in msg
    group = GpuBudget(gpus_per_pod=8, pods_per_replica=2, memory_per_device_bytes=24 * GIB)
    report = check_model(ModelRequest(LARGE_70B), group, VLLM)
    assert (report.tensor_parallel_size, report.pipeline_parallel_size) == (8, 2)


def test_cache_avoids_second_hub_round_trip(hub: HubEmulator) -> None:
    for _ in range(3):
        check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM)
    assert hub.request_count == 2  # model_info + config.json, once
    check_model(ModelRequest(PUBLIC_SMALL, token=TOKEN_GRANTED), H100, VLLM)
    assert hub.request_count == 4  # another token is another cache key


def test_permanent_errors_are_cached_transient_are_not(hub: HubEmulator) -> None:
    for _ in range(2):
        with pytest.raises(ModelNotFound):
            check_model(ModelRequest(MISSING), H100, VLLM)
    assert hub.request_count == 1
    hub.faults.rate_limit(retry_after=30)
    with pytest.raises(HubUnavailable) as err:
        check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM)
    assert err.value.transient
    assert "rate-limited by the Hub" in str(err.value) and "(HTTP 429)" in str(err.value)
    assert "retry after 30 s" in str(err.value)
    assert "authenticated requests get a higher limit" in str(err.value)
    assert check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM).architecture == "Qwen2ForCausalLM"


def test_cache_entries_expire(hub: HubEmulator) -> None:
    now = [0.0]
    client = HubClient(cache=TtlLruCache(ttl=60, clock=lambda: now[0]))
    check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM, hub=client)
    check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM, hub=client)
    assert client.requests_made == 2
    now[0] = 61.0
    check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM, hub=client)
    assert client.requests_made == 4 == hub.request_count


def test_server_error_is_transient(hub: HubEmulator) -> None:
    hub.faults.server_error(status=503)
    with pytest.raises(HubUnavailable, match=r"failed \(HTTP 503\); retry later"):
        check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM)


def test_network_failure(hub: HubEmulator) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HubClient(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(HubUnavailable) as err:
        check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM, hub=client)
    assert f"cannot reach the Hub at http://127.0.0.1:{port}" in str(err.value)
    assert "check the network, proxy and HF_ENDPOINT" in str(err.value)


def test_offline_mode(hub: HubEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailable) as err:
        check_model(ModelRequest(PUBLIC_SMALL), H100, VLLM)
    assert "offline mode is on (HF_HUB_OFFLINE)" in str(err.value)
    assert "unset HF_HUB_OFFLINE" in str(err.value)
    assert hub.request_count == 0


def test_token_never_in_repr_keys_or_reports(hub: HubEmulator) -> None:
    client = HubClient()
    req = ModelRequest(GATED_8B, token=TOKEN_GRANTED)
    report = check_model(req, H100, VLLM, hub=client)
    assert TOKEN_GRANTED not in repr(req)
    assert TOKEN_GRANTED not in repr(report) and TOKEN_GRANTED not in str(report.to_dict())
    assert all(TOKEN_GRANTED not in str(key) for key in client.cache._data)
