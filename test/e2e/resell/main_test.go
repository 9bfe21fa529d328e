package resell

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func TestMain(m *testing.M) {
	// The test process's own controller-runtime clients log nothing worth reading; the processes
	// under test log to their own files.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
