"""Recognising credentials written as literal values.

A literal token in a spec ends up in a manifest's plain fields, in logs and in Pulumi state.
Values with the shape of a well-known credential are refused wherever they appear as text
(environment values under any name, command, arguments, vLLM extra arguments, labels and
annotations). Messages name the kind of credential, never the value.
"""

from __future__ import annotations

import re

# (what it is, pattern). Patterns match the documented public shapes of each issuer's keys.
TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face token", re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{20,}")),
    ("an NVIDIA NGC API key", re.compile(r"(?<![A-Za-z0-9])nvapi-[A-Za-z0-9_-]{20,}")),
    ("a GitHub token", re.compile(
        r"(?<![A-Za-z0-9])(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a GitLab token", re.compile(r"(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}")),
    ("an OpenAI-style API key", re.compile(r"(?<![A-Za-z0-9])sk-(proj-)?[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("a Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)

HIDDEN = "<hidden>"


_ANY_SHAPE = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in TOKEN_SHAPES))


def credential_kind(text: str) -> str | None:
    """What kind of credential ``text`` contains (``"a Hugging Face token"``), or None."""
    if len(text) < 15 or not _ANY_SHAPE.search(text):  # one pass for the common case
        return None
    for kind, pattern in TOKEN_SHAPES:
        if pattern.search(text):
            return kind
    return None
