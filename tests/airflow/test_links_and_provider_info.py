"""The "Inference endpoint" extra link and the provider metadata Airflow reads."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import airflow
import jsonschema
import pytest
from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator
from airflow.triggers.base import BaseTrigger

from airflow_provider.links import InferenceEndpointLink, endpoint_url
from airflow_provider.provider_info import get_provider_info

SUMMARY = {"kind": "Service", "namespace": "team-a", "name": "iris", "revision": "iris-00002",
           "url": "http://iris.team-a.example.com",
           "tag_urls": {"candidate": "http://candidate-iris.team-a.example.com"}}
KEY = SimpleNamespace(dag_id="d", task_id="deploy", run_id="r", map_index=-1)


@pytest.mark.parametrize(("summary", "url"), [
    (SUMMARY, "http://iris.team-a.example.com"),
    ({**SUMMARY, "url": "https://iris.example.org/v1"}, "https://iris.example.org/v1"),
    ({**SUMMARY, "url": None}, ""),                  # applied, not ready: no URL yet
    ({"deleted": [], "absent": [], "skipped": None}, ""),
    ({**SUMMARY, "url": "javascript:alert(1)"}, ""),  # only http(s) becomes a button
    (None, ""),
    ("http://not-a-summary", ""),
])
def test_endpoint_url_from_the_summary(summary: Any, url: str) -> None:
    assert endpoint_url(summary) == url


def test_get_link_reads_the_return_value_of_the_task() -> None:
    with mock.patch("airflow_provider.links.BaseXCom.get_value", return_value=SUMMARY) as get:
        link = InferenceEndpointLink().get_link(mock.Mock(), ti_key=KEY)
    assert link == "http://iris.team-a.example.com"
    get.assert_called_once_with(ti_key=KEY, key="return_value")
    with mock.patch("airflow_provider.links.BaseXCom.get_value", return_value=None):
        assert InferenceEndpointLink().get_link(mock.Mock(), ti_key=KEY) == ""


@pytest.mark.parametrize("state", ["deferred", "failed", "up_for_retry"])
def test_get_link_does_not_look_up_a_task_that_has_not_returned(state: str) -> None:
    """The task runner asks for links after every attempt, deferrals included."""
    ti = SimpleNamespace(**vars(KEY), state=state)
    with mock.patch("airflow_provider.links.BaseXCom.get_value") as get:
        assert InferenceEndpointLink().get_link(mock.Mock(), ti_key=ti) == ""
    get.assert_not_called()
    with mock.patch("airflow_provider.links.BaseXCom.get_value", return_value=SUMMARY):
        done = SimpleNamespace(**vars(KEY), state="success")
        assert InferenceEndpointLink().get_link(mock.Mock(), ti_key=done) == SUMMARY["url"]


def test_operators_that_return_a_summary_carry_the_link() -> None:
    from airflow_provider.operators.deploy import DeployInferenceOperator
    from airflow_provider.sensors.ready import InferenceReadySensor

    for cls in (DeployInferenceOperator, InferenceReadySensor):
        assert any(isinstance(link, InferenceEndpointLink) for link in cls.operator_extra_links)
    assert InferenceEndpointLink().name == "Inference endpoint"
    assert InferenceEndpointLink().xcom_key == "_link_InferenceEndpointLink"


def test_provider_info_matches_airflows_schema_and_the_entry_point() -> None:
    info = get_provider_info()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json")
                        .read_text(encoding="utf-8"))
    jsonschema.validate(info, schema)
    entry = [e for e in importlib.metadata.entry_points(group="apache_airflow_provider")
             if e.value.startswith("airflow_provider.")]
    assert len(entry) == 1 and entry[0].load() is get_provider_info


@pytest.mark.parametrize(("section", "base"), [
    ("hooks", None), ("operators", BaseOperator), ("sensors", BaseSensorOperator),
    ("triggers", BaseTrigger),
])
def test_every_listed_module_imports_and_defines_its_kind(section: str, base: Any) -> None:
    entries = get_provider_info()[section]
    modules = [m for entry in entries for m in entry["python-modules"]]
    assert modules, section
    for name in modules:
        module = importlib.import_module(name)
        classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
                   if c.__module__ == name]
        if base is not None:
            assert any(issubclass(c, base) for c in classes), (name, classes)
        else:  # hooks: the sync hook is a BaseHook, the async one a plain class
            assert any(c.__name__.endswith("Hook") for c in classes), (name, classes)


def test_no_connection_type_of_our_own_and_extra_links_import() -> None:
    """The hooks reuse cncf-kubernetes' ``kubernetes`` connection: no duplicate type."""
    from airflow_provider.hooks.inference import InferenceHook

    info = get_provider_info()
    assert "connection-types" not in info
    assert issubclass(InferenceHook, BaseHook)
    assert InferenceHook.conn_type == "kubernetes"
    assert InferenceHook.default_conn_name == "kubernetes_default"
    assert info["extra-links"] == ["airflow_provider.links.InferenceEndpointLink"]
    for path in info["extra-links"]:
        module, _, cls_name = path.rpartition(".")
        link = getattr(importlib.import_module(module), cls_name)
        assert issubclass(link, BaseOperatorLink) and link is InferenceEndpointLink


def test_providers_manager_registers_the_provider() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "inference-stacks" in manager.providers
    assert "airflow_provider.links.InferenceEndpointLink" in manager.extra_links_class_names
