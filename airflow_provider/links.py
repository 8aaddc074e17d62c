"""Extra link: the endpoint URL of a deployed workload, read from the task's return XCom."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.bases.xcom import BaseXCom

#: Task states in which the task has pushed its return value.
_RETURNED = "success"


def endpoint_url(summary: Any) -> str:
    """The URL a deploy/rolling-update summary names (``""`` when there is none).

    Only ``http(s)`` URLs are offered: the value ends up as a button in the UI.
    """
    if not isinstance(summary, Mapping):
        return ""
    url = summary.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return ""
    return url


class InferenceEndpointLink(BaseOperatorLink):
    """"Inference endpoint" button: the ``url`` the deploy task returned."""

    name = "Inference endpoint"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """The URL, or an empty string when the task has not returned one.

        The task runner asks for the link whenever a task attempt ends, deferrals and
        failures included; a task in another state than ``success`` has no return value
        yet, so the XCom is not looked up (which would log a not-found error).
        """
        state = getattr(ti_key, "state", None)
        if state is not None and str(getattr(state, "value", state)) != _RETURNED:
            return ""
        return endpoint_url(BaseXCom.get_value(ti_key=ti_key, key="return_value"))
