"""Rules for credentials a spec names or creates: the model token, new credentials, image-pull
credentials and tool URLs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from inference_core.errors import FieldIssue
from inference_core.spec import k8s_names
from inference_core.spec.common import (
    NGC_REGISTRY,
    NGC_USERNAME,
    CredentialSource,
    ModelSource,
    PullCredential,
    PullCredentialKind,
    Tool,
    ToolType,
)

DOCKER_HUB = "https://index.docker.io/v1/"


def _issue(path: str, message: str, value: object = None, allowed: str | None = None,
           hint: str | None = None) -> FieldIssue:
    return FieldIssue(path=path, message=message, value=value, allowed=allowed, hint=hint)


def model_token(base: str, model: ModelSource) -> Iterator[FieldIssue]:
    """At most one way to give the model token."""
    given = [f for f, v in (("token", model.token), ("tokenSecret", model.token_secret),
                            ("credential", model.credential)) if v is not None]
    for extra in given[1:]:
        yield _issue(f"{base}.{extra}", f"cannot be combined with {given[0]}", None,
                     "one of token, tokenSecret or credential")


def pull_credential(base: str, workload: str, cred: PullCredential | None,
                    ) -> Iterator[FieldIssue]:
    """What each kind and source needs, and nothing it cannot use."""
    if cred is None:
        return
    values = [f for f, v in (("registry", cred.registry), ("username", cred.username),
                             ("password", cred.password), ("apiKey", cred.api_key))
              if v is not None]
    if cred.source is CredentialSource.SHARED:
        if cred.name is None:
            yield _issue(f"{base}.name", "is required for a shared credential", None,
                         "the name of the Secret an administrator created in the namespace")
        for field in values:
            yield _issue(f"{base}.{field}", "is not used with a shared credential", None,
                         "empty (the shared Secret holds the values)", "or use source: user")
        return
    name = cred.name or f"{workload}-pull"
    problem = k8s_names.dns_label(name)
    if problem:
        yield _issue(f"{base}.name", f"gives the Secret name {name!r}, which {problem}", name,
                     "a DNS label of at most 63 characters")
    if cred.kind is PullCredentialKind.DOCKER_REGISTRY:
        for field, value in (("registry", cred.registry), ("username", cred.username),
                             ("password", cred.password)):
            if value is None:
                yield _issue(f"{base}.{field}", "is required for a docker-registry credential",
                             None, "the registry server, user name and password")
        if cred.api_key is not None:
            yield _issue(f"{base}.apiKey", "is only used with kind ngc-api-key", None,
                         "password for docker-registry")
        if cred.registry and cred.registry.rstrip("/") in ("docker.io", "https://docker.io",
                                                           "index.docker.io"):
            yield _issue(f"{base}.registry", "makes Knative's image resolution fail with 401",
                         cred.registry, DOCKER_HUB,
                         "Docker Hub credentials must name https://index.docker.io/v1/")
    else:
        if cred.api_key is None:
            yield _issue(f"{base}.apiKey", "is required for an ngc-api-key credential", None,
                         "an NGC API key (nvapi-...)")
        if cred.password is not None:
            yield _issue(f"{base}.password", "is only used with kind docker-registry", None,
                         "apiKey for ngc-api-key")
        if cred.username is not None and cred.username != NGC_USERNAME:
            yield _issue(f"{base}.username", "is fixed for NGC", cred.username, NGC_USERNAME)
        if cred.registry is not None and cred.registry != NGC_REGISTRY:
            yield _issue(f"{base}.registry", "is fixed for NGC", cred.registry, NGC_REGISTRY)


def tool_urls(workload: str, tools: Sequence[Tool]) -> Iterator[FieldIssue]:
    """A custom URL only for external-url tools, with a valid host, unique per host and path."""
    seen: dict[tuple[str, str], int] = {}
    for i, tool in enumerate(tools):
        if tool.url is None:
            continue
        path = f"spec.tools[{i}].url"
        if tool.type is not ToolType.EXTERNAL_URL:
            yield _issue(path, "is only used with type 'external-url'", tool.url,
                         "empty for node-port tools", "node-port tools take nodePort")
            continue
        parts = urlsplit(tool.url)
        host = parts.hostname or ""
        problem = k8s_names.dns_subdomain(host)
        if problem or "." not in host:
            yield _issue(path, "has a host an Ingress cannot route", host,
                         "a fully qualified DNS name such as tools.example.com")
        key = (host, parts.path or "/")
        if key in seen:
            yield _issue(path, f"is already used by spec.tools[{seen[key]}]", tool.url,
                         "a URL per tool")
        seen[key] = i
