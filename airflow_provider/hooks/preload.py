"""Import the heavy client libraries in a worker thread, once per process.

A triggerer runs every trigger on one event loop. Importing ``kubernetes_asyncio`` (its
generated models), ``aiohttp`` and the cncf-kubernetes hook takes seconds of CPU; done
inline by the first wait, it would stall every other trigger of the process for that long.
:func:`ensure_imported` runs those imports in a thread (the loop keeps running: the
interpreter switches threads every few milliseconds) and every wait awaits it before it
touches the client, so on the loop the imports are dictionary look-ups.
"""

from __future__ import annotations

import asyncio
import importlib
import threading

#: Modules every watch needs.
CLIENT_MODULES = (
    "aiohttp",
    "kubernetes_asyncio.client",
    "kubernetes_asyncio.config",
    "inference_core.readiness",
)
#: Needed only when the configuration comes from an Airflow connection.
CONNECTION_MODULES = ("airflow.providers.cncf.kubernetes.hooks.kubernetes",)

_lock = threading.Lock()
_done: set[str] = set()


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)
    with _lock:
        _done.update(modules)


async def ensure_imported(*, connection: bool = True) -> None:
    """Import the client modules (and the connection's, if ``connection``) off the loop."""
    modules = CLIENT_MODULES + (CONNECTION_MODULES if connection else ())
    with _lock:
        missing = tuple(m for m in modules if m not in _done)
    if missing:
        await asyncio.to_thread(_import, missing)
