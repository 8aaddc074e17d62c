"""Airflow provider for inference-stacks: deploy, roll-update, shift traffic, await readiness."""

from __future__ import annotations

__version__ = "0.1.0"
