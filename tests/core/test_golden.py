"""Golden manifests for every example (regenerate on request only:
``INFSTACK_REGEN_GOLDEN=1 pytest tests/core/test_golden.py``; never in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import load_specs
from tests.helpers import EXAMPLES, example_profile

GOLDEN = Path(__file__).parent / "golden"


def _rendered(example: Path) -> str:
    profile = load_profile(example_profile(example))
    objects = [o for spec in load_specs(example) for o in render(spec, profile)]
    return yaml.safe_dump_all(objects, sort_keys=False)


def test_every_example_has_a_golden() -> None:
    assert len(EXAMPLES) >= 6
    assert sorted(p.stem for p in GOLDEN.glob("*.yaml")) == sorted(p.stem for p in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_matches_golden(example: Path) -> None:
    golden = GOLDEN / f"{example.stem}.yaml"
    text = _rendered(example)
    if os.environ.get("INFSTACK_REGEN_GOLDEN") == "1" and not os.environ.get("CI"):
        golden.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text
