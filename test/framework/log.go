package framework

import (
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// Logger returns a logr.Logger writing to the test's log, shown when the test fails or with -v.
// Lines logged after the test ended (by goroutines still shutting down) are dropped.
func Logger(t testing.TB) logr.Logger {
	var ended atomic.Bool
	t.Cleanup(func() { ended.Store(true) })
	return funcr.New(func(prefix, args string) {
		if !ended.Load() {
			t.Log(prefix, args)
		}
	}, funcr.Options{Verbosity: 1})
}
