"""pytest fixtures: ``sandbox`` (a running default sandbox) and ``sandbox_factory(**config)``.

Register with ``pytest_plugins = ["inference_sandbox.pytest_plugin"]`` in ``conftest.py``.
The fixture sandboxes run at ``TEST_SPEED`` simulated seconds per real second unless told
otherwise, so pods become ready in well under a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from inference_sandbox.config import SandboxConfig
from inference_sandbox.sandbox import Sandbox

TEST_SPEED = 100.0


def _config(**overrides: Any) -> SandboxConfig:
    overrides.setdefault("speed", TEST_SPEED)
    return SandboxConfig(**overrides)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox with default settings (function scope)."""
    with Sandbox(_config()).running() as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with ``SandboxConfig`` keyword arguments; all stopped at teardown."""
    started: list[Sandbox] = []

    def factory(**overrides: Any) -> Sandbox:
        sb = Sandbox(_config(**overrides)).start()
        started.append(sb)
        return sb

    yield factory
    for sb in reversed(started):
        sb.stop()
