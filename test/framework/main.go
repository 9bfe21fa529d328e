package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/bindery-dev/bindery/test/servers"
)

// kcpServer is the kcp process shared by all tests of one test binary.
var kcpServer *servers.KCP

// Main starts kcp, runs the tests and stops kcp again; call it from TestMain:
//
//	func TestMain(m *testing.M) { framework.Main(m) }
//
// When a test fails, the tail of kcp's log is printed before kcp's state is removed.
func Main(m *testing.M) {
	os.Exit(Run(m, servers.KCPOptions{}))
}

// Run is Main for a TestMain that prepares more around the tests (an issuer kcp is to trust,
// say): it starts kcp with opts, runs the tests, stops kcp and returns the exit code.
func Run(m *testing.M, opts servers.KCPOptions) int {
	return runAgainst(m, "kcp", func() (func(), func() string, error) {
		server, err := servers.StartKCP(context.Background(), opts)
		if err != nil {
			return nil, nil, err
		}
		kcpServer = server
		return server.Stop, func() string {
			return fmt.Sprintf("--- last lines of kcp's log (%s) ---\n%s\n", server.LogPath(), server.LogTail(60))
		}, nil
	})
}

// runAgainst starts the servers of a test binary, runs its tests, prints the servers' logs when
// a test failed, stops the servers and returns the exit code.
func runAgainst(m *testing.M, what string, start func() (stop func(), logs func() string, err error)) int {
	stop, logs, err := start()
	if err != nil {
		if errors.Is(err, servers.ErrToolMissing) {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		} else {
			fmt.Fprintf(os.Stderr, "e2e: starting %s: %v\n", what, err)
		}
		return 1
	}
	defer stop()

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "\n--- tests failed ---\n%s--- end of the logs of %s ---\n", logs(), what)
	}
	return code
}

// KCP returns the kcp process started by Main.
func KCP(t testing.TB) *servers.KCP {
	t.Helper()
	if kcpServer == nil {
		t.Fatal("kcp is not running: the test package's TestMain must call framework.Main(m)")
	}
	return kcpServer
}
