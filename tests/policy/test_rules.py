"""Policy rules: max/min (with units), options, required, canEdit, and several policies."""

from __future__ import annotations

from typing import Any

import yaml

from tests.policy.conftest import HF_SPEC, Write, effective, policy


def _hf(**spec: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(HF_SPEC)
    doc["spec"].update(spec)
    return doc


def _lines(result: Any) -> list[str]:
    return [i.render() for i in result.issues]


def test_max_cites_policy_rule_file_and_value(write: Write) -> None:
    p = write("team-a.yaml", policy("team-a-inference", """
        rules:
          spec.compute.gpuDevices: {max: 2}
        """))
    bad = effective(_hf(compute={"gpuDevices": 4}), p)
    assert bad.spec is None
    assert _lines(bad) == [
        "spec.yaml#0: spec.compute.gpuDevices: policy team-a-inference: must be <= 2 (got 4). "
        f"Hint: rule spec.compute.gpuDevices max in {p}#0"]
    assert effective(_hf(compute={"gpuDevices": 2}), p).spec is not None


def test_min_and_max_compare_quantities_in_the_fields_units(write: Write) -> None:
    p = write("p.yaml", policy("mem", """
        rules:
          spec.compute.memory.limit: {min: 8Gi, max: 64Gi}
          spec.compute.cpu.request: {max: "4"}
          spec.general.requestTimeout: {max: 5m}
        """))
    ok = effective(_hf(compute={"gpuDevices": 1, "memory": {"limit": "64Gi"},
                                "cpu": {"request": "4000m"}}), p)
    assert ok.spec is not None, _lines(ok)
    bad = effective(_hf(compute={"gpuDevices": 1, "memory": {"limit": "70GB"},
                                 "cpu": {"request": 4.5}},
                        general={"requestTimeout": "6m"}), p)
    text = "\n".join(_lines(bad))
    assert "spec.compute.memory.limit: policy mem: must be <= 64Gi" in text
    assert "spec.compute.cpu.request: policy mem: must be <= 4" in text
    assert "spec.general.requestTimeout: policy mem: must be <= 5m" in text
    small = effective(_hf(compute={"gpuDevices": 1, "memory": {"limit": "4GB"}}), p)
    assert "spec.compute.memory.limit: policy mem: must be >= 8Gi" in "\n".join(_lines(small))


def test_options_on_scalars_and_on_each_list_item(write: Write) -> None:
    p = write("p.yaml", policy("pools", """
        rules:
          spec.priority: {options: [medium, high]}
          spec.scheduling.nodePools: {options: [a100-pool, h100-pool]}
        """))
    bad = effective(_hf(priority="very-high",
                        scheduling={"nodePools": ["h100-pool", "cpu-pool"]}), p)
    text = "\n".join(_lines(bad))
    assert ("spec.priority: policy pools: is not an allowed value (got 'very-high'; "
            "allowed: medium, high)") in text
    assert ("spec.scheduling.nodePools: policy pools: is not an allowed value (got 'cpu-pool'; "
            "allowed: a100-pool, h100-pool)") in text
    ok = effective(_hf(priority="high", scheduling={"nodePools": ["a100-pool"]}), p)
    assert ok.spec is not None


def test_required_node_type_when_the_project_has_an_affinity_rule(write: Write) -> None:
    p = write("p.yaml", policy("affinity", """
        rules:
          spec.scheduling.nodeType: {required: true, options: [a100, h100]}
        """, "{projects: [team-a]}"))
    missing = effective(_hf(), p)
    assert _lines(missing) == [
        "spec.yaml#0: spec.scheduling.nodeType: policy affinity: is required (allowed: a100, "
        f"h100). Hint: set it in the spec (rule spec.scheduling.nodeType required in {p}#0)"]
    assert effective(_hf(scheduling={"nodeType": "h100"}), p).spec is not None


def test_required_is_met_by_a_policy_default(write: Write) -> None:
    p = write("p.yaml", policy("affinity", """
        defaults: {spec: {scheduling: {nodeType: a100}}}
        rules:
          spec.scheduling.nodeType: {required: true}
        """))
    result = effective(_hf(), p)
    assert result.spec is not None and result.spec.spec.scheduling.node_type == "a100"


def test_can_edit_false_imposes_the_default_and_refuses_other_values(write: Write) -> None:
    p = write("p.yaml", policy("locked", """
        defaults: {spec: {preemptibility: preemptible}}
        rules:
          spec.preemptibility: {canEdit: false}
        """))
    imposed = effective(_hf(), p)
    assert imposed.spec is not None and imposed.spec.spec.preemptibility == "preemptible"
    same = effective(_hf(preemptibility="preemptible"), p)
    assert same.spec is not None
    other = effective(_hf(preemptibility="non-preemptible"), p)
    assert other.spec is None
    assert _lines(other) == [
        "spec.yaml#0: spec.preemptibility: policy locked: cannot be edited (got "
        "'non-preemptible'; allowed: 'preemptible', set by the policy). Hint: remove it from "
        f"the spec (rule spec.preemptibility canEdit: false in {p}#0)"]


def test_can_edit_false_without_default_keeps_the_builtin_value(write: Write) -> None:
    p = write("p.yaml", policy("no-pools", "rules: {spec.scheduling.nodePools: {canEdit: false}}"))
    assert effective(_hf(), p).spec is not None
    bad = effective(_hf(scheduling={"nodePools": ["x"]}), p)
    assert "policy no-pools: cannot be edited" in "\n".join(_lines(bad))


def test_stricter_rule_wins_and_is_the_one_cited(write: Write) -> None:
    cluster = write("cluster.yaml", policy("cluster", """
        rules:
          spec.compute.gpuDevices: {max: 4}
          spec.priority: {options: [low, medium, high]}
        """, "{clusters: [kai]}"))
    project = write("project.yaml", policy("project", """
        rules:
          spec.compute.gpuDevices: {max: 2, min: 1}
          spec.priority: {options: [medium, high, very-high]}
        """, "{projects: [team-a]}"))
    three = effective(_hf(compute={"gpuDevices": 3}, priority="high"), cluster, project)
    assert [i.message for i in three.issues] == ["policy project: must be <= 2"]
    eight = effective(_hf(compute={"gpuDevices": 8}, priority="high"), cluster, project)
    assert [i.message for i in eight.issues] == ["policy project: must be <= 2"]
    # options: the intersection applies, whichever policy refuses is cited
    low = effective(_hf(compute={"gpuDevices": 1}, priority="low"), cluster, project)
    assert [(i.message, i.allowed) for i in low.issues] == [
        ("policy project: is not an allowed value", "medium, high")]
    top = effective(_hf(compute={"gpuDevices": 1}, priority="very-high"), cluster, project)
    assert [i.message for i in top.issues] == ["policy cluster: is not an allowed value"]


def test_rules_for_fields_a_kind_lacks_do_not_apply(write: Write) -> None:
    p = write("p.yaml", policy("compute", """
        rules:
          spec.compute.gpuDevices: {required: true, max: 1}
          spec.leader.compute.gpuDevices: {max: 8}
        """))
    doc = {"kind": "DistributedInference", "metadata": {"name": "d", "project": "team-a"},
           "spec": {"leader": {"image": "img"}, "workers": {"image": "img", "count": 1}}}
    assert effective(doc, p).spec is not None
    doc["spec"]["leader"]["compute"] = {"gpuDevices": 16}
    assert [i.path for i in effective(doc, p).issues] == ["spec.leader.compute.gpuDevices"]


def test_wildcard_paths_check_every_item(write: Write) -> None:
    p = write("p.yaml", policy("claims", """
        rules:
          spec.storage[].pvc.claimName: {options: [shared-models]}
        """))
    doc = _hf(storage=[{"name": "a", "path": "/a", "pvc": {"claimName": "shared-models"}},
                       {"name": "b", "path": "/b", "pvc": {"claimName": "private"}}])
    assert [i.path for i in effective(doc, p).issues] == ["spec.storage[1].pvc.claimName"]


def test_can_add_false_keeps_a_list_to_the_policy_items(write: Write) -> None:
    p = write("p.yaml", policy("fixed-env", """
        defaults:
          spec:
            env: [{name: LOG_FORMAT, value: json}]
        rules:
          spec.env: {canAdd: false}
        """))
    doc = _hf(env=[{"name": "LOG_FORMAT", "value": "text"}])
    ok = effective(doc, p)
    assert ok.spec is not None and ok.spec.spec.env[0].value == "text"
    added = effective(_hf(env=[{"name": "DEBUG", "value": "1"}]), p)
    assert _lines(added) == [
        "spec.yaml#0: spec.env[1]: policy fixed-env: items cannot be added here (spec adds "
        "this one) (got 'DEBUG'; allowed: the items the policies give). Hint: remove it (rule "
        f"spec.env canAdd: false in {p}#0)"]
