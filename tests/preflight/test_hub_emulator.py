"""The Hub emulator behaves like the Hub for the huggingface_hub calls we make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import HfApi, get_session, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from inference_sandbox.hub import (
    GATED_8B,
    MISSING,
    PUBLIC_SMALL,
    TOKEN_GRANTED,
    TOKEN_INVALID,
    TOKEN_NO_ACCESS,
    HubEmulator,
)


def test_model_info_fields(hub: HubEmulator) -> None:
    info = HfApi(endpoint=hub.url).model_info(GATED_8B, token=False)
    assert info.sha == hub.repos[GATED_8B].refs["main"]
    assert info.gated == "manual"
    assert info.safetensors is not None and info.safetensors.total == 8030261248
    assert info.config == {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    assert [s.rfilename for s in info.siblings or []] == ["config.json"]


def test_auth_check_statuses(hub: HubEmulator) -> None:
    api = HfApi(endpoint=hub.url)
    api.auth_check(GATED_8B, token=TOKEN_GRANTED)
    with pytest.raises(GatedRepoError) as err:
        api.auth_check(GATED_8B, token=TOKEN_NO_ACCESS)
    assert err.value.response.status_code == 403
    with pytest.raises(GatedRepoError) as err:
        api.auth_check(GATED_8B, token=False)
    assert err.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check(MISSING, token=TOKEN_GRANTED)


def test_invalid_token_is_plain_401(hub: HubEmulator) -> None:
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.url).model_info(PUBLIC_SMALL, token=TOKEN_INVALID)
    assert not isinstance(err.value, RepositoryNotFoundError)
    assert err.value.response.status_code == 401
    assert all(TOKEN_INVALID not in f"{r}" for r in hub.requests)


def test_revision_and_entry_errors(hub: HubEmulator) -> None:
    api = HfApi(endpoint=hub.url)
    with pytest.raises(RevisionNotFoundError):
        api.model_info(PUBLIC_SMALL, revision="nope", token=False)
    url = hf_hub_url(PUBLIC_SMALL, "missing.bin", endpoint=hub.url)
    from huggingface_hub import hf_raise_for_status

    with pytest.raises(RemoteEntryNotFoundError):
        hf_raise_for_status(get_session().get(url, timeout=5))


def test_hf_hub_download_uses_head_and_get(hub: HubEmulator, tmp_path: Path) -> None:
    path = hf_hub_download(PUBLIC_SMALL, "config.json", endpoint=hub.url,
                           cache_dir=str(tmp_path), token=False)
    sha = hub.repos[PUBLIC_SMALL].refs["main"]
    assert f"snapshots/{sha}/config.json" in path
    assert json.loads(Path(path).read_text())["num_hidden_layers"] == 24
    assert hub.count("/resolve/", method="HEAD") >= 1
    assert hub.count("/resolve/", method="GET") == 1


def test_range_requests(hub: HubEmulator) -> None:
    url = hf_hub_url(PUBLIC_SMALL, "config.json", endpoint=hub.url)
    full = get_session().get(url, timeout=5).content
    part = get_session().get(url, headers={"range": "bytes=2-9"}, timeout=5)
    assert part.status_code == 206
    assert part.content == full[2:10]
    assert part.headers["Content-Range"] == f"bytes 2-9/{len(full)}"


def test_faults_are_consumed_in_order(hub: HubEmulator) -> None:
    hub.faults.rate_limit(times=2, match="/api/models/")
    api = HfApi(endpoint=hub.url)
    for _ in range(2):
        with pytest.raises(HfHubHTTPError) as err:
            api.model_info(PUBLIC_SMALL, token=False)
        assert err.value.response.status_code == 429
    assert api.model_info(PUBLIC_SMALL, token=False).id == PUBLIC_SMALL
    assert [r.status for r in hub.requests] == [429, 429, 200]
