// Command bindery-backend offers a provider cluster's Services to consumers in their own
// Kubernetes clusters; see docs/backend.md.
package main

import (
	"os"

	"github.com/bindery-dev/bindery/pkg/backend/cli"
)

func main() {
	if err := cli.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
