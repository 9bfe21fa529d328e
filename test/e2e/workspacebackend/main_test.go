package workspacebackend

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// issuer is the embedded issuer every test's backend runs (same address, CA and key), which kcp
// trusts from its start: users signed in at the backend are the same users to kcp.
var issuer *framework.Issuer

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// The test process's own controller-runtime clients log nothing worth reading; the processes
	// under test log to their own files.
	ctrllog.SetLogger(logr.Discard())
	var remove func()
	var err error
	if issuer, remove, err = framework.PrepareIssuer(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the embedded issuer: %v\n", err)
		return 1
	}
	defer remove()
	authn := filepath.Join(issuer.StateDir, "authentication-config.yaml")
	if err := os.WriteFile(authn, framework.AuthenticationConfig(issuer.URL(), issuer.CA, "bindery-backend"), 0o600); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: kcp's authentication configuration: %v\n", err)
		return 1
	}
	return framework.Run(m, servers.KCPOptions{ExtraArgs: []string{"--authentication-config", authn}})
}
