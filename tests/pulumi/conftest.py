"""The mock tier reaches no cluster: the components wait with the core's readiness only when
they can reach one (a kubeconfig argument, ``$KUBECONFIG`` or ``~/.kube/config``), so neither
is visible here unless a test gives it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
