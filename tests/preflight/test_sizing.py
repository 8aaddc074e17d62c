"""GPU memory arithmetic and the offline part of model preflight (no Hub)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from inference_core.errors import ModelDoesNotFit, UnsupportedModel
from inference_core.preflight import (
    GIB,
    GpuBudget,
    HubModel,
    VllmSettings,
    assess,
    known_images,
    sizing,
    supported_architectures,
)
from inference_core.preflight.architectures import resolve_image
from inference_core.preflight.sizing import Architecture
from inference_sandbox.hub import GATED_8B, LARGE_70B, PUBLIC_SMALL, default_repos

REPOS = {r.repo_id: r for r in default_repos()}
IMAGE = "vllm/vllm-openai:v0.11.0"


def arch(repo_id: str) -> Architecture:
    return Architecture.from_config(REPOS[repo_id].config)


def meta(repo_id: str, *, config: dict[str, Any] | None = None,
         parameters: dict[str, int] | None = None) -> HubModel:
    repo = REPOS[repo_id]
    return HubModel(repo_id, "main", repo.refs["main"], bool(repo.gated), repo.private,
                    MappingProxyType(config or repo.config),
                    MappingProxyType(repo.parameters if parameters is None else parameters))


@pytest.mark.parametrize(("repo_id", "per_token"), [
    (PUBLIC_SMALL, 2 * 24 * 2 * 64 * 2),
    (GATED_8B, 2 * 32 * 8 * 128 * 2),
    (LARGE_70B, 2 * 80 * 8 * 128 * 2),
])
def test_kv_bytes_per_token(repo_id: str, per_token: int) -> None:
    assert sizing.kv_bytes_per_token(arch(repo_id), 2) == per_token


def test_kv_per_gpu_splits_heads_and_layers_and_replicates_kv_heads() -> None:
    a = arch(LARGE_70B)
    assert sizing.kv_bytes_per_token(a, 2, tp=4) == 2 * 80 * 2 * 128 * 2
    assert sizing.kv_bytes_per_token(a, 2, tp=16) == 2 * 80 * 1 * 128 * 2  # replicated
    assert sizing.kv_bytes_per_token(a, 2, tp=8, pp=3) == 2 * 27 * 1 * 128 * 2


def test_weight_bytes_by_dtype_and_quantization() -> None:
    a, params = arch(LARGE_70B), REPOS[LARGE_70B].parameters
    assert sizing.weight_bytes(params, a, dtype=None, quantization=None) == (
        2 * 70553706496, "bfloat16")
    assert sizing.weight_bytes(params, a, dtype="float32", quantization=None)[0] == 4 * 70553706496
    assert sizing.weight_bytes(params, a, dtype=None, quantization="fp8") == (
        70553706496, "fp8 8-bit")
    awq = sizing.weight_bytes(params, a, dtype=None, quantization="awq")
    assert awq == (int(70553706496 * 0.5 * sizing.FOUR_BIT_OVERHEAD), "awq 4-bit")


def test_prequantized_checkpoint_counts_stored_bytes() -> None:
    cfg = dict(REPOS[GATED_8B].config, quantization_config={"quant_method": "awq", "bits": 4})
    a = Architecture.from_config(cfg)
    stored = {"I32": 879_755_264, "F16": 1_050_673_152}
    size, label = sizing.weight_bytes(stored, a, dtype=None, quantization=None)
    assert size == 4 * 879_755_264 + 2 * 1_050_673_152
    assert label == "awq (pre-quantized)"


def test_parameter_estimate_from_config_is_close() -> None:
    for repo_id in (GATED_8B, LARGE_70B):
        real = sum(REPOS[repo_id].parameters.values())
        assert abs(arch(repo_id).estimated_parameters() - real) / real < 0.01


def test_estimate_used_without_safetensors_metadata() -> None:
    report = assess(meta(GATED_8B, parameters={}),
                    GpuBudget(gpus_per_pod=1, memory_per_device_bytes=80 * GIB),
                    VllmSettings(vllm_image=IMAGE))
    assert report.parameter_count == arch(GATED_8B).estimated_parameters()
    assert any("parameter count estimated from config.json" in n for n in report.notes)


def test_smallest_tp_depends_on_context_length() -> None:
    a, w = arch(LARGE_70B), 2 * 70553706496
    avail = int(80 * GIB * 0.9)
    assert sizing.smallest_fitting_tp(w, a, 2, 131072, avail) == 4
    assert sizing.smallest_fitting_tp(w, a, 2, 8192, avail) == 2
    assert sizing.smallest_fitting_tp(w, a, 2, 131072, int(16 * GIB * 0.9)) is None
    assert sizing.smallest_fitting_pp(w, a, 2, 131072, int(16 * GIB * 0.9), tp=8) == 2


def test_fraction_requires_utilisation_within_share() -> None:
    budget = GpuBudget(gpus_per_pod=1, memory_per_device_bytes=24 * GIB, fraction=0.5)
    with pytest.raises(ModelDoesNotFit) as err:
        assess(meta(PUBLIC_SMALL), budget, VllmSettings(vllm_image=IMAGE))
    msg = str(err.value)
    assert "gpu_memory_utilization 0.9 exceeds the GPU fraction 0.5" in msg
    assert "KAI does not isolate GPU memory" in msg and "at most 0.50" in msg
    ok = GpuBudget(gpus_per_pod=1, memory_per_device_bytes=24 * GIB, fraction=0.5,
                   gpu_memory_utilization=0.5)
    report = assess(meta(PUBLIC_SMALL), ok, VllmSettings(vllm_image=IMAGE))
    assert report.available_bytes_per_gpu == 12 * GIB


def test_memory_request_converted_to_share() -> None:
    budget = GpuBudget(gpus_per_pod=1, memory_per_device_bytes=80 * GIB,
                       memory_request_bytes=20 * GIB, gpu_memory_utilization=0.3)
    with pytest.raises(ModelDoesNotFit, match=r"GPU memory request 20.0 GiB \(0.25 of a 80.0 GiB"):
        assess(meta(PUBLIC_SMALL), budget, VllmSettings(vllm_image=IMAGE))


def test_fraction_too_small_for_8b_suggests_whole_gpus() -> None:
    budget = GpuBudget(gpus_per_pod=1, memory_per_device_bytes=24 * GIB, fraction=0.5,
                       gpu_memory_utilization=0.5)
    with pytest.raises(ModelDoesNotFit) as err:
        assess(meta(GATED_8B), budget, VllmSettings(vllm_image=IMAGE, max_model_len=4096))
    assert "each GPU offers 12.0 GiB" in str(err.value)
    assert "request whole GPUs instead of a fraction" in str(err.value)


def test_short_context_hint_when_only_kv_is_too_big() -> None:
    l4 = GpuBudget(gpus_per_pod=1, memory_per_device_bytes=24 * GIB)
    with pytest.raises(ModelDoesNotFit) as err:
        assess(meta(GATED_8B), l4, VllmSettings(vllm_image=IMAGE))
    msg = str(err.value)
    assert "needs 33.0 GiB per GPU" in msg and "each GPU offers 21.6 GiB" in msg
    assert "use tensor parallel size 2 (2 GPUs per pod)" in msg
    longest = (int(24 * GIB * 0.9) - 2 * 8030261248 - sizing.ACTIVATION_OVERHEAD_BYTES) // 131072
    assert f"lower max_model_len to at most {longest}" in msg


def test_tp_must_divide_heads_and_match_devices() -> None:
    two = GpuBudget(gpus_per_pod=4, memory_per_device_bytes=24 * GIB)
    with pytest.raises(ModelDoesNotFit, match="does not divide the 14 attention heads; use one "
                                              "of 1, 2"):
        assess(meta(PUBLIC_SMALL), two, VllmSettings(vllm_image=IMAGE))
    with pytest.raises(ModelDoesNotFit, match=r"tensor_parallel_size 8 x pipeline_parallel_size "
                                              r"1 = 8 GPUs, but the spec gives 4"):
        assess(meta(GATED_8B), two, VllmSettings(vllm_image=IMAGE, tensor_parallel_size=8))


def test_explicit_parallel_sizes_are_kept() -> None:
    four = GpuBudget(gpus_per_pod=4, memory_per_device_bytes=80 * GIB)
    report = assess(meta(GATED_8B), four, VllmSettings(
        vllm_image=IMAGE, tensor_parallel_size=2, pipeline_parallel_size=2))
    assert (report.tensor_parallel_size, report.pipeline_parallel_size) == (2, 2)
    assert not any("filled in" in n for n in report.notes)


def test_config_without_architecture_refused() -> None:
    cfg = {k: v for k, v in REPOS[GATED_8B].config.items() if k != "architectures"}
    with pytest.raises(UnsupportedModel, match=r"config\.json names no architecture"):
        assess(meta(GATED_8B, config=cfg),
               GpuBudget(gpus_per_pod=1, memory_per_device_bytes=80 * GIB),
               VllmSettings(vllm_image=IMAGE))


def test_architecture_data_lookup() -> None:
    assert IMAGE in known_images()
    listed = supported_architectures(IMAGE)
    assert listed is not None and {"LlamaForCausalLM", "Qwen2ForCausalLM"} <= listed
    assert resolve_image("docker.io/vllm/vllm-openai:v0.11.0@sha256:" + "0" * 64) == IMAGE
    assert supported_architectures("vllm/vllm-openai:v0.0.1") is None


def test_gib_formatting() -> None:
    assert sizing.gib(141107412992) == "131.4 GiB"
