"""Hostile and malformed spec files through the real CLI: each exits 1, within a generous
bound (the subprocess is killed past it), naming the field or limit and its position.

Cases come from ``bad_specs.yaml`` (``yaml_cases``: literal texts) and from generators
(huge, deep, aliased, long). Profile refusals name the file and document and come all at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from inference_core.errors import SpecError
from inference_core.spec import load_specs_text, parse_spec
from inference_core.spec.yamlio import LIMITS
from tests.helpers import REPO

CORPUS = yaml.safe_load((Path(__file__).parent / "bad_specs.yaml").read_text())
BOUND_SECONDS = 120  # generous: a loaded 2-core machine; the old alias bomb ran for minutes
SPEC = ("kind: CustomInference\nmetadata: {name: svc, project: team-a}\n"
        "spec:\n  image: ghcr.io/acme/model:1\n")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``infstack ARGS`` in a fresh interpreter; killed (test fails) past the bound."""
    return subprocess.run([sys.executable, "-m", "inference_core.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=BOUND_SECONDS, check=False)


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx", '
             '"xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return ("kind: CustomInference\nmetadata: {name: svc, project: team-a}\nspec:\n"
            "  image: i\n  extra:\n" + "".join(f"    {line}\n" for line in lines)
            + f"  args: *a{levels - 1}\n")


GENERATED: dict[str, tuple[str, list[str]]] = {
    "alias-bomb": (_alias_bomb(), ["YAML alias"]),
    "huge-string": (SPEC + "  workingDir: /" + "a" * (10 * 2**20) + "\n",
                    ["spec.workingDir", "value size limit", f"{LIMITS.max_scalar:,}"]),
    "deep-nesting": (SPEC + "  args: " + "[" * 200 + "]" * 200 + "\n",
                     ["nests too deeply"]),
    "deep-block-nesting": (SPEC + "  args:\n    " + "- " * 300 + "x\n",
                           ["nests too deeply"]),
    "long-name": (SPEC.replace("name: svc", "name: " + "a" * 300), ["metadata.name"]),
    "long-label-value": (SPEC.replace("project: team-a}", "project: team-a, labels: {team: "
                                      + "b" * 64 + "}}"), ["metadata.labels.team", "63"]),
    "too-large-file": ("# " + "x" * (LIMITS.max_bytes + 10) + "\n" + SPEC,
                       ["larger than the spec size limit"]),
    "recursive-alias": (SPEC + "  args: &loop [a, *loop]\n",
                        ["refers to itself through a YAML alias"]),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_bad_file_exits_1_naming_the_limit(case: str, tmp_path: Path) -> None:
    text, fragments = GENERATED[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    result = run_cli("validate", str(path))
    assert result.returncode == 1, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr[-2000:]
    assert len(result.stderr) < 4000, "the error report must stay short"


@pytest.mark.parametrize("case", CORPUS["yaml_cases"], ids=[c["id"] for c in
                                                            CORPUS["yaml_cases"]])
def test_yaml_case_exits_1_with_field_and_position(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(case["text"])
    result = run_cli("validate", "-p", case.get("profile", "default"), str(path))
    assert result.returncode == 1, result.stderr
    for expected in case["expect"]:
        assert expected in result.stderr, result.stderr


def test_yaml_cases_in_process() -> None:
    """The same texts through the library: every issue is located (line and column)."""
    for case in CORPUS["yaml_cases"]:
        if case.get("profile"):
            continue
        with pytest.raises(SpecError) as caught:
            load_specs_text(case["text"], source="bad.yaml")
        for issue in caught.value.issues:
            assert issue.document is not None and issue.source == "bad.yaml", case["id"]
            assert issue.line is not None, (case["id"], issue.render())


def test_dict_input_is_held_to_the_same_limits() -> None:
    loop: list[Any] = ["a"]
    loop.append(loop)
    cases = {
        "spec.workingDir": {"workingDir": "/" + "a" * (LIMITS.max_scalar + 1)},
        "spec.args": {"args": loop},
    }
    for path, patch in cases.items():
        doc = {"kind": "CustomInference", "metadata": {"name": "s", "project": "p"},
               "spec": {"image": "i", **patch}}
        with pytest.raises(SpecError) as caught:
            parse_spec(doc)
        assert [i.path for i in caught.value.issues] == [path], caught.value
        assert len(str(caught.value)) < 1000


def test_profile_refusals_name_file_and_document_all_at_once(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(SPEC + "  priority: low\n---\n" + SPEC.replace("svc", "two")
                     + "  scheduling: {tolerations: [{key: gpu, operator: Exists}]}\n")
    second = tmp_path / "b.yaml"
    second.write_text("---\n---\n" + SPEC.replace("svc", "three")
                      + "  compute: {gpuPortion: {request: 50}}\n")
    result = run_cli("validate", str(first), str(second))
    assert result.returncode == 1
    assert "3 problem(s) with the cluster profile 'default'" in result.stderr
    assert f"{first}#0: spec.priority: needs scheduler priority" in result.stderr
    assert f"{first}#1: spec.scheduling.tolerations: needs tolerations" in result.stderr
    assert f"{second}#1: spec.compute.gpuPortion: needs GPU fractions" in result.stderr


def test_unknown_profile_is_a_usage_error_with_suggestion() -> None:
    result = run_cli("validate", "-p", "kia", "examples/custom-http.yaml")
    assert result.returncode == 2
    text = " ".join(result.stderr.replace("│", " ").split())
    assert "unknown profile 'kia'; did you mean 'kai'?" in text


def test_error_formatting_never_builds_a_huge_repr() -> None:
    from inference_core.errors import FieldIssue

    class Loud:
        def __repr__(self) -> str:  # would be called by a full repr of the list below
            raise AssertionError("full repr built")

    huge = [["x" * 1000] * 1000] * 1000 + [Loud()]
    text = FieldIssue("spec.args", "is wrong", huge).render()
    assert len(text) < 200
    assert "got" in FieldIssue("spec.port", "is wrong", 10 ** 5000).render()
