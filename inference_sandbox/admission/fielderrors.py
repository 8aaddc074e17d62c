"""Knative-style field errors, merged, sorted and printed like ``apis.FieldError``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One error: message, full field paths, optional details."""

    message: str
    paths: tuple[str, ...] = ()
    details: str = ""


def invalid_value(value: object, path: str, details: str = "") -> FieldError:
    """``apis.ErrInvalidValue``."""
    return FieldError(f"invalid value: {value}", (path,), details)


def missing_field(*paths: str) -> FieldError:
    """``apis.ErrMissingField``."""
    return FieldError("missing field(s)", paths)


def disallowed(*paths: str) -> FieldError:
    """``apis.ErrDisallowedFields``."""
    return FieldError("must not set the field(s)", paths)


def out_of_bounds(value: object, lower: object, upper: object, path: str) -> FieldError:
    """``apis.ErrOutOfBoundsValue``."""
    return FieldError(f"expected {lower} <= {value} <= {upper}", (path,))


def invalid_key_name(key: str, path: str, details: str = "") -> FieldError:
    """``apis.ErrInvalidKeyName``."""
    return FieldError(f'invalid key name "{key}"', (path,), details)


def render(errors: list[FieldError]) -> str:
    """Merge errors with the same message+details (paths de-duplicated and sorted), sort, join."""
    merged: dict[tuple[str, str], list[str]] = {}
    for error in errors:
        paths = merged.setdefault((error.message, error.details), [])
        for path in error.paths:
            if path not in paths:
                paths.append(path)
    lines = []
    for (message, details), paths in sorted(merged.items()):
        text = f"{message}: {', '.join(sorted(paths))}"
        if details:
            text += f"\n{details}"
        lines.append(text)
    return "\n".join(lines)
