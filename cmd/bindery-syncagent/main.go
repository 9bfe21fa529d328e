// Command bindery-syncagent publishes a provider cluster's CRDs into kcp; see docs/syncagent.md.
package main

import (
	"os"

	"github.com/bindery-dev/bindery/pkg/syncagent/cli"
)

func main() {
	if err := cli.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
