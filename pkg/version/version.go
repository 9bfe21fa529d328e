// Package version holds the version stamped into bindery's binaries at build time
// (go build -ldflags "-X github.com/bindery-dev/bindery/pkg/version.Version=v0.1.0").
package version

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set by the linker; otherwise it falls back to the module version Go recorded.
var Version = ""

// Get returns the version, or "(devel)" for a plain go build of a working tree.
func Get() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

// Command is the `version` subcommand every bindery binary has.
func Command() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), Get()) },
	}
}
