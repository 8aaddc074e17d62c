#!/usr/bin/env bash
# Build the real control plane the real-server tests use (kube-apiserver, kube-controller-manager,
# kubectl, etcd) and the upstream-validation program from the Go modules pinned in tools/kube/go.mod and
# tools/validate/go.mod, into ${INFSTACK_TOOLS_CACHE:-$HOME/.cache/inference-stacks/tools}/<tool>-<version>.
# Builds only what is missing; a cold build takes tens of minutes on two cores (docs/benchmarks.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"

if ! command -v go >/dev/null 2>&1; then
  setup_unavailable "go is not installed, so kube-apiserver, kubectl and etcd cannot be built"
  exit 0
fi
mkdir -p "$cache"

# source_digest DIR : 12 hex digits over the module's Go files, go.mod and go.sum (the cache key of
# our own programs; tests/real/tools.py computes the same).
source_digest() {
  (cd "$1" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | sed 's|^\./||' \
    | LC_ALL=C sort | while read -r f; do printf '%s' "$f"; cat "$f"; done | sha256sum | cut -c1-12)
}

kube="$repo/tools/kube"
k8s="$(version "$kube" k8s.io/kubernetes)" || { setup_unavailable "cannot resolve k8s.io/kubernetes in $kube"; exit 0; }
etcd="$(version "$kube" go.etcd.io/etcd/server/v3)" || { setup_unavailable "cannot resolve etcd in $kube"; exit 0; }
build "$kube" ./cmd/etcd etcd "$etcd"
# The version stamp `make` would link in (hack/lib/version.sh), so /version and
# `kubectl version` report v1.X.Y rather than v0.0.0-master.
minor="${k8s#v1.}"; minor="${minor%%.*}"
stamp=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  stamp="$stamp -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  stamp="$stamp -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
build "$kube" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$k8s" "$stamp"
build "$kube" k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$k8s" "$stamp"
build "$kube" k8s.io/kubernetes/cmd/kubectl kubectl "$k8s" "$stamp"
build "$repo/tools/validate" ./cmd/infstack-validate infstack-validate "$(source_digest "$repo/tools/validate")"
