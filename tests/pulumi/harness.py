"""Pulumi mocks that record every registration (inputs as sent, options, outputs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor


@dataclass
class Registration:
    """One RegisterResource request, deserialized (secrets stay wrapped)."""

    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    provider: str
    urn: str = ""


@dataclass
class Recorder(pulumi.runtime.Mocks):
    """Returns inputs as state; ``status`` adds a status per resource name (e.g. a LB)."""

    status: dict[str, dict[str, Any]] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.name in self.status:
            state["status"] = self.status[args.name]
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """A mock monitor keeping the requests it saw."""

    def __init__(self, mocks: Recorder) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}
        self.component_outputs: list[Any] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        self.registrations[request.name] = Registration(
            type=request.type, name=request.name,
            inputs=rpc.deserialize_properties(request.object),
            parent=request.parent, dependencies=list(request.dependencies),
            ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            provider=request.provider, urn=response.urn)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.component_outputs.append(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def children(self, component: str) -> dict[str, Registration]:
        """Registrations whose parent is the component registered as ``component``."""
        urn = self.registrations[component].urn
        return {n: r for n, r in self.registrations.items() if r.parent == urn}


_LOOP: asyncio.AbstractEventLoop | None = None


def _event_loop() -> None:
    """Pulumi's runtime needs a current event loop; async tests elsewhere may close theirs."""
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    asyncio.set_event_loop(_LOOP)


def install(status: dict[str, dict[str, Any]] | None = None, *,
            preview: bool = False) -> RecordingMonitor:
    """Fresh mocks for one test (``preview``: as ``pulumi preview`` runs the program)."""
    _event_loop()
    mocks = Recorder(status=status or {})
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="inference-stacks", stack="test", preview=preview,
                             monitor=monitor)
    return monitor


OUTPUTS = ("url", "internal_url", "namespace", "service_name", "manifests", "ready")


def deploy(build: Callable[[], Any]) -> dict[str, Any]:
    """Run ``build`` as a Pulumi program; returns the built object and its resolved outputs."""
    box: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        built = box["built"] = build()
        comps = built if isinstance(built, list) else [built]
        return pulumi.Output.all(*[pulumi.Output.all(**{k: getattr(c, k) for k in OUTPUTS})
                                   for c in comps]).apply(lambda v: box.update(outputs=v))

    program()
    return box


def plain(value: Any) -> Any:
    """Secrets unwrapped and integral floats (protobuf numbers) turned back into ints."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def as_text(value: Any) -> str:
    """Everything a registration carries, as one string (to search for leaked values)."""
    return json.dumps(plain(value), default=str, sort_keys=True)
