// Command bindery-manager watches every kcp workspace and keeps the catalog of listed APIExports;
// see docs/manager.md.
package main

import (
	"os"

	"github.com/bindery-dev/bindery/pkg/manager/cli"
)

func main() {
	if err := cli.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
