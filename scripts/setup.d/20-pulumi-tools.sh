#!/usr/bin/env bash
# Build the real Pulumi engine the Pulumi tests use, from the Go modules pinned in tools/pulumi/*
# (no release binaries): the CLI `pulumi` (tools/pulumi/engine), the Kubernetes provider
# `pulumi-resource-kubernetes` (tools/pulumi/k8s-provider) and the YAML language host
# `pulumi-language-yaml` (tools/pulumi/yaml), into
# ${INFSTACK_TOOLS_CACHE:-$HOME/.cache/inference-stacks/tools}/<tool>-<version>.
# Builds only what is missing. The Python language host's module
# (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served by the Go
# module proxy; the Python programs run through the Automation API's inline programs, which need
# only the CLI (docs/pulumi.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
repo="$(cd "$here/../.." && pwd)"
tools="$repo/tools/pulumi"

if ! command -v go >/dev/null 2>&1; then
  setup_unavailable "go is not installed, so the Pulumi engine and provider cannot be built"
  exit 0
fi
mkdir -p "$cache"

engine="$(version "$tools/engine" github.com/pulumi/pulumi/pkg/v3)" \
  || { setup_unavailable "cannot resolve github.com/pulumi/pulumi/pkg/v3 in $tools/engine"; exit 0; }
build "$tools/engine" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi "$engine" \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$engine"

k8s="$(version "$tools/k8s-provider" github.com/pulumi/pulumi-kubernetes/provider/v4)" \
  || { setup_unavailable "cannot resolve the Kubernetes provider in $tools/k8s-provider"; exit 0; }
if [ ! -x "$cache/pulumi-resource-kubernetes-$k8s" ]; then
  # The published module lacks the two files its command embeds (its release build generates
  # them): write them from the schema.json and terraform-mapping.json the module does hold.
  src="$(cd "$tools/k8s-provider" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 \
    | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')/cmd/pulumi-resource-kubernetes"
  python3 - "$src" "${k8s#v}" "$tools/k8s-provider/cmd/pulumi-resource-kubernetes" <<'EOF'
import json, sys
src, version, out = sys.argv[1:]
with open(f"{src}/schema.json", encoding="utf-8") as f:
    schema = json.load(f)
schema["version"] = version
with open(f"{out}/schema-embed.json", "w", encoding="utf-8") as f:
    json.dump(schema, f, separators=(",", ":"))
with open(f"{src}/terraform-mapping.json", encoding="utf-8") as f:
    mapping = json.load(f)
with open(f"{out}/terraform-mapping-embed.json", "w", encoding="utf-8") as f:
    json.dump(mapping, f, separators=(",", ":"))
EOF
fi
build "$tools/k8s-provider" ./cmd/pulumi-resource-kubernetes pulumi-resource-kubernetes "$k8s" \
  "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${k8s#v}"

yaml="$(version "$tools/yaml" github.com/pulumi/pulumi-yaml)" \
  || { setup_unavailable "cannot resolve github.com/pulumi/pulumi-yaml in $tools/yaml"; exit 0; }
build "$tools/yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml pulumi-language-yaml "$yaml" \
  "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=${yaml#v}"
