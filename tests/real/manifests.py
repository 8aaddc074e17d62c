"""Rendered manifests the real-server tests check: every example under every built-in profile
that accepts it, and property-generated specs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile, builtin_profiles, load_profile
from inference_core.render import render
from inference_core.spec import load_specs
from tests.helpers import EXAMPLES, example_profile


@dataclass(frozen=True)
class Case:
    """One example rendered under one profile (``refusal`` set when the profile refuses it)."""

    example: Path
    profile_name: str
    objects: tuple[dict[str, Any], ...]
    refusal: ProfileError | None

    @property
    def id(self) -> str:
        """Test id: ``<example>@<profile>``."""
        return f"{self.example.stem}@{self.profile_name}"

    @property
    def profile(self) -> ClusterProfile:
        """The profile."""
        return load_profile(self.profile_name)

    @property
    def own_profile(self) -> bool:
        """Whether the example names this profile on its first line (its golden profile)."""
        return example_profile(self.example) == self.profile_name


def render_all(example: Path, profile: ClusterProfile) -> list[dict[str, Any]]:
    """Every object of every spec in ``example``."""
    return [o for spec in load_specs(example) for o in render(spec, profile)]


def example_cases() -> list[Case]:
    """Every (example, built-in profile) pair."""
    cases = []
    for example in EXAMPLES:
        for name in builtin_profiles():
            try:
                objects, refusal = tuple(render_all(example, load_profile(name))), None
            except ProfileError as err:
                objects, refusal = (), err
            cases.append(Case(example, name, objects, refusal))
    return cases


CASES = example_cases()
ACCEPTED = [c for c in CASES if c.refusal is None]
REFUSED = [c for c in CASES if c.refusal is not None]
