package konnectorbench

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// TestMain starts no kcp: no virtual workspace sits in the konnector's path, and an idle kcp would
// only take CPU from the servers being measured.
func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // the benchmark's own clients and envtest log nothing worth reading
	os.Exit(m.Run())
}
