"""Fixtures: policies, assets and specs written to a temporary directory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from inference_core.errors import SpecError
from inference_core.policy import load_library, resolve
from inference_core.policy.effective import Effective
from inference_core.profile import load_profile

Write = Callable[[str, str], Path]

HF_SPEC = """
apiVersion: inference-stacks/v1alpha1
kind: HuggingFaceInference
metadata: {name: chat, project: team-a}
spec:
  model: {id: Qwen/Qwen2.5-7B-Instruct}
"""


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write dedented YAML text to ``tmp_path/name`` and return the path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return _write


def policy(name: str, body: str, scope: str = "{}") -> str:
    """An InferencePolicy document (``body`` is YAML at the document's top level)."""
    return (f"apiVersion: inference-stacks/v1alpha1\nkind: InferencePolicy\n"
            f"metadata: {{name: {name}}}\nscope: {scope}\n" + textwrap.dedent(body))


def effective(doc: dict[str, object], *paths: Path, profile: str = "kai") -> Effective:
    """Resolve one document against the policies/assets in ``paths``."""
    return resolve(doc, load_profile(profile), load_library(paths), document=0,
                   source="spec.yaml")


def messages(err: SpecError) -> list[str]:
    """Rendered issue lines."""
    return [issue.render() for issue in err.issues]
