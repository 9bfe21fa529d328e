// Command kubectl-bindery is bindery's kubectl plugin: `kubectl bindery catalog` lists the services
// on offer. Put it on your PATH and kubectl finds it.
package main

import (
	"os"

	"github.com/bindery-dev/bindery/pkg/kubectlbindery"
)

func main() {
	if err := kubectlbindery.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
