"""Smoke tests against the candidate's own URL through the data plane: the official openai
client lists models and checks the answer; HTTP and gRPC health for custom workloads."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import SpecError
from inference_core.smoke.checks import SmokeCheck
from inference_core.smoke.runner import SmokeFailed, run_smoke
from inference_core.smoke.target import smoke_url
from inference_core.spec.loader import parse_spec
from inference_sandbox.dataplane import DataPlane
from tests.promotion.cluster import MODEL, PROJECT, TAG_HOST, TAG_URL, URL, Bed

CHECK = SmokeCheck(model=MODEL, expect_contains="Paris", attempts=2, retry_delay_s=0.5)


def candidate(bed: Bed, env: dict[str, str] | None = None) -> str:
    bed.deploy()
    bed.deploy({"MODEL_VERSION": "2", **(env or {})}, candidate_tag="candidate")
    bed.wait_routes(TAG_HOST, {"chat-00002": 100})
    return smoke_url(bed.live(), "candidate")


def test_good_candidate_passes_on_its_tag_url(bed: Bed) -> None:
    url = candidate(bed)
    assert url == TAG_URL
    report = run_smoke(url, CHECK, connect_to=bed.plane.connect_to)
    assert report.ok and len(report.attempts) == 1
    assert report.attempts[0].details["served"] == [MODEL]
    assert "Paris" in report.attempts[0].details["answer"]
    chat = run_smoke(url, SmokeCheck(model=MODEL, chat=True, expect_regex=r"capital\s+of"),
                     connect_to=bed.plane.connect_to)
    assert chat.ok


def test_wrong_answer_fails_after_bounded_retries(bed: Bed) -> None:
    url = candidate(bed, {"FAKE_ANSWER": "I do not know."})
    sleeps: list[float] = []
    with pytest.raises(SmokeFailed) as err:
        run_smoke(url, CHECK, connect_to=bed.plane.connect_to, sleep=sleeps.append)
    assert [a.ok for a in err.value.report.attempts] == [False, False]
    assert sleeps == [0.5]
    assert "does not contain 'Paris'" in str(err.value)
    # the stable URL still answers right: only the candidate is wrong
    assert run_smoke(URL, CHECK, connect_to=bed.plane.connect_to).ok


def test_missing_model_and_json_expectations(bed: Bed) -> None:
    url = candidate(bed, {"FAKE_MODEL_MISSING": "1"})
    with pytest.raises(SmokeFailed, match="model 'chat' is not served"):
        run_smoke(url, SmokeCheck(model=MODEL, attempts=1), connect_to=bed.plane.connect_to)
    with pytest.raises(SmokeFailed, match="is not JSON"):
        run_smoke(URL, SmokeCheck(model=MODEL, expect_json=True, attempts=1),
                  connect_to=bed.plane.connect_to)


def test_latency_budget(sandbox_factory: Any) -> None:
    sb = sandbox_factory(namespaces=["default", "team-a"])
    from inference_core.rollout.client import KubernetesClient
    from inference_core.rollout.engine import Engine
    from tests.promotion.cluster import chat_spec

    client = KubernetesClient.from_kubeconfig(sb.kubeconfig_path)
    Engine(client).deploy(chat_spec({"FAKE_TTFT_MS": "400"}), wait=True, timeout_s=60)
    with DataPlane(sb.kubeconfig_path, time_scale=1.0).running() as plane:
        assert plane.wait_until(lambda p: p.routes("chat.team-a.example.com"), 30)
        check = SmokeCheck(model=MODEL, latency_budget_s=0.2, attempts=1)
        with pytest.raises(SmokeFailed, match=r"over the budget of 0\.2s"):
            run_smoke(URL, check, connect_to=plane.connect_to)
    client.close()


def custom(bed: Bed, protocol: str, image: str) -> str:
    spec = parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
        "metadata": {"name": "echo", "project": PROJECT},
        "spec": {"image": image, "endpoint": {"protocol": protocol, "port": 8080},
                 "compute": {"cpu": {"request": "500m"}, "memory": {"request": "1GB"}}}})
    bed.engine.deploy(spec, wait=True, timeout_s=60)
    assert bed.plane.wait_until(lambda p: p.routes("echo.team-a.example.com"), 30)
    return "http://echo.team-a.example.com"


def test_http_check_for_custom_workloads(bed: Bed) -> None:
    url = custom(bed, "http", "registry.example.com/acme/echo:1.0")
    ok = SmokeCheck(kind="http", path="/health", expect_body_contains='"ok"', attempts=1)
    assert run_smoke(url, ok, connect_to=bed.plane.connect_to).ok
    post = SmokeCheck(kind="http", method="POST", path="/predict", body='{"x": 1}',
                      expect_status=201, attempts=1)
    with pytest.raises(SmokeFailed, match="answered 200, expected 201"):
        run_smoke(url, post, connect_to=bed.plane.connect_to)


@pytest.mark.parametrize(("image", "serving"), [("registry.example.com/acme/embed:2", True),
                                                ("registry.example.com/acme/embed:2-unhealthy",
                                                 False)])
def test_grpc_health_for_custom_workloads(bed: Bed, image: str, serving: bool) -> None:
    url = custom(bed, "grpc", image)
    address = bed.plane.grpc_address(PROJECT, "echo-00001")
    assert address
    check = SmokeCheck(kind="grpc", attempts=1, timeout_s=10)
    if serving:
        assert run_smoke(url, check, connect_to=address).attempts[0].details == {
            "status": "SERVING"}
    else:
        with pytest.raises(SmokeFailed, match="NOT_SERVING"):
            run_smoke(url, check, connect_to=address)


def test_bad_check_settings_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"smoke\.model"):
        SmokeCheck(kind="openai")
    with pytest.raises(SpecError, match=r"smoke\.kind"):
        SmokeCheck(kind="ftp")
    with pytest.raises(SpecError, match=r"smoke\.retries"):
        SmokeCheck.from_dict({"model": "m", "retries": 3})
