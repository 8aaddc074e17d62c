"""Smoke-verified readiness: prove a version *answers* before it gets traffic.

- ``checks`` — ``SmokeCheck`` (openai / http / grpc; expectations, latency budget, retries).
- ``runner`` — ``run_smoke(url, check, connect_to=None)`` -> ``SmokeReport``; ``SmokeFailed``.
- ``target`` — ``smoke_url(live, tag)``: the candidate's own URL (Knative tag URL, LWS
  leader Service).

The ``openai`` and ``grpcio`` clients are imported lazily (the ``promotion`` extra).
"""

from __future__ import annotations
