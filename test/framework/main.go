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
	server, err := servers.StartKCP(context.Background(), opts)
	if err != nil {
		if errors.Is(err, servers.ErrToolMissing) {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		} else {
			fmt.Fprintf(os.Stderr, "e2e: starting kcp: %v\n", err)
		}
		return 1
	}
	kcpServer = server
	defer server.Stop()

	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "\n--- tests failed; last lines of kcp's log (%s) ---\n%s\n--- end of kcp log ---\n",
			server.LogPath(), server.LogTail(60))
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
