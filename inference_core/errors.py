"""The error hierarchy shared by every front door.

Each error names the object (kind/namespace/name) or the field, the bad value and what is
allowed. Front doors translate these at their edge (Airflow task failure, Pulumi error,
CLI exit code); client-library exceptions never leak past the hook.

``transient`` tells callers whether retrying the same call may succeed.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class InferenceStacksError(Exception):
    """Base class of every error this project raises on purpose."""

    transient: bool = False


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field of one spec document.

    ``path`` is the dotted camelCase path as written in YAML (``spec.compute.gpuDevices``),
    ``document`` the 0-based index of the document in its file (None for Python objects).
    """

    path: str
    message: str
    value: Any = None
    allowed: str | None = None
    hint: str | None = None
    document: int | None = None
    source: str | None = None
    line: int | None = None
    """1-based line of the field in the YAML text, when read from YAML."""
    column: int | None = None
    """1-based column of the field in the YAML text, when read from YAML."""

    def render(self) -> str:
        """One human line: ``file#doc (line 4, column 3): spec.x.y: message (got 3; allowed
        1..2). Hint: ...``."""
        where = self.source or ""
        if self.document is not None:
            where = f"{where}#{self.document}" if where else f"document {self.document}"
        if self.line is not None:
            at = f"line {self.line}" + (f", column {self.column}" if self.column else "")
            where = f"{where} ({at})" if where else at
        head = f"{where}: " if where else ""
        text = f"{head}{self.path}: {self.message}"
        details = []
        if self.value is not None:
            details.append(f"got {_short(self.value)}")
        if self.allowed:
            details.append(f"allowed: {self.allowed}")
        if details:
            text += f" ({'; '.join(details)})"
        if self.hint:
            text += f". Hint: {self.hint}"
        return text


_REPR = reprlib.Repr()
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlevel = 3
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 6


def _short(value: Any) -> str:
    """A bounded repr: never builds the full text of a huge or deeply nested value."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= 80 else text[:77] + "..."


class SpecError(InferenceStacksError, ValueError):
    """A spec failed validation. Carries every issue found, not only the first."""

    def __init__(self, issues: Sequence[FieldIssue]) -> None:
        self.issues: tuple[FieldIssue, ...] = tuple(issues)
        lines = [issue.render() for issue in self.issues]
        summary = f"{len(lines)} problem(s) in the inference spec"
        super().__init__(summary + ":\n  " + "\n  ".join(lines))


class ProfileError(InferenceStacksError):
    """The spec needs a capability the cluster profile says is off, or does not fit the
    cluster the profile describes (device memory, name lengths).

    ``flag`` names what to turn on (a Knative ``config-features`` key, ``kaiScheduler``,
    ``istio`` ...) and ``field`` the spec field that needs it. ``message`` replaces the
    "needs X, turn on Y" wording for refusals that no flag can lift.
    """

    def __init__(self, field: str, capability: str, flag: str, how: str, *,
                 message: str | None = None) -> None:
        self.field = field
        self.capability = capability
        self.flag = flag
        self.how = how
        self.detail = message or (f"needs {capability}, which the cluster profile has off; "
                                  f"turn on {flag!r} ({how})")
        super().__init__(f"{field}: {self.detail}")

    def issue(self, *, document: int | None = None, source: str | None = None) -> FieldIssue:
        """This refusal as a located ``FieldIssue`` (for reports over many documents)."""
        return FieldIssue(self.field, self.detail, document=document, source=source)


class ProfileRefusals(ProfileError):
    """Every profile refusal of one or more documents, reported together.

    ``issues`` are located (file, document index); ``field``/``flag`` are the first's.
    """

    def __init__(self, issues: Sequence[FieldIssue], errors: Sequence[ProfileError],
                 profile: str | None = None) -> None:
        first = errors[0]
        self.issues: tuple[FieldIssue, ...] = tuple(issues)
        self.errors: tuple[ProfileError, ...] = tuple(errors)
        self.field = first.field
        self.capability = first.capability
        self.flag = first.flag
        self.how = first.how
        self.detail = first.detail
        named = f" '{profile}'" if profile else ""
        lines = "\n  ".join(issue.render() for issue in self.issues)
        InferenceStacksError.__init__(
            self, f"{len(self.issues)} problem(s) with the cluster profile{named}:\n  {lines}")


class PreflightError(InferenceStacksError):
    """A check before deploying failed; nothing was applied."""


class ModelNotFound(PreflightError):
    """The Hub has no such model, revision or file."""


class ModelAccessDenied(PreflightError):
    """The token is missing, invalid, or has no access to a gated/private model."""


class HubUnavailable(PreflightError):
    """The Hub could not be reached, rate-limited us, or offline mode is on."""

    transient = True


class ModelDoesNotFit(PreflightError):
    """The model's weights and KV cache do not fit in the GPU memory the spec requests."""


class UnsupportedModel(PreflightError):
    """The model's architecture is not served by the pinned vLLM image."""


class InsufficientQuota(PreflightError):
    """The project's scheduler queue cannot hold the GPUs the operation needs at its peak."""


@dataclass
class ObjectRef:
    """Kind/namespace/name of a Kubernetes object, for messages."""

    kind: str
    namespace: str | None
    name: str
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"


class DeployError(InferenceStacksError):
    """Applying or changing objects in the cluster failed."""

    def __init__(self, message: str, *, ref: ObjectRef | None = None, transient: bool = False):
        self.ref = ref
        self.transient = transient
        super().__init__(f"{ref}: {message}" if ref else message)


class KubeApiError(DeployError):
    """The Kubernetes API answered with an error (after the retry budget, if transient)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        reason: str | None = None,
        ref: ObjectRef | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        transient = status is None or status == 429 or status >= 500
        super().__init__(message, ref=ref, transient=transient)


class WorkloadFailed(DeployError):
    """The workload reached a terminal failure (bad image, crash loop, unschedulable...)."""

    def __init__(
        self, message: str, *, ref: ObjectRef | None = None, reason: str | None = None,
        revision: str | None = None,
    ) -> None:
        self.reason = reason
        self.revision = revision
        super().__init__(message, ref=ref)


class ReadinessTimeout(DeployError):
    """The workload did not become ready in time. ``last`` is the last observed readiness."""

    def __init__(self, message: str, *, ref: ObjectRef | None = None, last: Any = None):
        self.last = last
        super().__init__(message, ref=ref)


class RolloutFailed(DeployError):
    """A rolling update did not complete; ``revision`` is the one that failed."""

    def __init__(
        self, message: str, *, ref: ObjectRef | None = None, revision: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.revision = revision
        self.reason = reason
        super().__init__(message, ref=ref)
