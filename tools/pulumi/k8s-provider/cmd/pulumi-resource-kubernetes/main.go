// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider
// (github.com/pulumi/pulumi-kubernetes/provider/v4) built from the Go module proxy.
//
// The upstream command embeds schema-embed.json and terraform-mapping-embed.json, which its
// release build generates and the published module does not contain (and files beneath the
// module cache cannot be overlaid). scripts/setup.d/20-pulumi-tools.sh writes both files here,
// from the schema.json and terraform-mapping.json that the module does contain, before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
