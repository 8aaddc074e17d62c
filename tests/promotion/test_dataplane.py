"""The data plane routes by Host over the live traffic split to fake vLLM servers that answer
the OpenAI API and expose vLLM v0.11.0's metric names."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from inference_core.analysis import exposition
from inference_sandbox.dataplane import BACKEND_HEADER
from tests.promotion.cluster import HOST, MODEL, PROJECT, TAG_HOST, Bed


def call(bed: Bed, host: str, path: str, body: dict | None = None) -> tuple[int, str, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(bed.plane.ingress_url + path, data=data,
                                 headers={"Host": host, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get(BACKEND_HEADER, ""), json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get(BACKEND_HEADER, ""), {}


def test_service_url_and_tag_url_route_to_their_revisions(bed: Bed) -> None:
    bed.deploy()
    bed.wait_routes(HOST, {"chat-00001": 100})
    status, backend, models = call(bed, HOST, "/v1/models")
    assert (status, backend) == (200, "chat-00001")
    assert [m["id"] for m in models["data"]] == [MODEL]

    bed.deploy({"FAKE_ANSWER": "candidate says hi"}, candidate_tag="candidate")
    bed.wait_routes(TAG_HOST, {"chat-00002": 100})
    assert bed.plane.routes(HOST) == {"chat-00001": 100}
    req = {"model": MODEL, "prompt": "hello", "max_tokens": 8}
    _, backend, answer = call(bed, TAG_HOST, "/v1/completions", req)
    assert backend == "chat-00002" and answer["choices"][0]["text"] == "candidate says hi"
    _, backend, answer = call(bed, HOST, "/v1/completions", req)
    assert backend == "chat-00001"
    assert answer["choices"][0]["text"] == "Paris is the capital of France."

    bed.engine.traffic("chat", PROJECT, split=50, timeout_s=60)
    bed.wait_routes(HOST, {"chat-00001": 50, "chat-00002": 50})
    seen = {call(bed, HOST, "/v1/models")[1] for _ in range(40)}
    assert seen == {"chat-00001", "chat-00002"}


def test_unknown_host_is_404_and_wrong_model_is_404(bed: Bed) -> None:
    bed.deploy()
    bed.wait_routes(HOST, {"chat-00001": 100})
    assert call(bed, "nothing.team-a.example.com", "/v1/models")[0] == 404
    assert call(bed, HOST, "/v1/completions", {"model": "other", "prompt": "x"})[0] == 404


def test_metrics_use_vllm_names_and_types(bed: Bed) -> None:
    bed.deploy({"FAKE_TTFT_MS": "40", "FAKE_ERROR_RATE": "0.5"})
    bed.wait_routes(HOST, {"chat-00001": 100})
    codes = [call(bed, HOST, "/v1/completions", {"model": MODEL, "prompt": "x"})[0]
             for _ in range(20)]
    assert set(codes) == {200, 500}
    server = bed.plane.server(PROJECT, "chat-00001")
    assert server is not None
    text = urllib.request.urlopen(server.url + "/metrics", timeout=10).read().decode()
    types = dict(line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE"))
    assert types["vllm:time_to_first_token_seconds"] == "histogram"
    assert types["vllm:e2e_request_latency_seconds"] == "histogram"
    assert types["vllm:inter_token_latency_seconds"] == "histogram"
    assert types["vllm:time_per_output_token_seconds"] == "histogram"  # deprecated in 0.11
    assert types["vllm:request_success_total"] == "counter"
    assert types["vllm:num_requests_running"] == "gauge"
    assert types["vllm:num_requests_waiting"] == "gauge"
    assert types["vllm:kv_cache_usage_perc"] == "gauge"
    assert "vllm:gpu_cache_usage_perc" not in types  # hidden in v0.11
    samples = list(exposition.parse(text))
    ok = sum(s.value for s in samples if s.name == "vllm:request_success_total")
    http = {s.labels["status"]: s.value for s in samples if s.name == "http_requests_total"
            and s.labels["handler"] == "/v1/completions"}
    assert ok == codes.count(200) and http == {"2xx": codes.count(200), "5xx": codes.count(500)}
    ttft = [s for s in samples if s.name == "vllm:time_to_first_token_seconds_bucket"]
    below = {s.labels["le"]: s.value for s in ttft}
    assert below["0.02"] == 0 and below["0.06"] == ok  # 40 ms +-10 %

    targets = json.loads(bed.sd_file.read_text())
    assert targets == [{"targets": [server.url.removeprefix("http://")],
                        "labels": {"namespace": PROJECT, "service": "chat",
                                   "revision": "chat-00001", "kind": "knative"}}]


def test_sandbox_starts_and_stops_its_data_plane(sandbox_factory: Any, tmp_path: Path) -> None:
    from inference_core.rollout.client import KubernetesClient
    from inference_core.rollout.engine import Engine
    from tests.promotion.cluster import chat_spec

    sd_file = tmp_path / "sd.json"
    sb = sandbox_factory(namespaces=["default", "team-a"], dataplane=True,
                         dataplane_time_scale=0.0, dataplane_sd_file=str(sd_file))
    client = KubernetesClient.from_kubeconfig(sb.kubeconfig_path)
    Engine(client).deploy(chat_spec(), wait=True, timeout_s=60)
    assert sb.dataplane.wait_until(lambda p: p.routes(HOST) == {"chat-00001": 100}, 30)
    req = urllib.request.Request(sb.dataplane.ingress_url + "/health", headers={"Host": HOST})
    assert urllib.request.urlopen(req, timeout=10).status == 200
    assert json.loads(sd_file.read_text())[0]["labels"]["revision"] == "chat-00001"
    ingress = sb.dataplane.ingress_url
    sb.stop()
    client.close()
    assert sb.dataplane is None
    with pytest.raises(OSError):  # the ingress is closed with the sandbox
        urllib.request.urlopen(urllib.request.Request(ingress + "/health",
                                                      headers={"Host": HOST}), timeout=5)
