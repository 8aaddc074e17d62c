"""Every kubernetes_asyncio ``ApiClient`` (one aiohttp session each) the provider opens is
closed deterministically: on the trigger's ready, failed and error events, on cancellation
(also a second cancellation during the clean-up), when shared informers lose their last
subscriber, and by the hook's async context manager.

Each test records the ``ApiClient`` objects made meanwhile and asserts their aiohttp
sessions are closed, and that no "Unclosed client session/connector" ResourceWarning is
raised (aiohttp emits one when an open session is garbage-collected).
"""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes_asyncio import client as aclient

from airflow_provider.hooks import informer
from airflow_provider.hooks.async_inference import AsyncInferenceHook
from airflow_provider.hooks.index import ANY
from airflow_provider.hooks.inference import InferenceHook
from airflow_provider.operators import lifecycle
from airflow_provider.triggers.readiness import InferenceReadyTrigger
from inference_core.spec import parse_spec
from tests.airflow.conftest import connection_env

NS = "team-a"
GOOD = "registry.example.com/acme/app:1"


class Clients:
    """The ApiClients made while the fixture is active."""

    def __init__(self) -> None:
        self.made: list[Any] = []

    def sessions(self) -> list[Any]:
        return [c.rest_client.pool_manager for c in self.made]

    def all_closed(self) -> bool:
        return all(s.closed for s in self.sessions())


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    record = Clients()
    real = aclient.ApiClient

    class RecordingApiClient(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            record.made.append(self)

    monkeypatch.setattr(aclient, "ApiClient", RecordingApiClient)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield record
        record.made.clear()  # drop our references: a leaked session would warn now
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
                and "Unclosed" in str(w.message)]
    assert unclosed == []


@pytest.fixture
def cluster(sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox behind the ``kubernetes_default`` connection (the path triggers take in
    Airflow: the cncf-kubernetes async hook loads the connection, with awaits in between,
    while the informers start concurrently)."""
    sb = sandbox_factory(namespaces=[NS])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    return sb


def deploy(name: str, image: str) -> None:
    spec = parse_spec({"apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
                       "metadata": {"name": name, "project": NS},
                       "spec": {"image": image, "endpoint": {"port": 8080}}})
    InferenceHook().apply_all(lifecycle.render_objects(spec))


def trigger(name: str, timeout: float = 20.0) -> InferenceReadyTrigger:
    return InferenceReadyTrigger(api_version="serving.knative.dev/v1", kind="Service",
                                 name=name, namespace=NS, start_time=time.time(),
                                 timeout=timeout)


def informer_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("informer ")]


async def wait_for(predicate: Any, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def assert_all_released(clients: Clients) -> None:
    assert clients.made and clients.all_closed()
    assert informer.open_hooks() == []
    assert informer_tasks() == []


@pytest.mark.parametrize(("image", "status"), [
    (GOOD, "ready"), ("registry.example.com/acme/app:does-not-exist", "failed")])
async def test_trigger_closes_its_session_with_its_event(
        cluster: Any, clients: Clients, image: str, status: str) -> None:
    deploy("app", image)
    event = await anext(trigger("app").run())  # how dag.test() runs a trigger
    assert event.payload["status"] == status
    assert len(clients.made) == 1  # one session per connection, shared by four informers
    assert_all_released(clients)


async def test_trigger_closes_its_session_on_an_api_error(cluster: Any,
                                                          clients: Clients) -> None:
    cluster.faults.fail(403, verb="list", resource="services", times=None)
    event = await anext(trigger("app").run())
    assert (event.payload["status"], event.payload["reason"]) == ("error", "ApiError")
    assert "403" in event.payload["message"] or "Forbidden" in event.payload["message"]
    assert_all_released(clients)


@pytest.mark.parametrize("cancellations", [1, 2])
async def test_cancelled_trigger_closes_its_session_and_watches(
        cluster: Any, clients: Clients, cancellations: int) -> None:
    task = asyncio.ensure_future(anext(trigger("absent", timeout=60).run()))  # waits on
    await wait_for(lambda: cluster.store.watcher_count() >= 4)  # the server serves 4 watches
    for _ in range(cancellations):  # a second cancel lands in the middle of the clean-up
        task.cancel()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_all_released(clients)
    if cancellations == 1:  # the server sees them go (it notices within a second)
        await wait_for(lambda: cluster.store.watcher_count() == 0)


def waiting_on_its_wake(t: InferenceReadyTrigger) -> bool:
    """True once the trigger is suspended on its wake-up event with every informer synced
    (the state a triggerer cancels it in)."""
    wake = t._wake
    return (wake is not None and bool(getattr(wake, "_waiters", None))
            and len(t._subs) == 4 and all(s.informer.synced.is_set() for s in t._subs))


async def test_triggerer_cleanup_after_cancellation_is_harmless(cluster: Any,
                                                                clients: Clients) -> None:
    t = trigger("absent", timeout=600)
    task = asyncio.ensure_future(anext(t.run()))
    await wait_for(lambda: waiting_on_its_wake(t) or task.done())
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 60)  # the trigger itself waits 600 s
    await t.cleanup()  # what the triggerer calls next: idempotent
    assert_all_released(clients)


async def test_cancellation_racing_a_wake_is_not_swallowed(cluster: Any,
                                                           clients: Clients) -> None:
    """A cancellation that lands in the same loop step as the wake-up (an informer event)
    ends the trigger. With ``asyncio.wait_for`` around the wake, Python 3.11 returns the
    wake's result instead and the cancelled trigger waits on to its deadline (cpython#86296).
    """
    t = trigger("absent", timeout=600)
    task = asyncio.ensure_future(anext(t.run()))
    await wait_for(lambda: waiting_on_its_wake(t) or task.done())
    assert not task.done() and t._wake is not None
    t._wake.set()  # the wake completes ...
    task.cancel()  # ... and the triggerer cancels, before either is processed
    done, _ = await asyncio.wait({task}, timeout=60)
    assert done, "the cancelled trigger is still waiting"
    assert task.cancelled()
    await t.cleanup()
    assert_all_released(clients)


async def test_shared_informers_close_with_their_last_trigger(cluster: Any,
                                                              clients: Clients) -> None:
    deploy("fast", GOOD)
    waiting = asyncio.ensure_future(anext(trigger("absent", timeout=60).run()))
    await wait_for(lambda: informer.stats().open_watches == 4)
    event = await anext(trigger("fast").run())
    assert event.payload["status"] == "ready"
    assert len(informer.open_hooks()) == 1 and not clients.all_closed()  # still shared
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len(clients.made) == 1
    assert_all_released(clients)


async def test_informer_shutdown_closes_what_subscribers_left_open(cluster: Any,
                                                                   clients: Clients) -> None:
    from airflow_provider.hooks.resources import POD

    conn = informer.ConnectionKey("kubernetes_default")
    informer.subscribe(conn, POD, NS, [ANY], asyncio.Event())
    await wait_for(lambda: informer.stats().open_watches == 1)
    await informer.shutdown()
    await informer.shutdown()  # idempotent
    assert_all_released(clients)


async def test_hook_context_manager_and_concurrent_first_use(sandbox: Any,
                                                             clients: Clients) -> None:
    async with AsyncInferenceHook(config_file=str(sandbox.kubeconfig_path)) as hook:
        made = await asyncio.gather(*(hook.api_client() for _ in range(8)))
        assert len({id(c) for c in made}) == 1 and hook.clients_made == 1
        assert await hook.get("v1", "Namespace", "default", None) is not None
        assert hook.is_open
    assert not hook.is_open and clients.all_closed() and len(clients.made) == 1
    await hook.close()  # idempotent


def test_inline_trigger_leaves_no_session_open(cluster: Any, clients: Clients) -> None:
    """The synchronous path (``deferrable=False``): a private event loop, then gone."""
    deploy("inline", GOOD)
    event = lifecycle.run_inline(trigger("inline"))
    assert event["status"] == "ready"
    assert len(clients.made) == 1 and clients.all_closed()
