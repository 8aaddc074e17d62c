"""The gRPC health protocol (``grpc.health.v1.Health``) for custom gRPC workloads.

The loopback ingress routes HTTP/1.1 only, so a gRPC backend is reached on its own port
(``DataPlane.grpc_address(namespace, revision)``); the health status is SERVING, or
NOT_SERVING when the version is made unhealthy (``FAKE_HEALTH_STATUS`` >= 400 or a
``-unhealthy`` image tag).
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


class GrpcHealthServer:
    """A grpc.aio server with the standard health service for the overall server ("")."""

    def __init__(self, *, serving: bool) -> None:
        self.serving = serving
        self.address = ""
        self._server: grpc.aio.Server | None = None

    async def start(self, host: str = "127.0.0.1") -> None:
        """Bind a free port and serve."""
        server = grpc.aio.server()
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_insecure_port(f"{host}:0")
        status = (health_pb2.HealthCheckResponse.SERVING if self.serving
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        await servicer.set("", status)
        await server.start()
        self._server = server
        self.address = f"{host}:{port}"

    async def stop(self) -> None:
        """Stop at once."""
        if self._server is not None:
            await self._server.stop(0)
            self._server = None
