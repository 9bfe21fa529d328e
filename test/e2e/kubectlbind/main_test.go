package kubectlbind

import (
	"fmt"
	"os"
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

// consumer is the consumer cluster every test of the package shares.
var consumer *servers.Kube

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	consumer, err = servers.StartKube(servers.KubeOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting a kube-apiserver:", err)
		return 1
	}
	defer consumer.Stop()
	return m.Run()
}
