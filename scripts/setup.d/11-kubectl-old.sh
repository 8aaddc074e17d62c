#!/usr/bin/env bash
# Build an older kubectl (the published k8s.io/kubectl module pinned in tools/kube-old/go.mod,
# with a tiny main) into ${INFSTACK_TOOLS_CACHE:-$HOME/.cache/inference-stacks/tools}/kubectl-old-<version>,
# for the sandbox's kubectl compatibility tests. Builds only when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"
cache="${INFSTACK_TOOLS_CACHE:-$HOME/.cache/inference-stacks/tools}"

if ! command -v go >/dev/null 2>&1; then
  setup_unavailable "go is not installed, so the older kubectl cannot be built"
  exit 0
fi
mkdir -p "$cache"
dir="$repo/tools/kube-old"
version="$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/kubectl)" || {
  setup_unavailable "cannot resolve k8s.io/kubectl in $dir"; exit 0; }
out="$cache/kubectl-old-$version"
[ -x "$out" ] && exit 0
echo "set-up: building kubectl $version (k8s.io/kubectl) into $cache"
start=$SECONDS
if (cd "$dir" && nice -n 10 go build -trimpath -ldflags='-s -w' -o "$out.tmp" .); then
  mv "$out.tmp" "$out"
  echo "set-up: built kubectl-old $version in $((SECONDS - start))s"
else
  rm -f "$out.tmp"
  setup_unavailable "go build of k8s.io/kubectl $version failed"
fi
