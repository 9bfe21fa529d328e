package backend

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bindery-dev/bindery/test/framework"
	"github.com/bindery-dev/bindery/test/servers"
)

// The issuer the provider cluster trusts is the one every test's backend embeds: same address,
// same CA and signing key (kept in issuerStateDir), so the kube-apiserver can be configured for it
// before any backend runs.
var (
	provider       *servers.Kube
	issuerAddress  string
	issuerStateDir string
	// tokenCatcher receives the authorization codes of the test's own client at the issuer
	// (kubectlClientID), with which a test signs in to the provider cluster itself.
	tokenCatcher *codeCatcher
)

// The test's own client at the embedded issuer: a kubectl OIDC login, whose tokens the provider's
// kube-apiserver accepts as it accepts the backend's.
const (
	kubectlClientID     = "e2e-kubectl"
	kubectlClientSecret = "e2e-kubectl-secret"
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// The test process's own controller-runtime clients and envtest log nothing worth reading; the
	// processes under test log to their own files.
	ctrllog.SetLogger(logr.Discard())
	fail := func(what string, err error) int { fmt.Fprintf(os.Stderr, "e2e: %s: %v\n", what, err); return 1 }
	root, err := servers.RepoRoot()
	if err != nil {
		return fail("repository root", err)
	}
	issuer, remove, err := framework.PrepareIssuer()
	if err != nil {
		return fail("the embedded issuer", err)
	}
	defer remove()
	issuerAddress, issuerStateDir = issuer.Address, issuer.StateDir
	if tokenCatcher, err = startCodeCatcher(); err != nil {
		return fail("the test client's callback", err)
	}
	defer tokenCatcher.Close()
	provider, err = servers.StartKube(servers.KubeOptions{
		CRDPaths:             []string{filepath.Join(root, "deploy/crd"), filepath.Join(root, "examples/database-operator/config/crd.yaml")},
		AuthenticationConfig: authenticationConfig(issuer.URL(), issuer.CA),
	})
	if err != nil {
		return fail("starting the provider kube-apiserver", err)
	}
	defer provider.Stop()
	return m.Run()
}

// authenticationConfig makes the kube-apiserver trust the issuer and name its users as the
// backend does by default (claim email, prefix oidc:; groups with prefix oidc:).
func authenticationConfig(issuer string, ca []byte) []byte {
	return framework.AuthenticationConfig(issuer, ca, "bindery-backend", kubectlClientID)
}

// freeAddress returns a loopback address with a port nobody listens on now.
func freeAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
