// Command kubectl is kubectl built from the published k8s.io/kubectl module of an older minor
// version, to check that the sandbox serves older clients too (scripts/setup.d/11-kubectl-old.sh).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}
