"""Backwards compatibility: the policy path changes nothing a policy does not ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference_core.policy import load_effective_specs
from inference_core.profile import load_profile
from inference_core.render import render
from inference_core.spec import load_specs
from tests.helpers import EXAMPLES, example_profile
from tests.policy.conftest import Write, policy


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_resolve_to_the_same_spec_and_manifests(example: Path, write: Write) -> None:
    # A policy out of every example's scope makes the library non-empty (the policy path).
    unrelated = write("p.yaml", policy("elsewhere", """
        defaults: {spec: {priority: low}}
        rules: {spec.compute.gpuDevices: {max: 0}}
        """, "{projects: [nobody]}"))
    profile_name = example_profile(example)
    plain = load_specs(example)
    resolved = load_effective_specs(example, profile_name, [unrelated])
    assert [s.model_dump() for s in resolved] == [s.model_dump() for s in plain]
    profile = load_profile(profile_name)
    assert [render(s, profile) for s in resolved] == [render(s, profile) for s in plain]


def test_distributed_policies_reach_leader_and_workers(write: Write) -> None:
    p = write("p.yaml", policy("dist", """
        defaults: {spec: {leader: {compute: {cpu: {request: "2"}}}}}
        rules:
          spec.workers.compute.gpuDevices: {max: 4}
          spec.workers.count: {max: 3}
        imposedAssets:
          dataSources: [{name: scratch, path: /scratch, emptyDir: {size: 1Gi}}]
        """, "{kinds: [DistributedInference]}"))
    cred = write("cred.yaml", """
        apiVersion: inference-stacks/v1alpha1
        kind: Credential
        metadata: {name: nccl}
        spec: {type: generic, secret: {name: nccl-conf, key: topology}}
        """)
    spec = write("d.yaml", """
        kind: DistributedInference
        metadata: {name: llm, project: team-a}
        spec:
          model: {id: Qwen/Qwen2.5-7B-Instruct}
          leader:
            compute: {gpuDevices: 4}
            env: [{name: NCCL_TOPO, secretKeyRef: {asset: nccl}}]
          workers: {count: 2, compute: {gpuDevices: 4}}
        """)
    (d,) = load_effective_specs(spec, "kai", [p], [cred])
    assert d.spec.leader.compute.cpu.request == 2000
    assert [s.name for s in d.spec.leader.storage] == ["scratch"]
    assert [s.name for s in d.spec.workers.storage] == ["scratch"]
    ref = d.spec.leader.env[0].secret_key_ref
    assert ref is not None and (ref.name, ref.key) == ("nccl-conf", "topology")
    too_many = spec.read_text().replace("count: 2", "count: 5")
    spec.write_text(too_many)
    with pytest.raises(Exception, match=r"spec.workers.count: policy dist: must be <= 3"):
        load_effective_specs(spec, "kai", [p], [cred])
