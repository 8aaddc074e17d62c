"""inference-stacks core: specs, validation, cluster profiles, rendering, readiness, preflight.

The core never imports Pulumi or Airflow; the front doors (``pulumi_components``,
``airflow_provider`` and the ``infstack`` CLI) are thin layers over it.
"""

from __future__ import annotations

__version__ = "0.1.0"
