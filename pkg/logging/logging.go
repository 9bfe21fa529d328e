// Package logging holds what bindery's binaries share about logs: controller-runtime's zap logger
// with its --zap-* flags on a cobra command.
package logging

import (
	"flag"

	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// BindFlags adds zap's flags (--zap-log-level, --zap-devel, ...) to a command's flag set; zap
// registers them on a standard library flag set, which pflag takes over.
func BindFlags(fs *pflag.FlagSet, opts *zap.Options) {
	logFlags := flag.NewFlagSet("log", flag.ContinueOnError)
	opts.BindFlags(logFlags)
	fs.AddGoFlagSet(logFlags)
}
