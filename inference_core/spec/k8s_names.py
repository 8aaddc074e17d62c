"""Kubernetes naming and size rules, as the API server applies them.

Each function returns None when the value is accepted, else what is wrong (a short phrase),
so rules can report every problem with the field path. The rules follow
``k8s.io/apimachinery/pkg/util/validation`` (qualified names, label values, DNS labels and
subdomains, environment variable names, IANA service names) and
``k8s.io/apimachinery/pkg/api/validation`` (total annotation size).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
TOTAL_ANNOTATION_SIZE = 256 * 1024
PORT_NAME_MAX = 15

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

QUALIFIED_NAME_HELP = ("an optional DNS-subdomain prefix (at most 253 characters) and '/', then "
                       "a name of at most 63 letters, digits, '-', '_' or '.', starting and "
                       "ending with a letter or digit")
LABEL_VALUE_HELP = ("empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending "
                    "with a letter or digit")
ENV_NAME_HELP = ("letters, digits, '_', '-' or '.', not starting with a digit "
                 "(e.g. MY_SETTING)")
DNS_LABEL_HELP = ("at most 63 lowercase letters, digits and '-', starting and ending with a "
                  "letter or digit")


def dns_label(name: str) -> str | None:
    """A DNS-1123 label (names of Services, namespaces): at most 63 characters."""
    if len(name) > DNS1123_LABEL_MAX:
        return f"is {len(name)} characters long"
    if not _DNS1123_LABEL.match(name):
        return "is not a DNS label"
    return None


def dns_subdomain(name: str) -> str | None:
    """A DNS-1123 subdomain (names of Secrets, PVCs, prefixes of qualified names)."""
    if len(name) > DNS1123_SUBDOMAIN_MAX:
        return f"is {len(name)} characters long"
    if not _DNS1123_SUBDOMAIN.match(name):
        return "is not a DNS subdomain"
    return None


def qualified_name(key: str) -> str | None:
    """A label or annotation key: ``[prefix/]name``."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            return "has an empty prefix before '/'"
        if "/" in prefix:
            return "has more than one '/'"
        problem = dns_subdomain(prefix)
        if problem:
            return f"has a prefix that {problem}"
    if not name:
        return "has an empty name"
    if len(name) > QUALIFIED_NAME_MAX:
        return f"has a name part {len(name)} characters long"
    if not _QUALIFIED_NAME.match(name):
        return "has a name part with characters Kubernetes refuses"
    return None


def label_value(value: str) -> str | None:
    """A label value: empty or at most 63 characters of the allowed set."""
    if len(value) > LABEL_VALUE_MAX:
        return f"is {len(value)} characters long"
    if not _LABEL_VALUE.match(value):
        return "has characters Kubernetes refuses in a label value"
    return None


def annotations_size(annotations: Mapping[str, str]) -> int:
    """Bytes Kubernetes counts against the 256 KiB limit: every key plus every value."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())


def env_name(name: str) -> str | None:
    """An environment variable name as the API server accepts it."""
    if not _ENV_NAME.match(name):
        return "is not a valid environment variable name"
    return None


def port_name(name: str) -> str | None:
    """An IANA service name (container/Service port names): at most 15 characters, lowercase
    letters, digits and '-', at least one letter, no '--'."""
    if len(name) > PORT_NAME_MAX:
        return f"is {len(name)} characters long"
    if not _PORT_NAME.match(name) or "--" in name:
        return "is not a valid port name"
    if not any(c.isalpha() for c in name):
        return "must contain a letter"
    return None


def extended_resource_name(name: str) -> str | None:
    """An extended resource: domain-qualified (``example.com/foo``), outside
    ``kubernetes.io`` and valid as ``requests.<name>`` (the quota key)."""
    prefix, slash, _ = name.partition("/")
    if not slash:
        return "is not domain-qualified"
    if prefix == "kubernetes.io" or prefix.endswith(".kubernetes.io"):
        return "is in the kubernetes.io domain, reserved for native resources"
    problem = qualified_name(name) or qualified_name(f"requests.{name}")
    return problem


_IMAGE_REPOSITORY = re.compile(r"^[a-z0-9_./-]{2,255}$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
IMAGE_HELP = ("[registry/]repository[:tag][@digest]: a repository of 2-255 lowercase letters, "
              "digits, '_', '-', '.' and '/', e.g. ghcr.io/acme/server:1.2 or vllm/vllm-openai")


def image_reference(image: str) -> str | None:
    """An image reference as Knative's webhook parses it (go-containerregistry, weak
    validation): a registry is the first component when it holds '.' or ':'; the repository
    after it has 2-255 lowercase characters; the tag at most 128."""
    name, _, digest = image.partition("@")
    if "@" in digest or (digest and ":" not in digest):
        return "has a malformed digest (expected @algorithm:hex)"
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _IMAGE_TAG.match(tag):
            return f"has an invalid tag {tag!r} (at most 128 letters, digits, '_', '-', '.')"
    first, sep, rest = name.partition("/")
    repository = rest if sep and ("." in first or ":" in first) else name
    if not _IMAGE_REPOSITORY.match(repository):
        return f"has an invalid repository {repository!r}"
    return None
