// Command bindery-konnector receives a provider's APIs in a consumer's Kubernetes cluster and
// syncs the objects created of them to the provider; see pkg/konnector.
package main

import (
	"os"

	"github.com/bindery-dev/bindery/pkg/konnector/cli"
)

func main() {
	if err := cli.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
