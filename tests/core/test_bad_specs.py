"""The bad-input corpus: every issue is reported with its path, message, allowed values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from inference_core.errors import SpecError
from inference_core.spec import parse_spec
from tests.helpers import deep_merge

CORPUS = yaml.safe_load((Path(__file__).parent / "bad_specs.yaml").read_text())
CASES = CORPUS["cases"]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("base", sorted(CORPUS["bases"]))
def test_bases_are_valid(base: str) -> None:
    parse_spec(CORPUS["bases"][base])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_spec_reports_each_issue(case: dict[str, Any]) -> None:
    doc = deep_merge(CORPUS["bases"][case["base"]], case["patch"])
    with pytest.raises(SpecError) as caught:
        parse_spec(doc, document=3, source="bad.yaml")
    issues = caught.value.issues
    assert len(issues) == len(case["expect"]), [i.render() for i in issues]
    for expected in case["expect"]:
        match = [i for i in issues if i.path == expected["path"]]
        assert match, f"no issue at {expected['path']}: {[i.render() for i in issues]}"
        issue = match[0]
        assert expected["message"] in issue.message, issue.render()
        if "allowed" in expected:
            assert issue.allowed and expected["allowed"] in issue.allowed, issue.render()
        if "hint" in expected:
            assert issue.hint and expected["hint"] in issue.hint, issue.render()
        assert issue.document == 3 and issue.source == "bad.yaml"
        assert issue.render().startswith(f"bad.yaml#3: {expected['path']}: ")
    for issue in issues:  # no validator internals in paths
        assert not re.search(r"function-|literal\[|\[key\]|\bint\b\.", issue.path), issue.path


def test_secret_values_never_echoed_in_errors() -> None:
    doc = deep_merge(CORPUS["bases"]["hf"], {"spec": {"env": [
        {"name": "HF_TOKEN", "value": "hf_topsecret"}], "model": {"token": 123}}})
    with pytest.raises(SpecError) as caught:
        parse_spec(doc)
    assert "hf_topsecret" not in str(caught.value)


@pytest.mark.parametrize("case", [c for c in CASES if "looks like" in str(c["expect"])],
                         ids=lambda c: c["id"])
def test_credential_cases_never_echo_the_value(case: dict[str, Any]) -> None:
    doc = deep_merge(CORPUS["bases"][case["base"]], case["patch"])
    with pytest.raises(SpecError) as caught:
        parse_spec(doc)
    secrets = re.findall(r"(?:hf_|nvapi-|ghp_|sk-)[A-Za-z0-9_-]{10,}", str(case["patch"]))
    assert secrets
    for secret in secrets:
        assert secret not in str(caught.value)
