"""The maintainer tool that regenerates an image's architecture list from vLLM's registry."""

from __future__ import annotations

import importlib.util
import io
import tarfile
from pathlib import Path
from types import ModuleType

import pytest
import yaml

TOOL = Path(__file__).resolve().parents[2] / "scripts" / "vllm_architectures.py"
REGISTRY = '''
_TEXT_GENERATION_MODELS = {"LlamaForCausalLM": ("llama", "X"), "Phi3SmallForCausalLM": ("p", "Y")}
_EMBEDDING_MODELS = {"BertModel": ("bert", "B"), "LlamaForCausalLM": ("llama", "X"), **{}}
_CROSS_ENCODER_MODELS = {"BertForSequenceClassification": ("bert", "C")}
_MULTIMODAL_MODELS = {"LlavaForConditionalGeneration": ("llava", "L")}
_SPECULATIVE_DECODING_MODELS = {"EagleLlamaForCausalLM": ("eagle", "E")}
_TRANSFORMERS_SUPPORTED_MODELS = {"SmolLM3ForCausalLM": ("transformers", "T")}
_PREVIOUSLY_SUPPORTED_MODELS = {"Phi3SmallForCausalLM": "0.9.2"}
'''


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vllm_architectures", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sdist(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "vllm-9.9.9.tar.gz"
    data = source.encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("vllm-9.9.9/vllm/model_executor/models/registry.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def test_served_tables_only_without_retired_or_draft_models(tmp_path: Path) -> None:
    data = tmp_path / "archs.yaml"
    data.write_text('schema: 1\nimages:\n  "vllm/vllm-openai:v0.1.0":\n    architectures:\n'
                    "      - OldForCausalLM\n")
    assert _tool().main([str(_sdist(tmp_path, REGISTRY)), "vllm/vllm-openai:v9.9.9",
                         "--data", str(data)]) == 0
    images = yaml.safe_load(data.read_text())["images"]
    assert images["vllm/vllm-openai:v0.1.0"]["architectures"] == ["OldForCausalLM"]
    assert images["vllm/vllm-openai:v9.9.9"]["architectures"] == [
        "LlamaForCausalLM", "BertModel", "BertForSequenceClassification",
        "LlavaForConditionalGeneration", "SmolLM3ForCausalLM"]


def test_regenerating_replaces_the_entry_in_place(tmp_path: Path) -> None:
    data = tmp_path / "archs.yaml"
    data.write_text('schema: 1\nimages:\n  "img:1":\n    architectures:\n      - A\n'
                    '  "img:2":\n    architectures:\n      - B\n')
    registry = tmp_path / "registry.py"
    registry.write_text(REGISTRY)
    _tool().main([str(registry), "img:1", "--data", str(data)])
    images = yaml.safe_load(data.read_text())["images"]
    assert list(images) == ["img:1", "img:2"]
    assert "A" not in images["img:1"]["architectures"] and images["img:2"]["architectures"] == ["B"]


def test_a_changed_registry_layout_is_refused(tmp_path: Path) -> None:
    registry = tmp_path / "registry.py"
    registry.write_text('_TEXT_GENERATION_MODELS = {"A": ("a", "A")}\n')
    with pytest.raises(SystemExit, match="_EMBEDDING_MODELS"):
        _tool().main([str(registry), "img:1", "--print"])
