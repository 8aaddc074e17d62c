#!/usr/bin/env bash
# Build an older kubectl (the published k8s.io/kubectl module pinned in tools/kube-old/go.mod,
# with a tiny main) into ${INFSTACK_TOOLS_CACHE:-$HOME/.cache/inference-stacks/tools}/kubectl-old-<version>,
# for the sandbox's kubectl compatibility tests. Builds only when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"

if ! command -v go >/dev/null 2>&1; then
  setup_unavailable "go is not installed, so the older kubectl cannot be built"
  exit 0
fi
mkdir -p "$cache"
dir="$repo/tools/kube-old"
version="$(version "$dir" k8s.io/kubectl)" || {
  setup_unavailable "cannot resolve k8s.io/kubectl in $dir"; exit 0; }
build "$dir" . kubectl-old "$version"
