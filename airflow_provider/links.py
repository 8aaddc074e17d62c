"""Extra link: the endpoint URL of a deployed workload, read from the task's return XCom."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.bases.xcom import BaseXCom


class InferenceEndpointLink(BaseOperatorLink):
    """"Inference endpoint" button: the ``url`` the deploy task returned."""

    name = "Inference endpoint"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL, or an empty string when the task has not returned one."""
        value = BaseXCom.get_value(ti_key=ti_key, key="return_value")
        if isinstance(value, dict) and value.get("url"):
            return str(value["url"])
        return ""
