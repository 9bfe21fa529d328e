package shardedbench

import (
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/test/framework"
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // the benchmark's own caches log nothing worth reading
	framework.MainSharded(m)
}
