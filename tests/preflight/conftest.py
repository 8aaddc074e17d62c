"""Fixtures for the preflight tests: the Hub emulator (``hub``)."""

from __future__ import annotations

from inference_sandbox.hub.pytest_plugin import hub

__all__ = ["hub"]
