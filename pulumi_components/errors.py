"""Errors the components raise: clean Pulumi errors that name the component and the field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pulumi

from inference_core.errors import InferenceStacksError, ProfileError, SpecError


class InferenceComponentError(pulumi.RunError, InferenceStacksError):
    """A component could not be built from its spec or arguments.

    Subclasses ``pulumi.RunError`` so ``pulumi up``/``preview`` prints the message alone
    (no Python traceback). ``component`` is ``inference-stacks:index:<Class> "<name>"`` and
    ``fields`` the spec or argument paths at fault (``spec.model.id``, ``args.namespace``).
    """

    def __init__(self, component: str, message: str, fields: tuple[str, ...] = ()) -> None:
        self.component = component
        self.fields = fields
        super().__init__(f"{component}: {message}")


def from_core_error(component: str, err: InferenceStacksError) -> InferenceComponentError:
    """Translate a core error (spec, profile, preflight) into a component error."""
    if isinstance(err, SpecError):
        fields = tuple(issue.path for issue in err.issues)
        lines = "\n  ".join(issue.render() for issue in err.issues)
        return InferenceComponentError(
            component, f"{len(err.issues)} problem(s) in the inference spec:\n  {lines}", fields)
    if isinstance(err, ProfileError):
        return InferenceComponentError(component, str(err), (err.field,))
    return InferenceComponentError(component, f"{type(err).__name__}: {err}")


@contextmanager
def translated(component: str) -> Iterator[None]:
    """Re-raise core errors as :class:`InferenceComponentError` naming ``component``."""
    try:
        yield
    except InferenceComponentError:
        raise
    except InferenceStacksError as err:
        raise from_core_error(component, err) from err
