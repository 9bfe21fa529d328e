package kcpbootstrap

import (
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/test/framework"
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // each test passes framework.Logger to the process it starts
	framework.Main(m)
}
